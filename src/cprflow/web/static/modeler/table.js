/* The decision table editor: dmn-js, opened on the first decision table of the file. */
(function () {
  "use strict";
  var E = window.CprflowEdits;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path");
  // Cells are Python, not FEEL: a plain editor, without FEEL's completion and highlighting.
  var PYTHON = { options: [{ value: "python", label: "Python" }], defaults: { editor: "python" } };
  // Every keystroke is a command at once (no debounce), so what is stored and checked is what is shown.
  var modeler = new window.DmnJS({
    container: "#canvas",
    common: { keyboard: { bindTo: window }, expressionLanguages: PYTHON, debounceInput: false }
  });
  window.cprflowTable = modeler;

  function store() {
    return modeler.saveXML({ format: true }).then(function (r) { E.set(path, r.xml); });
  }
  function watch() {
    var viewer = modeler.getActiveViewer();
    if (viewer) { viewer.get("eventBus").on("commandStack.changed", store); }
  }

  E.load(path)
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    })
    .then(function () {
      watch();
      modeler.on("views.changed", watch);
      E.wireButtons(null, store);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (err) { E.say("The table could not be opened: " + err.message, "error"); });
})();
