/* The decision table editor: dmn-js, opened on the first decision table of the file. */
(function () {
  "use strict";
  var E = window.CprflowEdits;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path");
  var modeler = new window.DmnJS({ container: "#canvas", common: { keyboard: { bindTo: window } } });
  window.cprflowTable = modeler;

  function store() {
    if (document.activeElement && root.contains(document.activeElement)) { document.activeElement.blur(); }
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
