/* The timescales page: the form posts to the server (it works without this script); this script
   adds the toolbar's saved-at status, check, deploy and discard for the timescales file. */
(function () {
  "use strict";
  var E = window.CprflowEdits;
  var root = document.getElementById("editor");
  E.load(root.getAttribute("data-path")).then(function () {
    E.wireButtons(null, function () { return Promise.resolve(); });
    root.setAttribute("data-ready", "true");
  }).catch(function (err) { E.say(err.message, "error"); });
})();
