/* The BPMN modeler page: bpmn-js with a properties panel for what cprflow's diagrams use, in
   SpiffWorkflow's extension format (spiffworkflow.json is its moddle descriptor), zoom controls,
   and problems marked on the element at fault. Every word comes from CprflowEdits.T. */
(function () {
  "use strict";
  var E = window.CprflowEdits, T = E.T;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path");
  var panel = document.getElementById("properties");
  var modeler, modeling, moddle, canvas, problemIds = [], registry = [];
  var READABLE = 0.8;  // below this the names are too small to read: open at 100% instead

  // ---- reading and writing the business object ----------------------------------------------

  function bo(element) { return element.businessObject; }
  function values(b) { return (b.extensionElements && b.extensionElements.get("values")) || []; }
  function ext(b, type) { return values(b).filter(function (v) { return v.$type === type; })[0]; }
  function body(expr) { return expr ? (expr.body || "") : ""; }

  /* ``target`` is the business object edited: the element's own, or another it owns (a process). */
  function extensions(element, target) {
    if (!target.extensionElements) {
      modeling.updateModdleProperties(element, target, { extensionElements: moddle.create("bpmn:ExtensionElements", { values: [] }) });
    }
    return target.extensionElements;
  }
  function addExtension(element, target, node) {
    modeling.updateModdleProperties(element, extensions(element, target), { values: values(target).concat([node]) });
  }
  function removeExtension(element, target, node) {
    modeling.updateModdleProperties(element, target.extensionElements, {
      values: values(target).filter(function (v) { return v !== node; })
    });
  }
  function setExtBody(element, type, text) {
    var b = bo(element), found = ext(b, type);
    if (!text) { if (found) { removeExtension(element, b, found); } return; }
    if (found) { modeling.updateModdleProperties(element, found, { value: text }); return; }
    addExtension(element, b, moddle.create(type, { value: text }));
  }
  function property(target, name) {
    var props = ext(target, "spiffworkflow:Properties");
    var found = props && props.get("properties").filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  }
  function setProperty(element, name, value, target) {
    target = target || bo(element);
    var props = ext(target, "spiffworkflow:Properties");
    var list = props ? props.get("properties") : [];
    var found = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) { modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== found; }) }); }
      return;
    }
    if (found) { modeling.updateModdleProperties(element, found, { value: value }); return; }
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      addExtension(element, target, props);
    }
    modeling.updateModdleProperties(element, props, {
      properties: props.get("properties").concat([moddle.create("spiffworkflow:Property", { name: name, value: value })])
    });
  }
  function expression(text) { return text ? moddle.create("bpmn:FormalExpression", { body: text }) : undefined; }
  function eventDefinition(element, type) {
    return (bo(element).eventDefinitions || []).filter(function (d) { return d.$type === type; })[0];
  }
  function is(element, type) { return bo(element).$instanceOf(type); }

  // ---- the panel ------------------------------------------------------------------------------

  var counter = 0;
  function group(label, control, hint) {
    var wrap = E.el("div", undefined, "govuk-form-group");
    var lab = E.el("label", label, "govuk-label");
    lab.htmlFor = control.id;
    wrap.appendChild(lab);
    if (hint) {
      var h = E.el("div", hint, "govuk-hint");
      h.id = control.id + "-hint";
      control.setAttribute("aria-describedby", h.id);
      wrap.appendChild(h);
    }
    wrap.appendChild(control);
    panel.appendChild(wrap);
    return control;
  }

  /* A field committed when it changes (leaving it, or before check and deploy): one undo step each. */
  function field(label, value, onChange, opts) {
    opts = opts || {};
    var input = E.el(opts.multiline ? "textarea" : "input", undefined,
                     (opts.multiline ? "govuk-textarea" : "govuk-input") + (opts.code ? " code" : ""));
    input.id = "prop-" + (++counter);
    input.value = value || "";
    if (opts.multiline) { input.rows = opts.rows || 6; }
    if (opts.code) { input.spellcheck = false; input.setAttribute("autocapitalize", "off"); }
    if (opts.readOnly) { input.readOnly = true; }
    if (opts.lang) { input.lang = opts.lang; }
    var committed = input.value;
    input.cprflowCommit = function () {
      if (input.value !== committed) { committed = input.value; onChange(input.value); }
    };
    input.addEventListener("change", input.cprflowCommit);
    return group(label, input, opts.hint);
  }

  function select(label, options, current, onChange, hint) {
    var sel = E.el("select", undefined, "govuk-select");
    sel.id = "prop-" + (++counter);
    options.forEach(function (o) {
      var opt = E.el("option", o[1]);
      opt.value = o[0];
      opt.selected = o[0] === current;
      sel.appendChild(opt);
    });
    sel.addEventListener("change", function () { onChange(sel.value); });
    return group(label, sel, hint);
  }

  function heading(text) { panel.appendChild(E.el("h3", text, "govuk-heading-s")); }

  function render(element) {
    panel.textContent = "";
    if (!element) { panel.appendChild(E.el("p", T("select_element"), "govuk-body")); return; }
    var b = bo(element);
    panel.appendChild(E.el("h2", b.name || b.id, "govuk-heading-m"));
    field(T("id"), b.id, function () {}, { readOnly: true, code: true });
    field(T("name"), b.name, function (v) { modeling.updateProperties(element, { name: v || undefined }); });
    // A Welsh name beside every English one a person reads: flow elements, lanes, named flows.
    if (!is(element, "bpmn:Participant") && (!is(element, "bpmn:SequenceFlow") || b.name)) {
      field(T("name_cy"), property(b, "nameCy"), function (v) { setProperty(element, "nameCy", v); },
            { lang: "cy", hint: T("name_cy_hint") });
    }
    if (is(element, "bpmn:Participant") && b.processRef) {
      var process = b.processRef;
      field(T("process_name"), process.name, function (v) { modeling.updateModdleProperties(element, process, { name: v }); });
      field(T("process_name_cy"), property(process, "nameCy"), function (v) { setProperty(element, "nameCy", v, process); },
            { lang: "cy" });
    }
    if (is(element, "bpmn:UserTask")) { userTask(element, b); }
    if (is(element, "bpmn:StartEvent") && !is(element.parent, "bpmn:SubProcess")) { startForm(element, b); }
    if (is(element, "bpmn:ScriptTask")) {
      field(T("script"), b.script, function (v) { modeling.updateProperties(element, { script: v }); },
            { multiline: true, rows: 16, code: true });
    }
    if (is(element, "bpmn:ServiceTask")) { serviceTask(element, b); }
    if (is(element, "bpmn:BusinessRuleTask")) {
      field(T("called_decision"), (ext(b, "spiffworkflow:CalledDecisionId") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:CalledDecisionId", v); }, { code: true });
    }
    if (is(element, "bpmn:CallActivity")) {
      field(T("called_process"), b.calledElement, function (v) { modeling.updateProperties(element, { calledElement: v }); },
            { code: true });
    }
    if (is(element, "bpmn:Activity") && !is(element, "bpmn:SubProcess")) {
      field(T("pre_script"), (ext(b, "spiffworkflow:PreScript") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:PreScript", v); }, { multiline: true, rows: 4, code: true });
      field(T("post_script"), (ext(b, "spiffworkflow:PostScript") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:PostScript", v); }, { multiline: true, rows: 4, code: true });
    }
    loops(element, b);
    if (is(element, "bpmn:SequenceFlow")) {
      field(T("condition"), body(b.conditionExpression),
            function (v) { modeling.updateProperties(element, { conditionExpression: expression(v) }); },
            { multiline: true, rows: 2, code: true });
    }
    timer(element);
    events(element, b);
  }

  function userTask(element, b) {
    field(T("form"), property(b, "formJsonSchemaFilename"), function (v) { setProperty(element, "formJsonSchemaFilename", v); },
          { hint: T("form_hint"), code: true });
    field(T("ui_schema"), property(b, "formUiSchemaFilename"), function (v) { setProperty(element, "formUiSchemaFilename", v); },
          { code: true });
    field(T("due_date"), property(b, "dueDate"), function (v) { setProperty(element, "dueDate", v); }, { code: true });
    field(T("assignee"), property(b, "assignee"), function (v) { setProperty(element, "assignee", v); }, { code: true });
    field(T("instructions"), (ext(b, "spiffworkflow:InstructionsForEndUser") || {}).value,
          function (v) { setExtBody(element, "spiffworkflow:InstructionsForEndUser", v); }, { multiline: true, rows: 3 });
  }

  // A process's start form: asked of the person who starts it, before the case starts (processes/README.md).
  function startForm(element, b) {
    field(T("start_form"), property(b, "formJsonSchemaFilename"), function (v) { setProperty(element, "formJsonSchemaFilename", v); },
          { hint: T("start_form_hint"), code: true });
    field(T("ui_schema"), property(b, "formUiSchemaFilename"), function (v) { setProperty(element, "formUiSchemaFilename", v); },
          { code: true });
  }

  function loops(element, b) {
    var loop = b.loopCharacteristics;
    if (loop && loop.$type === "bpmn:StandardLoopCharacteristics") {
      field(T("loop_condition"), body(loop.loopCondition),
            function (v) { modeling.updateModdleProperties(element, loop, { loopCondition: expression(v) }); }, { code: true });
    }
    if (loop && loop.$type === "bpmn:MultiInstanceLoopCharacteristics") {
      field(T("completion_condition"), body(loop.completionCondition),
            function (v) { modeling.updateModdleProperties(element, loop, { completionCondition: expression(v) }); }, { code: true });
    }
  }

  function timer(element) {
    var definition = eventDefinition(element, "bpmn:TimerEventDefinition");
    if (!definition) { return; }
    var kind = definition.timeDate ? "timeDate" : definition.timeDuration ? "timeDuration" : definition.timeCycle ? "timeCycle" : "timeDate";
    var text;
    var sel = select(T("timer_kind"), [["timeDate", T("timer_date")], ["timeDuration", T("timer_duration")], ["timeCycle", T("timer_cycle")]],
                     kind, function () { setTimer(element, definition, sel.value, text.value); });
    text = field(T("timer_expression"), body(definition[kind]), function (v) { setTimer(element, definition, sel.value, v); },
                 { hint: T("timer_hint"), code: true });
  }

  function setTimer(element, definition, kind, text) {
    var update = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
    update[kind] = expression(text);
    modeling.updateModdleProperties(element, definition, update);
  }

  function events(element, b) {
    var message = eventDefinition(element, "bpmn:MessageEventDefinition");
    var messageRef = message ? message.messageRef : (is(element, "bpmn:ReceiveTask") ? b.messageRef : null);
    if (messageRef) {
      field(T("message_name"), messageRef.name, function (v) { modeling.updateModdleProperties(element, messageRef, { name: v }); },
            { code: true });
    }
    if (message || is(element, "bpmn:ReceiveTask")) {
      field(T("message_variable"), (ext(b, "spiffworkflow:MessageVariable") || {}).value,
            function (v) { setExtBody(element, "spiffworkflow:MessageVariable", v); }, { code: true });
    }
    var signal = eventDefinition(element, "bpmn:SignalEventDefinition");
    if (signal && signal.signalRef) {
      field(T("signal_name"), signal.signalRef.name,
            function (v) { modeling.updateModdleProperties(element, signal.signalRef, { name: v }); }, { code: true });
    }
  }

  // ---- service tasks: an operator from the registry, and its parameters ------------------------

  var TYPES = ["any", "str", "int", "float", "bool", "list", "dict"];

  function operatorLabel(name) {
    var label = T("operator." + name);
    return label === "operator." + name ? name : label + " (" + name + ")";
  }

  function serviceTask(element, b) {
    var op = ext(b, "spiffworkflow:ServiceTaskOperator");
    var known = registry.filter(function (o) { return op && o.name === op.id; })[0];
    heading(T("operator_heading"));
    var options = [["", T("operator_none")]].concat(registry.map(function (o) { return [o.name, operatorLabel(o.name)]; }));
    if (op && !known) { options.push([op.id, op.id + " — " + T("operator_unknown")]); }
    select(T("operator"), options, op ? op.id : "", function (name) { chooseOperator(element, name); render(element); },
           known && known.doc ? known.doc.split("\n\n")[0] : undefined);
    if (!op) { return; }
    field(T("result_variable"), op.resultVariable, function (v) {
      modeling.updateModdleProperties(element, op, { resultVariable: v || undefined });
    }, { hint: T("result_variable_hint"), code: true });
    panel.appendChild(E.el("p", T("param_hint"), "govuk-hint"));
    var given = op.parameters ? op.parameters.get("parameters") : [];
    var names = known ? known.required.concat(known.optional) : [];
    given.forEach(function (p) { if (names.indexOf(p.id) < 0) { names.push(p.id); } });
    names.forEach(function (name) {
      var param = given.filter(function (p) { return p.id === name; })[0];
      var required = known && known.required.indexOf(name) >= 0;
      var unknown = known && !required && known.optional.indexOf(name) < 0;
      var label = name + " — " + (required ? T("param_required") : unknown ? T("param_unknown") : T("param_optional"));
      var row = E.el("div", undefined, "parameter" + (unknown ? " parameter--unknown" : ""));
      panel.appendChild(row);
      var holder = panel;
      panel = row;
      field(label, param ? param.value : "", function (v) { setParameter(element, op, name, v, undefined, required); },
            { code: true });
      select(T("param_type", { name: name }), TYPES.map(function (t) { return [t, t]; }), param ? (param.type || "any") : "any",
             function (t) { setParameter(element, op, name, undefined, t, required); });
      panel = holder;
    });
  }

  function chooseOperator(element, name) {
    var b = bo(element), op = ext(b, "spiffworkflow:ServiceTaskOperator");
    if (!name) { if (op) { removeExtension(element, b, op); } return; }
    var known = registry.filter(function (o) { return o.name === name; })[0];
    if (!op) {
      op = moddle.create("spiffworkflow:ServiceTaskOperator", { id: name });
      addExtension(element, b, op);
    } else {
      modeling.updateModdleProperties(element, op, { id: name });
    }
    if (!op.parameters) {
      modeling.updateModdleProperties(element, op, { parameters: moddle.create("spiffworkflow:Parameters", { parameters: [] }) });
    }
    var have = op.parameters.get("parameters").map(function (p) { return p.id; });
    var missing = (known ? known.required : []).filter(function (p) { return have.indexOf(p) < 0; });
    if (missing.length) {
      modeling.updateModdleProperties(element, op.parameters, {
        parameters: op.parameters.get("parameters").concat(missing.map(function (p) {
          return moddle.create("spiffworkflow:Parameter", { id: p, type: "any", value: "" });
        }))
      });
    }
  }

  function setParameter(element, op, name, value, type, required) {
    if (!op.parameters) {
      modeling.updateModdleProperties(element, op, { parameters: moddle.create("spiffworkflow:Parameters", { parameters: [] }) });
    }
    var list = op.parameters.get("parameters");
    var param = list.filter(function (p) { return p.id === name; })[0];
    if (param && value === "" && !required) {
      modeling.updateModdleProperties(element, op.parameters, { parameters: list.filter(function (p) { return p !== param; }) });
      return;
    }
    if (param) {
      var update = {};
      if (value !== undefined) { update.value = value; }
      if (type !== undefined) { update.type = type; }
      modeling.updateModdleProperties(element, param, update);
      return;
    }
    if (value === undefined || value === "") { return; }
    modeling.updateModdleProperties(element, op.parameters, {
      parameters: list.concat([moddle.create("spiffworkflow:Parameter", { id: name, type: type || "any", value: value })])
    });
  }

  // ---- problems against the element at fault -------------------------------------------------

  function markProblems(problems) {
    var overlays = modeler.get("overlays"), elements = modeler.get("elementRegistry");
    problemIds.forEach(function (id) { if (elements.get(id)) { canvas.removeMarker(id, "cprflow-problem"); } });
    overlays.remove({ type: "cprflow-problem" });
    problemIds = [];
    (problems || []).filter(function (p) { return p.file === path && p.element && elements.get(p.element); })
      .forEach(function (p) {
        problemIds.push(p.element);
        canvas.addMarker(p.element, "cprflow-problem");
        var note = E.el("div", p.message, "cprflow-problem-note");
        note.setAttribute("role", "note");
        overlays.add(p.element, "cprflow-problem", { position: { bottom: -6, left: 0 }, html: note });
      });
    document.querySelectorAll("#outcome li[data-element]").forEach(function (li) {
      var target = elements.get(li.getAttribute("data-element"));
      if (target && li.getAttribute("data-file") === path) {
        li.tabIndex = 0;
        li.addEventListener("click", function () { modeler.get("selection").select(target); canvas.scrollToElement(target); });
      }
    });
  }

  // ---- zoom -----------------------------------------------------------------------------------

  function showZoom() {
    var out = document.getElementById("zoom-level");
    if (out) { out.textContent = T("zoom_level", { percent: Math.round(canvas.zoom() * 100) }); }
  }

  /* Fitted if the names stay readable; otherwise at 100% from the diagram's top-left corner. */
  function readableZoom() {
    canvas.zoom("fit-viewport");
    if (canvas.zoom() < READABLE) {
      var inner = canvas.viewbox().inner;
      canvas.zoom(1);
      var box = canvas.viewbox();
      canvas.viewbox({ x: inner.x - 20, y: inner.y - 20, width: box.width, height: box.height });
    }
    showZoom();
  }

  function wireZoom() {
    var actions = {
      "zoom-in": function () { canvas.zoom(Math.min(canvas.zoom() * 1.25, 4), "auto"); },
      "zoom-out": function () { canvas.zoom(Math.max(canvas.zoom() / 1.25, 0.2), "auto"); },
      "zoom-fit": function () { canvas.zoom("fit-viewport", "auto"); },
      "zoom-reset": function () { canvas.zoom(1, "auto"); }
    };
    Object.keys(actions).forEach(function (id) {
      var button = document.getElementById(id);
      if (button) { button.addEventListener("click", function () { actions[id](); showZoom(); }); }
    });
    modeler.get("eventBus").on("canvas.viewbox.changed", showZoom);
  }

  /* bpmn-js's own words (the palette's and context pad's tooltips) in the page's language. */
  function translate(template, replacements) {
    var key = "bpmn." + template, text = T(key);
    if (text === key) { text = template; }
    return text.replace(/{([^}]+)}/g, function (_, name) {
      return replacements && replacements[name] !== undefined ? replacements[name] : "{" + name + "}";
    });
  }

  // ---- saving ---------------------------------------------------------------------------------

  function store() {
    E.touch(path);
    return modeler.saveXML({ format: true }).then(function (r) { E.set(path, r.xml); });
  }

  /* Before check, deploy or discard: commit the field still being typed in, then save. */
  function commitAndStore() {
    var active = document.activeElement;
    if (active && active.cprflowCommit) { active.cprflowCommit(); }
    return store();
  }

  // ---- start ----------------------------------------------------------------------------------

  Promise.all([
    fetch(root.getAttribute("data-descriptor"), { credentials: "same-origin" }).then(function (r) { return r.json(); }),
    fetch("/modeler/data/operators", { credentials: "same-origin" }).then(function (r) { return r.json(); })
  ])
    .then(function (loaded) {
      registry = loaded[1].operators || [];
      modeler = new window.BpmnJS({
        container: "#canvas",
        moddleExtensions: { spiffworkflow: loaded[0] },
        additionalModules: [{ translate: ["value", translate] }]
      });
      modeling = modeler.get("modeling");
      moddle = modeler.get("moddle");
      canvas = modeler.get("canvas");
      window.cprflowModeler = modeler;  // for tests and the curious
      return E.load(path);
    })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      readableZoom();
      wireZoom();
      var bus = modeler.get("eventBus");
      bus.on("selection.changed", function (e) { render(e.newSelection.length === 1 ? e.newSelection[0] : null); });
      bus.on("commandStack.changed", store);
      render(null);
      E.wireButtons(markProblems, commitAndStore);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (err) { E.say(T("cannot_open_diagram", { error: err.message }), "error"); });
})();
