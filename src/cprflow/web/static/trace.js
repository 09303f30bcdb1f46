/* Marks the trace diagram: the states come from the server (the JSON block beside the diagram);
   this only draws them. A separate file, as the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var container = document.getElementById("trace-diagram");
  var data = document.getElementById("trace-markers");
  if (!container || !data || typeof BpmnJS === "undefined") { return; }
  var marks = JSON.parse(data.textContent);
  var viewer = new BpmnJS({ container: container });
  fetch(container.getAttribute("data-diagram-url"), { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      Object.keys(marks.markers).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "cpr-" + marks.markers[id]); }
      });
      marks.path.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "cpr-path"); }
      });
      canvas.zoom("fit-viewport");
      container.setAttribute("data-marked", "true");
    })
    .catch(function (err) {
      container.setAttribute("data-error", String(err && err.message || err));
    });
}());
