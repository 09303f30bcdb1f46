/* The BPMN modeler page: bpmn-js with a small properties panel for what cprflow's diagrams use,
   in SpiffWorkflow's extension format (spiffworkflow.json is its moddle descriptor). */
(function () {
  "use strict";
  var E = window.CprflowEdits;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path");
  var panel = document.getElementById("properties");
  var modeler, modeling, moddle, shown = null, problemIds = [];

  // ---- reading and writing the business object ----------------------------------------------

  function bo(element) { return element.businessObject; }
  function values(b) { return (b.extensionElements && b.extensionElements.get("values")) || []; }
  function ext(b, type) { return values(b).filter(function (v) { return v.$type === type; })[0]; }
  function body(expr) { return expr ? (expr.body || "") : ""; }

  function extensions(element) {
    var b = bo(element);
    if (!b.extensionElements) {
      modeling.updateModdleProperties(element, b, { extensionElements: moddle.create("bpmn:ExtensionElements", { values: [] }) });
    }
    return b.extensionElements;
  }
  function setExtBody(element, type, text) {
    var found = ext(bo(element), type);
    if (!text) {
      if (found) {
        var container = bo(element).extensionElements;
        modeling.updateModdleProperties(element, container, { values: values(bo(element)).filter(function (v) { return v !== found; }) });
      }
      return;
    }
    if (found) { modeling.updateModdleProperties(element, found, { value: text }); return; }
    var container2 = extensions(element);
    modeling.updateModdleProperties(element, container2, { values: values(bo(element)).concat([moddle.create(type, { value: text })]) });
  }
  function property(element, name) {
    var props = ext(bo(element), "spiffworkflow:Properties");
    var found = props && props.get("properties").filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  }
  function setProperty(element, name, value) {
    var props = ext(bo(element), "spiffworkflow:Properties");
    var list = props ? props.get("properties") : [];
    var found = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) { modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== found; }) }); }
      return;
    }
    if (found) { modeling.updateModdleProperties(element, found, { value: value }); return; }
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      modeling.updateModdleProperties(element, extensions(element), { values: values(bo(element)).concat([props]) });
    }
    modeling.updateModdleProperties(element, props, {
      properties: props.get("properties").concat([moddle.create("spiffworkflow:Property", { name: name, value: value })])
    });
  }
  function expression(text) { return text ? moddle.create("bpmn:FormalExpression", { body: text }) : undefined; }
  function eventDefinition(element, type) {
    return (bo(element).eventDefinitions || []).filter(function (d) { return d.$type === type; })[0];
  }

  // ---- the panel ------------------------------------------------------------------------------

  var counter = 0;
  function field(label, value, onChange, opts) {
    opts = opts || {};
    var id = "prop-" + (++counter);
    var wrap = E.el("div", undefined, "field");
    var lab = E.el("label", label);
    lab.htmlFor = id;
    var input = E.el(opts.multiline ? "textarea" : "input");
    input.id = id;
    input.value = value || "";
    if (opts.multiline) { input.rows = opts.rows || 6; input.spellcheck = false; }
    if (opts.readOnly) { input.readOnly = true; }
    if (opts.hint) { input.setAttribute("aria-describedby", id + "-hint"); }
    input.addEventListener("change", function () { onChange(input.value); });
    wrap.appendChild(lab);
    wrap.appendChild(input);
    if (opts.hint) { var h = E.el("p", opts.hint, "hint"); h.id = id + "-hint"; wrap.appendChild(h); }
    panel.appendChild(wrap);
    return input;
  }
  function is(element, type) { return bo(element).$instanceOf(type); }

  function render(element) {
    shown = element;
    panel.textContent = "";
    if (!element) { panel.appendChild(E.el("p", "Select an element to edit it.")); return; }
    var b = bo(element);
    panel.appendChild(E.el("h2", b.name || b.id));
    field("Id", b.id, function () {}, { readOnly: true });
    field("Name", b.name, function (v) { modeling.updateProperties(element, { name: v || undefined }); });
    if (is(element, "bpmn:Participant") && b.processRef) {
      field("Process name", b.processRef.name, function (v) { modeling.updateModdleProperties(element, b.processRef, { name: v }); });
    }
    if (is(element, "bpmn:UserTask")) {
      field("Form (JSON Schema file)", property(element, "formJsonSchemaFilename"), function (v) { setProperty(element, "formJsonSchemaFilename", v); },
            { hint: "a file in forms/, e.g. finalise_action_plan.schema.json" });
      field("UI schema file", property(element, "formUiSchemaFilename"), function (v) { setProperty(element, "formUiSchemaFilename", v); });
      field("Due date (expression)", property(element, "dueDate"), function (v) { setProperty(element, "dueDate", v); });
      field("Assignee (expression)", property(element, "assignee"), function (v) { setProperty(element, "assignee", v); });
      field("Instructions", (ext(b, "spiffworkflow:InstructionsForEndUser") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:InstructionsForEndUser", v); }, { multiline: true, rows: 3 });
    }
    if (is(element, "bpmn:ScriptTask")) {
      field("Script", b.script, function (v) { modeling.updateProperties(element, { script: v }); }, { multiline: true, rows: 16 });
    }
    if (is(element, "bpmn:BusinessRuleTask")) {
      field("Called decision (DMN id)", (ext(b, "spiffworkflow:CalledDecisionId") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:CalledDecisionId", v); });
    }
    if (is(element, "bpmn:CallActivity")) {
      field("Called process (id)", b.calledElement, function (v) { modeling.updateProperties(element, { calledElement: v }); });
    }
    if (is(element, "bpmn:Activity") && !is(element, "bpmn:SubProcess")) {
      field("Pre-script", (ext(b, "spiffworkflow:PreScript") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:PreScript", v); }, { multiline: true, rows: 4 });
      field("Post-script", (ext(b, "spiffworkflow:PostScript") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:PostScript", v); }, { multiline: true, rows: 4 });
    }
    var loop = b.loopCharacteristics;
    if (loop && loop.$type === "bpmn:StandardLoopCharacteristics") {
      field("Loop condition (run again while true)", body(loop.loopCondition),
            function (v) { modeling.updateModdleProperties(element, loop, { loopCondition: expression(v) }); });
    }
    if (loop && loop.$type === "bpmn:MultiInstanceLoopCharacteristics") {
      field("Completion condition", body(loop.completionCondition),
            function (v) { modeling.updateModdleProperties(element, loop, { completionCondition: expression(v) }); });
    }
    if (is(element, "bpmn:SequenceFlow")) {
      field("Condition (Python)", body(b.conditionExpression),
            function (v) { modeling.updateProperties(element, { conditionExpression: expression(v) }); }, { multiline: true, rows: 2 });
    }
    var timer = eventDefinition(element, "bpmn:TimerEventDefinition");
    if (timer) {
      var kind = timer.timeDate ? "timeDate" : timer.timeDuration ? "timeDuration" : timer.timeCycle ? "timeCycle" : "timeDate";
      var sel = E.el("select");
      sel.id = "prop-timer-kind";
      [["timeDate", "At a date"], ["timeDuration", "After a duration"], ["timeCycle", "Repeating"]].forEach(function (o) {
        var opt = E.el("option", o[1]); opt.value = o[0]; opt.selected = o[0] === kind; sel.appendChild(opt);
      });
      var lab = E.el("label", "Timer kind"); lab.htmlFor = sel.id;
      var wrap = E.el("div", undefined, "field"); wrap.appendChild(lab); wrap.appendChild(sel); panel.appendChild(wrap);
      var timerInput = field("Timer expression", body(timer[kind]), function (v) { setTimer(element, timer, sel.value, v); },
                             { hint: "Python: \"P28D\" with quotes, or timer_at(a_date_in_data)" });
      sel.addEventListener("change", function () { setTimer(element, timer, sel.value, timerInput.value); });
    }
    var message = eventDefinition(element, "bpmn:MessageEventDefinition");
    var messageRef = message ? message.messageRef : (is(element, "bpmn:ReceiveTask") ? b.messageRef : null);
    if (messageRef) {
      field("Message name", messageRef.name, function (v) { modeling.updateModdleProperties(element, messageRef, { name: v }); });
    }
    if (message || is(element, "bpmn:ReceiveTask")) {
      field("Message variable", (ext(b, "spiffworkflow:MessageVariable") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:MessageVariable", v); });
    }
    var signal = eventDefinition(element, "bpmn:SignalEventDefinition");
    if (signal && signal.signalRef) {
      field("Signal name", signal.signalRef.name, function (v) { modeling.updateModdleProperties(element, signal.signalRef, { name: v }); });
    }
  }

  function setTimer(element, timer, kind, text) {
    var update = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
    update[kind] = expression(text);
    modeling.updateModdleProperties(element, timer, update);
  }

  // ---- problems against the element at fault -------------------------------------------------

  function markProblems(problems) {
    var canvas = modeler.get("canvas"), overlays = modeler.get("overlays"), registry = modeler.get("elementRegistry");
    problemIds.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "cprflow-problem"); } });
    overlays.remove({ type: "cprflow-problem" });
    problemIds = [];
    (problems || []).filter(function (p) { return p.file === path && p.element && registry.get(p.element); })
      .forEach(function (p) {
        problemIds.push(p.element);
        canvas.addMarker(p.element, "cprflow-problem");
        var note = E.el("div", p.message, "cprflow-problem-note");
        note.setAttribute("role", "note");
        overlays.add(p.element, "cprflow-problem", { position: { bottom: -6, left: 0 }, html: note });
      });
    document.querySelectorAll("#outcome li[data-element]").forEach(function (li) {
      var target = registry.get(li.getAttribute("data-element"));
      if (target && li.getAttribute("data-file") === path) {
        li.tabIndex = 0;
        li.addEventListener("click", function () { modeler.get("selection").select(target); canvas.scrollToElement(target); });
      }
    });
  }

  function store() {
    if (document.activeElement && panel.contains(document.activeElement)) { document.activeElement.blur(); }
    return modeler.saveXML({ format: true }).then(function (r) { E.set(path, r.xml); });
  }

  // ---- start ----------------------------------------------------------------------------------

  fetch(root.getAttribute("data-descriptor"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (descriptor) {
      modeler = new window.BpmnJS({ container: "#canvas", moddleExtensions: { spiffworkflow: descriptor } });
      modeling = modeler.get("modeling");
      moddle = modeler.get("moddle");
      window.cprflowModeler = modeler;  // for tests and the curious
      return E.load(path);
    })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      modeler.get("canvas").zoom("fit-viewport");
      var bus = modeler.get("eventBus");
      bus.on("selection.changed", function (e) { render(e.newSelection.length === 1 ? e.newSelection[0] : null); });
      bus.on("commandStack.changed", function () { store(); });
      render(null);
      E.wireButtons(markProblems, store);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (err) { E.say("The diagram could not be opened: " + err.message, "error"); });
})();
