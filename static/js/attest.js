// Behaviour the pages used to write inline (onclick=...), which the Content-Security-Policy forbids.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    if (target.matches("[data-select-on-click]")) { target.select(); }
    var closer = target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { dialog.close(); }
    }
  });
})();
