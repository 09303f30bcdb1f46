/* The form editor: a field list (add, reorder, rename, type, titles and hints in both languages,
   required) beside the JSON Schema and UI schema as text, both kept in step, and a preview the
   server renders with the same code as the staff task page. */
(function () {
  "use strict";
  var E = window.CprflowEdits, T = E.T;
  var root = document.getElementById("editor");
  var path = root.getAttribute("data-path"), uiPath = root.getAttribute("data-ui-path");
  var schemaText = document.getElementById("schema");
  // A message's form has no UI schema: one kept off the page, never loaded or saved, stands in for it.
  var uiText = document.getElementById("ui_schema") || document.createElement("textarea");
  var preview = document.getElementById("preview"), problems = document.getElementById("preview-errors");
  var list = document.getElementById("field-list"), jsonState = document.getElementById("json-state");
  var timer = null, originalUi = "", uiTouched = false, open = null;

  // ---- the schema as data ----------------------------------------------------------------------

  function parse(text, fallback) {
    if (!text.trim()) { return fallback; }
    try { var v = JSON.parse(text); return v && typeof v === "object" && !Array.isArray(v) ? v : null; } catch (e) { return null; }
  }
  function schema() { return parse(schemaText.value, null); }
  function ui() { return parse(uiText.value, {}); }
  function props(s) { return s.properties && typeof s.properties === "object" ? s.properties : {}; }

  function order(s, u) {
    var keys = Object.keys(props(s));
    var listed = Array.isArray(u["ui:order"]) ? u["ui:order"] : null;
    if (!listed) { return keys; }
    var named = listed.filter(function (k) { return keys.indexOf(k) >= 0; });
    var rest = keys.filter(function (k) { return named.indexOf(k) < 0; });
    var star = listed.indexOf("*");
    if (star < 0) { return named.concat(rest); }
    var before = listed.slice(0, star).filter(function (k) { return keys.indexOf(k) >= 0; });
    return before.concat(rest, listed.slice(star + 1).filter(function (k) { return keys.indexOf(k) >= 0; }));
  }

  var KINDS = ["text", "textarea", "integer", "number", "boolean", "date", "choice"];
  function kindOf(node, uiNode) {
    if (Array.isArray(node.enum)) { return "choice"; }
    if (node.type === "string" && node.format === "date") { return "date"; }
    if (node.type === "string") { return uiNode && uiNode["ui:widget"] === "textarea" ? "textarea" : "text"; }
    if (KINDS.indexOf(node.type) >= 0) { return node.type; }
    return "other";
  }

  function setKind(node, uiNode, kind) {
    delete node.format; delete node.enum; delete node["x-enumNames"]; delete node["x-enumNames-cy"];
    if (uiNode["ui:widget"] === "textarea" || uiNode["ui:widget"] === "date" || uiNode["ui:widget"] === "radio") {
      delete uiNode["ui:widget"];
    }
    node.type = { text: "string", textarea: "string", date: "string", choice: "string" }[kind] || kind;
    if (kind === "textarea") { uiNode["ui:widget"] = "textarea"; }
    if (kind === "date") { node.format = "date"; uiNode["ui:widget"] = "date"; }
    if (kind === "choice") {
      node.enum = ["yes", "no"];
      node["x-enumNames"] = [T("choice_yes"), T("choice_no")];
      node["x-enumNames-cy"] = ["Ie", "Na"];
      uiNode["ui:widget"] = "radio";
    }
  }

  /* Write both texts from the data, then save and preview; ``keep`` leaves the list as it is
     (a title typed: rebuilding it would take the keyboard's place away mid-form). */
  function write(s, u, keep) {
    schemaText.value = JSON.stringify(s, null, 2) + "\n";
    var uiJson = JSON.stringify(u, null, 2) + "\n";
    if (uiJson !== uiText.value && !(Object.keys(u).length === 0 && !uiText.value.trim())) { uiText.value = uiJson; }
    changed();
    if (!keep) { renderList(); }
  }

  function edit(fn, keep) {
    var s = schema(), u = ui();
    if (!s || !u) { return; }
    s.properties = props(s);
    fn(s, u);
    write(s, u, keep);
  }

  function moveKey(s, u, key, by) {
    var keys = order(s, u), at = keys.indexOf(key), to = at + by;
    if (at < 0 || to < 0 || to >= keys.length) { return; }
    keys.splice(at, 1);
    keys.splice(to, 0, key);
    if (Array.isArray(u["ui:order"])) {
      u["ui:order"] = keys.concat(u["ui:order"].indexOf("*") >= 0 ? ["*"] : []);
    } else {
      var rebuilt = {};
      keys.forEach(function (k) { rebuilt[k] = s.properties[k]; });
      s.properties = rebuilt;
    }
  }

  function renameKey(s, u, from, to) {
    var rebuilt = {};
    Object.keys(s.properties).forEach(function (k) { rebuilt[k === from ? to : k] = s.properties[k]; });
    s.properties = rebuilt;
    if (Array.isArray(s.required)) { s.required = s.required.map(function (k) { return k === from ? to : k; }); }
    if (Array.isArray(u["ui:order"])) { u["ui:order"] = u["ui:order"].map(function (k) { return k === from ? to : k; }); }
    if (u[from] !== undefined) { u[to] = u[from]; delete u[from]; }
  }

  // ---- the field list ---------------------------------------------------------------------------

  function button(text, cls, onClick, label) {
    var b = E.el("button", text, "govuk-button " + (cls || "govuk-button--secondary"));
    b.type = "button";
    if (label) { b.setAttribute("aria-label", label); }
    b.addEventListener("click", onClick);
    return b;
  }

  function input(id, label, value, onChange, opts) {
    opts = opts || {};
    var wrap = E.el("div", undefined, "govuk-form-group");
    var lab = E.el("label", label, "govuk-label");
    lab.htmlFor = id;
    wrap.appendChild(lab);
    if (opts.hint) { var h = E.el("div", opts.hint, "govuk-hint"); h.id = id + "-hint"; wrap.appendChild(h); }
    var error = E.el("p", "", "govuk-error-message");
    error.id = id + "-error";
    error.hidden = true;
    wrap.appendChild(error);
    var control = E.el(opts.multiline ? "textarea" : "input", undefined, opts.multiline ? "govuk-textarea" : "govuk-input");
    control.id = id;
    control.value = value || "";
    if (opts.multiline) { control.rows = opts.rows || 2; }
    if (opts.lang) { control.lang = opts.lang; }
    if (opts.hint) { control.setAttribute("aria-describedby", id + "-hint"); }
    control.addEventListener("change", function () {
      var problem = onChange(control.value);
      error.hidden = !problem;
      error.textContent = problem ? T("error_prefix") + " " + problem : "";
      wrap.classList.toggle("govuk-form-group--error", !!problem);
    });
    wrap.appendChild(control);
    return wrap;
  }

  function renderList() {
    var s = schema(), u = ui();
    list.textContent = "";
    jsonState.textContent = s && u ? "" : T("json_broken");
    if (!s || !u) { return; }
    var keys = order(s, u), required = Array.isArray(s.required) ? s.required : [];
    var table = E.el("ol", undefined, "field-list");
    keys.forEach(function (key, n) {
      var node = s.properties[key] || {}, uiNode = u[key] || {};
      var item = E.el("li", undefined, "field-list__item");
      var title = E.el("span", shownTitle(node) || key, "field-list__title");
      item.appendChild(title);
      item.appendChild(E.el("code", key));
      var kind = kindOf(node, uiNode);
      item.appendChild(E.el("strong", T("kind." + kind), "govuk-tag govuk-tag--grey"));
      if (required.indexOf(key) >= 0) { item.appendChild(E.el("strong", T("required"), "govuk-tag")); }
      var actions = E.el("span", undefined, "field-list__actions");
      if (n > 0) { actions.appendChild(button(T("move_up"), null, function () { edit(function (a, b) { moveKey(a, b, key, -1); }); focusAction(key, "up"); }, T("move_up_named", { field: key }))); }
      if (n < keys.length - 1) { actions.appendChild(button(T("move_down"), null, function () { edit(function (a, b) { moveKey(a, b, key, 1); }); focusAction(key, "down"); }, T("move_down_named", { field: key }))); }
      actions.appendChild(button(open === key ? T("close_field") : T("edit_field"), null, function () {
        open = open === key ? null : key; renderList(); focusFirst(open);
      }, (open === key ? T("close_field") : T("edit_field")) + " " + key));
      item.appendChild(actions);
      if (open === key) { item.appendChild(details(key, node, uiNode, required.indexOf(key) >= 0, kind)); }
      item.setAttribute("data-key", key);
      table.appendChild(item);
    });
    list.appendChild(table);
  }

  function shownTitle(node) {
    return document.documentElement.lang === "cy" ? node["x-title-cy"] || node.title : node.title;
  }

  function focusAction(key, which) {
    var item = list.querySelector('li[data-key="' + key + '"]');
    var b = item && item.querySelector('button[aria-label^="' + (which === "up" ? T("move_up") : T("move_down")) + '"]');
    (b || (item && item.querySelector("button")) || list).focus();
  }
  function focusFirst(key) {
    var item = key && list.querySelector('li[data-key="' + key + '"] input');
    if (item) { item.focus(); }
  }

  function details(key, node, uiNode, isRequired, kind) {
    var box = E.el("div", undefined, "field-details");
    var id = "field-" + key.replace(/[^A-Za-z0-9_-]/g, "_");
    box.appendChild(input(id + "-name", T("field_name"), key, function (v) {
      v = v.trim();
      if (!/^[a-z][a-z0-9_]*$/.test(v)) { return T("field_name_invalid"); }
      if (v !== key && schema().properties[v]) { return T("field_name_taken", { name: v }); }
      if (v !== key) {
        open = v;
        edit(function (s, u) { renameKey(s, u, key, v); });
        // The list is drawn again under the new name: carry on from the next field, as Tab would.
        var next = document.getElementById("field-" + v + "-type");
        if (next) { next.focus(); }
      }
      return null;
    }, { hint: T("field_name_hint") }));
    var typeWrap = E.el("div", undefined, "govuk-form-group");
    var typeLabel = E.el("label", T("field_type"), "govuk-label");
    typeLabel.htmlFor = id + "-type";
    var sel = E.el("select", undefined, "govuk-select");
    sel.id = id + "-type";
    (kind === "other" ? ["other"] : KINDS).forEach(function (k) {
      var o = E.el("option", T("kind." + k)); o.value = k; o.selected = k === kind; sel.appendChild(o);
    });
    sel.disabled = kind === "other";
    sel.addEventListener("change", function () {
      edit(function (s, u) { u[key] = u[key] || {}; setKind(s.properties[key], u[key], sel.value); if (!Object.keys(u[key]).length) { delete u[key]; } });
      var again = document.getElementById(sel.id);
      if (again) { again.focus(); }
    });
    typeWrap.appendChild(typeLabel); typeWrap.appendChild(sel);
    box.appendChild(typeWrap);
    [["title", "field_title", null], ["x-title-cy", "field_title_cy", "cy"], ["description", "field_hint", null],
     ["x-description-cy", "field_hint_cy", "cy"]].forEach(function (f) {
      box.appendChild(input(id + "-" + f[0], T(f[1]), node[f[0]], function (v) {
        edit(function (s) { if (v) { s.properties[key][f[0]] = v; } else { delete s.properties[key][f[0]]; } }, true);
        var titleShown = list.querySelector('li[data-key="' + key + '"] .field-list__title');
        if (titleShown && f[0].indexOf("title") >= 0) { titleShown.textContent = shownTitle(schema().properties[key]) || key; }
        return null;
      }, { lang: f[2], multiline: f[0].indexOf("description") >= 0 }));
    });
    if (kind === "choice") { box.appendChild(choices(id, key, node)); }
    var req = E.el("div", undefined, "govuk-checkboxes__item");
    var tick = E.el("input", undefined, "govuk-checkboxes__input");
    tick.type = "checkbox"; tick.id = id + "-required"; tick.checked = isRequired;
    var tickLabel = E.el("label", T("field_required"), "govuk-label govuk-checkboxes__label");
    tickLabel.htmlFor = tick.id;
    tick.addEventListener("change", function () {
      edit(function (s) {
        var r = Array.isArray(s.required) ? s.required.filter(function (k) { return k !== key; }) : [];
        if (tick.checked) { r.push(key); }
        if (r.length) { s.required = r; } else { delete s.required; }
      });
      var again = document.getElementById(tick.id); if (again) { again.focus(); }
    });
    req.appendChild(tick); req.appendChild(tickLabel);
    box.appendChild(req);
    box.appendChild(button(T("remove_field"), "govuk-button--warning", function () {
      edit(function (s, u) {
        delete s.properties[key];
        if (Array.isArray(s.required)) { s.required = s.required.filter(function (k) { return k !== key; }); if (!s.required.length) { delete s.required; } }
        if (Array.isArray(u["ui:order"])) { u["ui:order"] = u["ui:order"].filter(function (k) { return k !== key; }); }
        delete u[key];
      });
      open = null; renderList();
    }, T("remove_field") + " " + key));
    return box;
  }

  /* Choices: one a line, "value | English | Cymraeg". */
  function choices(id, key, node) {
    var lines = (node.enum || []).map(function (v, n) {
      return [v, (node["x-enumNames"] || [])[n] || "", (node["x-enumNames-cy"] || [])[n] || ""].join(" | ");
    });
    return input(id + "-choices", T("field_choices"), lines.join("\n"), function (text) {
      var rows = text.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(function (l) {
        return l.split("|").map(function (p) { return p.trim(); });
      });
      if (!rows.length || rows.some(function (r) { return !r[0]; })) { return T("field_choices_invalid"); }
      edit(function (s) {
        var n = s.properties[key];
        n.enum = rows.map(function (r) { return r[0]; });
        n["x-enumNames"] = rows.map(function (r) { return r[1] || r[0]; });
        n["x-enumNames-cy"] = rows.map(function (r) { return r[2] || r[1] || r[0]; });
      }, true);
      return null;
    }, { multiline: true, rows: 4, hint: T("field_choices_hint") });
  }

  function addField() {
    var s = schema();
    if (!s) { return; }
    var n = 1;
    while (props(s)["new_field_" + n]) { n += 1; }
    var key = "new_field_" + n;
    edit(function (a, u) {
      a.properties[key] = { type: "string", title: T("new_field_title"), description: "", "x-title-cy": "", "x-description-cy": "" };
      if (Array.isArray(u["ui:order"])) {
        var star = u["ui:order"].indexOf("*");
        if (star >= 0) { u["ui:order"].splice(star, 0, key); } else { u["ui:order"].push(key); }
      }
    });
    open = key;
    renderList();
    focusFirst(key);
  }

  // ---- saving and preview ----------------------------------------------------------------------

  function refresh() {
    E.post("/modeler/data/form-preview", { schema: schemaText.value, ui_schema: uiText.value }).then(function (r) {
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
    E.set(path, schemaText.value);
    if (uiPath && (uiTouched || uiText.value !== originalUi)) { uiTouched = true; E.set(uiPath, uiText.value); }
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  Promise.all([E.load(path), uiPath ? E.load(uiPath, true) : Promise.resolve("")]).then(function (texts) {
    schemaText.value = texts[0];
    uiText.value = originalUi = texts[1] || "";
    schemaText.addEventListener("input", function () { changed(); });
    uiText.addEventListener("input", function () { changed(); });
    schemaText.addEventListener("change", renderList);
    uiText.addEventListener("change", renderList);
    document.getElementById("add-field").addEventListener("click", addField);
    E.wireButtons(null, function () { return Promise.resolve(); });
    renderList();
    refresh();
    root.setAttribute("data-ready", "true");
  }).catch(function (err) { E.say(T("cannot_open_form", { error: err.message }), "error"); });
})();
