// The policy editor's conveniences; the page works without them (one blank row per table, and the
// server checks everything). "Add" copies a table's empty row; an environment's stage boxes follow the
// stage keys as they are typed; a check's metric list shows only the metrics its check kind judges.
"use strict";

(function () {
  function addRow(prefix) {
    const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
    const template = document.getElementById(`${prefix}-template`);
    const body = document.querySelector(`#${prefix}-rows tbody`);
    const index = Number(total.value);
    const holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    const rows = Array.from(holder.children);
    rows.forEach((row) => body.appendChild(row));
    total.value = String(index + 1);
    wireRows(body);
    if (prefix === "env") syncStageBoxes();
    const first = rows[0] && rows[0].querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  }

  function stageKeys() {
    const inputs = document.querySelectorAll("#stage-rows tbody input[name$='-key']");
    const removed = (input) => {
      const box = input.closest("tr").querySelector("input[name$='-DELETE']");
      return box && box.checked;
    };
    const keys = Array.from(inputs)
      .filter((input) => !removed(input))
      .map((input) => input.value.trim())
      .filter(Boolean);
    return Array.from(new Set(keys));
  }

  // Each environment's boxes: one per stage key, ticked ones kept (even if their stage is gone, so the
  // server can say which environment names a missing stage).
  function syncStageBoxes() {
    const keys = stageKeys();
    document.querySelectorAll("#env-rows td.field-stages").forEach((cell) => {
      const list = cell.querySelector("div[id]") || cell.querySelector("div");
      if (!list) return;
      const name = cell.closest("tr").querySelector("input[name$='-name']").name.replace(/-name$/, "-stages");
      const ticked = new Set(
        Array.from(cell.querySelectorAll("input[type=checkbox]:checked")).map((box) => box.value)
      );
      const wanted = keys.concat(Array.from(ticked).filter((key) => !keys.includes(key)));
      const current = Array.from(cell.querySelectorAll("input[type=checkbox]")).map((box) => box.value);
      if (current.join("\u0000") === wanted.join("\u0000")) return;
      list.replaceChildren(
        ...wanted.map((key, index) => {
          const id = `id_${name}_${index}`;
          const wrapper = document.createElement("div");
          const label = document.createElement("label");
          label.htmlFor = id;
          const box = document.createElement("input");
          Object.assign(box, { type: "checkbox", name, value: key, id, checked: ticked.has(key) });
          label.append(box, ` ${key}`);
          wrapper.append(label);
          return wrapper;
        })
      );
    });
  }

  function filterMetrics(row) {
    const kind = row.querySelector("select[name$='-kind']");
    const metric = row.querySelector("select[name$='-metric']");
    if (!kind || !metric) return;
    const label = kind.selectedOptions[0] ? kind.selectedOptions[0].text : "";
    metric.querySelectorAll("optgroup").forEach((group) => {
      const shown = !kind.value || group.label === label;
      group.hidden = !shown;
      group.disabled = !shown;
    });
    const chosen = metric.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) metric.value = "";
  }

  function wireRows(root) {
    root.querySelectorAll("select[name$='-kind']").forEach((select) => {
      if (select.dataset.wired) return;
      select.dataset.wired = "1";
      select.addEventListener("change", () => filterMetrics(select.closest("tr")));
      filterMetrics(select.closest("tr"));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("policy-editor");
    if (!form) return;
    form.querySelectorAll("button.add-row").forEach((button) => {
      button.addEventListener("click", () => addRow(button.dataset.prefix));
    });
    form.addEventListener("input", (event) => {
      if (event.target.matches("#stage-rows input[name$='-key']")) syncStageBoxes();
    });
    form.addEventListener("change", (event) => {
      if (event.target.matches("#stage-rows input[name$='-DELETE']")) syncStageBoxes();
    });
    wireRows(form);
  });
})();
