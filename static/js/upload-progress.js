/* Upload forms with a progress bar (Attest).

   Progressive enhancement of an ordinary multipart form marked data-upload-progress: without this script
   (or without XMLHttpRequest upload events) the form posts as usual. With it, the form is sent by
   XMLHttpRequest so the bytes sent can be shown; the header X-Attest-Upload asks the server for
   {"location": ...} on success (the next page then shows its messages), and any other answer (a form with
   errors, 403, 413) is an HTML page whose <main> replaces this one's. No dependencies, no CDN. */
(function () {
  "use strict";

  var HEADER = "X-Attest-Upload";

  function formatBytes(bytes) {
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
  }

  function supported() {
    return Boolean(window.FormData && window.XMLHttpRequest && "upload" in new XMLHttpRequest());
  }

  function chosenFiles(form) {
    var files = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        files.push({ name: input.name, file: file });
      });
    });
    return files;
  }

  function enhance(form) {
    if (form.dataset.uploadEnhanced) {
      return;
    }
    form.dataset.uploadEnhanced = "yes";
    form.addEventListener("submit", function (event) {
      var files = chosenFiles(form);
      var limit = Number(form.dataset.maxBytes || 0);
      var tooLarge = files.filter(function (item) { return limit && item.file.size > limit; })[0];
      var status = form.querySelector("[data-upload-status]");
      if (!status) {
        return;
      }
      event.preventDefault();
      if (tooLarge) {
        show(status, 0, tooLarge.file.name + " is " + formatBytes(tooLarge.file.size) +
          ": this page accepts at most " + formatBytes(limit) + ". Nothing was sent.", true);
        return;
      }
      send(form, status, files);
    });
  }

  function show(status, percent, text, finished) {
    status.hidden = false;
    var bar = status.querySelector("progress");
    if (percent === null) {
      bar.removeAttribute("value"); // indeterminate: the server is working
    } else {
      bar.value = percent;
    }
    status.querySelector("[data-upload-text]").textContent = text;
    status.querySelector("[data-upload-cancel]").hidden = Boolean(finished);
  }

  function announce(status, text) {
    status.querySelector("[data-upload-announce]").textContent = text;
  }

  function send(form, status, files) {
    var xhr = new XMLHttpRequest();
    var submit = form.querySelector("[type=submit]");
    var cancel = status.querySelector("[data-upload-cancel]");
    var announced = -1;
    var total = files.reduce(function (sum, item) { return sum + item.file.size; }, 0);

    function stop(text) {
      submit.disabled = false;
      show(status, 0, text, true);
      announce(status, text);
    }

    submit.disabled = true;
    show(status, 0, "Starting the upload of " + formatBytes(total) + "…", false);
    cancel.onclick = function () { xhr.abort(); };

    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) {
        return;
      }
      var percent = Math.floor((event.loaded / event.total) * 100);
      show(status, percent, formatBytes(event.loaded) + " of " + formatBytes(event.total) +
        " sent (" + percent + "%)", false);
      if (Math.floor(percent / 25) > announced) { // screen readers hear every quarter, not every event
        announced = Math.floor(percent / 25);
        announce(status, percent + "% sent");
      }
    });
    xhr.upload.addEventListener("load", function () {
      show(status, null, "Sent. The server is checking and storing the file…", true);
      announce(status, "Sent; the server is checking the file.");
    });
    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status >= 200 && xhr.status < 300 && type.indexOf("application/json") === 0) {
        go(JSON.parse(xhr.responseText).location);
      } else if (type.indexOf("text/html") === 0) {
        if (xhr.responseURL && xhr.responseURL !== window.location.href) {
          window.history.replaceState(null, "", xhr.responseURL); // reloading shows the same form
        }
        replacePage(xhr.responseText, files);
      } else {
        stop("The server answered " + xhr.status + " " + xhr.statusText + ". Nothing was saved; try again.");
      }
    });
    xhr.addEventListener("error", function () {
      stop("The upload was interrupted (the connection failed or the server refused it). " +
        "Nothing was saved; try again.");
    });
    xhr.addEventListener("abort", function () {
      stop("Upload cancelled. Nothing was saved.");
    });

    xhr.open("POST", form.getAttribute("action") || window.location.href);
    xhr.setRequestHeader(HEADER, "progress");
    xhr.send(new FormData(form));
  }

  // Open the page the server names; when only its #fragment differs from this one, assigning it would
  // merely scroll, so the page is reloaded at that fragment instead.
  function go(location) {
    var target = new URL(location, window.location.href);
    if (target.pathname === window.location.pathname && target.search === window.location.search) {
      window.history.replaceState(null, "", target.href);
      window.location.reload();
    } else {
      window.location.assign(target.href);
    }
  }

  // The server's page replaces this one's main content, as a plain form post would have shown it; the
  // chosen files stay chosen so that fixing a field does not mean finding the file again.
  function replacePage(html, files) {
    var next = new DOMParser().parseFromString(html, "text/html");
    var main = next.querySelector("main");
    if (!main) {
      document.open();
      document.write(html);
      document.close();
      return;
    }
    document.title = next.title;
    var current = document.querySelector("main");
    current.replaceWith(document.importNode(main, true));
    var replaced = document.querySelector("main");
    files.forEach(function (item) {
      var input = replaced.querySelector("input[type=file][name='" + item.name + "']");
      if (!input || !window.DataTransfer) {
        return;
      }
      try {
        var transfer = new DataTransfer();
        transfer.items.add(item.file);
        input.files = transfer.files;
      } catch (ignored) {
        // some browsers do not let a script set a file input; the person chooses the file again
      }
    });
    init(replaced);
    var alert = replaced.querySelector("[role=alert]");
    (alert || replaced).setAttribute("tabindex", "-1");
    (alert || replaced).focus();
  }

  function init(root) {
    if (!supported()) {
      return;
    }
    root.querySelectorAll("form[data-upload-progress]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
