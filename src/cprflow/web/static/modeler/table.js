/* The decision table editor: dmn-js, opened on the first decision table of the file. Problems a
   check finds are marked on their cell and row (a style sheet keyed by ids, so dmn-js re-rendering
   the table keeps the marks), with a list that takes the keyboard to each. */
(function () {
  "use strict";
  var E = window.CprflowEdits, T = E.T;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path");
  var marks = document.createElement("style");
  document.head.appendChild(marks);
  // Cells are Python, not FEEL: a plain editor, without FEEL's completion and highlighting.
  var PYTHON = { options: [{ value: "python", label: "Python" }], defaults: { editor: "python" } };
  // Every keystroke is a command at once (no debounce), so what is stored and checked is what is shown.
  var modeler = new window.DmnJS({
    container: "#canvas",
    common: { expressionLanguages: PYTHON, debounceInput: false },
    // Each view's own modules: dmn-js does not merge additionalModules given in common.
    decisionTable: { additionalModules: [{ translate: ["value", translate] }] },
    drd: { additionalModules: [{ translate: ["value", translate] }] },
    literalExpression: { additionalModules: [{ translate: ["value", translate] }] }
  });
  window.cprflowTable = modeler;

  /* dmn-js's own words (headings, hit policies, menus) in the page's language. */
  function translate(template, replacements) {
    var key = "dmn." + template, text = T(key);
    if (text === key) { text = template; }
    return text.replace(/{([^}]+)}/g, function (_, name) {
      return replacements && replacements[name] !== undefined ? replacements[name] : "{" + name + "}";
    });
  }

  function store() {
    E.touch(path);
    return modeler.saveXML({ format: true }).then(function (r) { E.set(path, r.xml); });
  }
  function watch() {
    var viewer = modeler.getActiveViewer();
    if (viewer) { viewer.get("eventBus").on("commandStack.changed", store); }
  }

  function cssId(id) { return String(id).replace(/["\\]/g, "\\$&"); }

  function markProblems(problems) {
    var mine = (problems || []).filter(function (p) { return p.file === path && p.element; });
    var rules = [];
    marks.textContent = mine.map(function (p) {
      var id = cssId(p.element);
      var cellRule = 'td[data-element-id="' + id + '"]';
      var row = document.querySelector(cellRule);
      var rowId = row ? row.getAttribute("data-row-id") : p.element;
      rules.push(rowId);
      // !important: dmn-js's own cell backgrounds are more specific than any id selector here.
      return cellRule + " { outline: 3px solid #d4351c !important; outline-offset: -3px; background: #fde0dc !important; }\n" +
        'td[data-row-id="' + cssId(rowId) + '"] { background: #fde0dc !important; }\n' +
        'td.rule-index[data-row-id="' + cssId(rowId) + '"]::after { content: " \\26A0"; color: #d4351c; }';
    }).join("\n");
    document.querySelectorAll("#outcome li[data-element]").forEach(function (li, n) {
      var p = mine.filter(function (q) { return q.element === li.getAttribute("data-element"); })[0];
      if (!p || li.getAttribute("data-file") !== path) { return; }
      var rowCell = document.querySelector('td.rule-index[data-row-id="' + cssId(rules[mine.indexOf(p)]) + '"]');
      if (rowCell) {
        li.insertBefore(E.el("strong", T("row_number", { row: rowCell.textContent.trim() }) + " "), li.firstChild);
      }
      var go = E.el("button", T("go_to_row"), "govuk-button govuk-button--secondary link-button");
      go.type = "button";
      go.addEventListener("click", function () {
        var target = document.querySelector('td[data-element-id="' + cssId(p.element) + '"] [contenteditable]') ||
                     document.querySelector('td[data-row-id="' + cssId(rules[mine.indexOf(p)]) + '"] [contenteditable]');
        if (target) { target.focus(); target.scrollIntoView({ block: "center" }); }
      });
      li.appendChild(go);
    });
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
      E.wireButtons(markProblems, store);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (err) { E.say(T("cannot_open_table", { error: err.message }), "error"); });
})();
