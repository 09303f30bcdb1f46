/* The form editor: JSON Schema and UI schema as text, previewed by the server with the same
   code that renders the staff task page. */
(function () {
  "use strict";
  var E = window.CprflowEdits;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path"), uiPath = root.getAttribute("data-ui-path");
  var schema = document.getElementById("schema"), ui = document.getElementById("ui_schema");
  var preview = document.getElementById("preview"), problems = document.getElementById("preview-errors");
  var timer = null, originalUi = "";

  function refresh() {
    E.post("/modeler/data/form-preview", { schema: schema.value, ui_schema: ui.value }).then(function (r) {
      problems.textContent = "";
      if (r.status === 200) {
        // Markup from our own renderer (formrender.py escapes every value it is given).
        preview.innerHTML = r.body.html;
        preview.querySelectorAll("input, select, textarea, button").forEach(function (c) { c.disabled = true; });
        return;
      }
      var fields = (r.body.error && r.body.error.fields) || {};
      Object.keys(fields).forEach(function (k) { problems.appendChild(E.el("p", k + ": " + fields[k].join("; "), "error")); });
    });
  }
  function changed() {
    E.set(path, schema.value);
    if (ui.value !== originalUi) { E.set(uiPath, ui.value); }
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  Promise.all([E.load(path), E.load(uiPath).catch(function () { return ""; })]).then(function (texts) {
    schema.value = texts[0];
    ui.value = originalUi = texts[1];
    schema.addEventListener("input", changed);
    ui.addEventListener("input", changed);
    E.wireButtons(null, function () { return Promise.resolve(); });
    refresh();
    root.setAttribute("data-ready", "true");
  });
})();
