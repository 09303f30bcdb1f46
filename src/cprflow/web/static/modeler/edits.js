/* Edits kept on the server per process owner until they are deployed, for every editor page:
   each change is saved as a draft (the same in every tab, surviving a closed tab), the page says
   when it was last saved, a stale tab is told rather than allowed to overwrite a newer save, and
   check, deploy (with a note saying why) and discard (asking first, naming what is lost) act on
   the saved drafts. Every word shown comes from the page's language (#cprflow-strings). */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var stringsNode = document.getElementById("cprflow-strings");
  var STRINGS = stringsNode ? JSON.parse(stringsNode.textContent || "{}") : {};
  var SAVE_DELAY = 600;
  var files = {};  // path -> {revision, text, dirty, saving, timer, error, savedAt}
  var lastCheck = null;  // the drafts' revisions the last check saw
  var listeners = [];

  function T(key, params) {
    var text = STRINGS[key] !== undefined ? STRINGS[key] : key;
    return text.replace(/%\((\w+)\)s/g, function (_, name) {
      return params && params[name] !== undefined ? String(params[name]) : "";
    }).replace(/%%/g, "%");
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  /* Local time as 14:05 today, else 2026-01-06 14:05: the same in both languages. */
  function when(iso) {
    if (!iso) { return ""; }
    var at = new Date(iso), now = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    var time = two(at.getHours()) + ":" + two(at.getMinutes());
    if (at.toDateString() === now.toDateString()) { return time; }
    return at.getFullYear() + "-" + two(at.getMonth() + 1) + "-" + two(at.getDate()) + " " + time;
  }

  function request(method, url, body, keepalive) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (keepalive) { options.keepalive = true; }
    return fetch(url, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }
  function post(url, body) { return request("POST", url, body); }

  // ---- loading and saving --------------------------------------------------------------------

  /* The text to edit: this owner's draft of the file if there is one, else the newest version.
     ``optional``: a file that may not exist yet (a form's UI schema) opens empty. */
  function load(path, optional) {
    return request("GET", "/modeler/data/file?path=" + encodeURIComponent(path)).then(function (r) {
      if (r.status === 404 && optional) { files[path] = { revision: 0, original: "" }; return ""; }
      if (r.status !== 200) { throw new Error(message(r.body, T("cannot_open", { path: path }))); }
      var draft = r.body.draft;
      files[path] = { revision: draft ? draft.revision : 0, savedAt: draft ? draft.saved_at : null,
                      original: r.body.content || "" };
      noticeFor(path, r.body);
      showStatus();
      return draft ? draft.content : r.body.content;
    });
  }

  function set(path, text) {
    var f = files[path] || (files[path] = { revision: 0 });
    f.touched = false;
    if (f.text === text && !f.dirty) { showStatus(); return; }
    f.text = text;
    f.dirty = true;
    clearTimeout(f.timer);
    if (closing) { save(path, true); return; }  // the tab is closing: send it now, as it goes
    f.timer = setTimeout(function () { save(path); }, SAVE_DELAY);
    showStatus();
  }

  /* An edit is under way and its text is on its way (editors serialise asynchronously): until
     ``set`` brings it, closing the tab warns. */
  function touch(path) {
    var f = files[path] || (files[path] = { revision: 0 });
    f.touched = true;
  }

  function save(path, keepalive) {
    var f = files[path];
    clearTimeout(f.timer);
    if (f.saving) { return f.saving.then(function () { return save(path, keepalive); }); }
    if (!f.dirty || f.conflict) { return Promise.resolve(); }
    f.dirty = false;
    var text = f.text;
    showStatus();
    f.saving = request("PUT", "/modeler/data/drafts", { path: path, content: text, revision: f.revision }, keepalive)
      .then(function (r) {
        f.saving = null;
        if (r.status === 200) {
          f.revision = r.body.revision;
          f.savedAt = r.body.saved_at || new Date().toISOString();
          f.error = null;
        } else if (r.status === 409) {
          f.conflict = true;
          f.dirty = true;
          f.error = T("draft_changed", { path: path });
        } else {
          f.dirty = true;
          f.error = message(r.body, T("not_saved"));
        }
        showStatus();
        listPending();
      }, function () {
        f.saving = null;
        f.dirty = true;
        f.error = T("offline");
        showStatus();
      });
    return f.saving;
  }

  /* Save everything now; resolves once every file is saved, rejects if one cannot be. */
  function flush() {
    return Promise.all(Object.keys(files).map(function (p) { return save(p); })).then(function () {
      var failed = Object.keys(files).filter(function (p) { return files[p].error; });
      if (failed.length) { throw new Error(files[failed[0]].error); }
    });
  }

  function unsaved() {
    return Object.keys(files).some(function (p) { return files[p].dirty || files[p].saving || files[p].touched; });
  }

  /* Keep this tab's text over a newer save made elsewhere, after being told about it. */
  function keepMine(path) {
    return request("GET", "/modeler/data/file?path=" + encodeURIComponent(path)).then(function (r) {
      var f = files[path];
      f.revision = r.body.draft ? r.body.draft.revision : 0;
      f.conflict = false;
      f.error = null;
      f.dirty = true;
      return save(path);
    });
  }

  var closing = false;
  window.addEventListener("beforeunload", function (event) {
    if (!unsaved()) { return; }
    closing = true;  // edits still arriving are sent at once, with keepalive, as the page goes
    setTimeout(function () { closing = false; }, 2000);  // runs only if the person chose to stay
    Object.keys(files).forEach(function (p) { save(p, true); });
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pageshow", function () { closing = false; });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { Object.keys(files).forEach(function (p) { save(p, true); }); }
  });

  // ---- what the page says ----------------------------------------------------------------------

  function message(body, fallback) { return (body && body.error && body.error.message) || fallback; }

  function showStatus() {
    var box = document.getElementById("saved-status");
    if (!box) { return; }
    var paths = Object.keys(files);
    var error = paths.map(function (p) { return files[p].error; }).filter(Boolean)[0];
    box.textContent = "";
    box.className = "govuk-body saved-status";
    if (error) {
      box.className += " saved-status--error";
      box.appendChild(el("strong", error));
      paths.filter(function (p) { return files[p].conflict; }).forEach(function (p) {
        var reload = el("button", T("reload"), "govuk-button govuk-button--secondary");
        reload.type = "button";
        reload.addEventListener("click", function () { files[p].dirty = false; window.location.reload(); });
        var keep = el("button", T("keep_mine"), "govuk-button govuk-button--warning");
        keep.type = "button";
        keep.addEventListener("click", function () { keepMine(p); });
        box.appendChild(reload);
        box.appendChild(keep);
      });
      return;
    }
    if (unsaved()) { box.textContent = T("saving"); return; }
    var times = paths.map(function (p) { return files[p].savedAt; }).filter(Boolean).sort();
    box.textContent = times.length ? T("saved_at", { time: when(times[times.length - 1]) }) : T("no_edits_here");
  }

  function noticeFor(path, body) {
    var box = document.getElementById("notices");
    if (!box) { return; }
    if (body.stale) {
      box.appendChild(el("p", T("stale_notice", { path: path, version: body.stale.version_id,
                                                     who: body.stale.deployed_by, time: when(body.stale.deployed_at) }),
                         "govuk-warning-text"));
    }
    (body.others || []).forEach(function (d) {
      var p = el("p", T("other_editing", { who: d.owner, path: path, time: when(d.saved_at) }) + " ", "govuk-inset-text");
      var link = el("a", T("see_their_changes"), "govuk-link");
      link.href = "/modeler/drafts/" + encodeURIComponent(d.owner);
      p.appendChild(link);
      box.appendChild(p);
    });
  }

  function say(text, cls) {
    var out = document.getElementById("outcome");
    out.textContent = "";
    out.appendChild(el("p", text, "govuk-body " + (cls || "")));
    return out;
  }

  function showProblems(problems) {
    var out = say(T(problems.length === 1 ? "problem_found" : "problems_found", { count: problems.length }), "error");
    var list = el("ul", undefined, "govuk-list govuk-list--bullet");
    problems.forEach(function (p) {
      var where = p.file + (p.line ? ":" + p.line : "") + (p.element ? " [" + p.element + "]" : "");
      var item = el("li");
      item.appendChild(el("code", where));
      item.appendChild(document.createTextNode(" "));
      var said = el("span", p.message);
      if (p.lang) { said.setAttribute("lang", p.lang); }  // a message the check words only in English
      item.appendChild(said);
      item.setAttribute("data-element", p.element || "");
      item.setAttribute("data-file", p.file);
      list.appendChild(item);
    });
    out.appendChild(list);
  }

  function fileLink(path) {
    var a = el("a", path, "govuk-link");
    if (/\.bpmn$/.test(path)) { a.href = "/modeler/diagram?file=" + encodeURIComponent(path); }
    else if (/\.dmn$/.test(path)) { a.href = "/modeler/table?file=" + encodeURIComponent(path); }
    else if (path === "processes/timescales.json") { a.href = "/modeler/timescales"; }
    else if (/^forms\/.*\.(ui)?schema\.json$/.test(path)) {
      a.href = "/modeler/form?name=" + encodeURIComponent(path.replace(/^forms\//, "").replace(/\.(ui)?schema\.json$/, ""));
    } else { a.removeAttribute("href"); }
    return a;
  }

  function listPending() {
    var box = document.getElementById("pending");
    if (!box) { return Promise.resolve(); }
    return request("GET", "/modeler/data/drafts").then(function (r) {
      if (r.status !== 200) { return; }
      box.textContent = "";
      if (!r.body.mine.length) { box.appendChild(el("p", T("no_edits_waiting"), "govuk-body")); }
      else {
        box.appendChild(el("p", T("your_edits_waiting"), "govuk-body"));
        var list = el("ul", undefined, "govuk-list govuk-list--bullet");
        r.body.mine.forEach(function (d) {
          var item = el("li");
          item.appendChild(fileLink(d.path));
          item.appendChild(document.createTextNode(" " + T("saved_when", { time: when(d.saved_at) })));
          list.appendChild(item);
        });
        box.appendChild(list);
        var diff = el("a", T("see_my_changes"), "govuk-link");
        diff.href = "/modeler/drafts/" + encodeURIComponent(box.getAttribute("data-user") || "");
        box.appendChild(diff);
      }
      var owners = {};
      r.body.others.forEach(function (d) { (owners[d.owner] = owners[d.owner] || []).push(d.path); });
      Object.keys(owners).forEach(function (owner) {
        var p = el("p", T("others_waiting", { who: owner, files: owners[owner].join(", ") }) + " ", "govuk-body");
        var link = el("a", T("see_their_changes"), "govuk-link");
        link.href = "/modeler/drafts/" + encodeURIComponent(owner);
        p.appendChild(link);
        box.appendChild(p);
      });
      listeners.forEach(function (fn) { fn(r.body); });
    });
  }

  // ---- check, deploy, discard ----------------------------------------------------------------

  function check(onProblems) {
    say(T("checking"));
    return flush().then(function () { return post("/modeler/data/check", {}); }, function (err) {
      say(err.message, "error");
      return null;
    }).then(function (r) {
      if (!r) { return null; }
      if (r.status !== 200) { say(message(r.body, T("check_failed")), "error"); return null; }
      lastCheck = r.body.revisions;
      if (r.body.ok) {
        say(r.body.same_as_version ? T("same_as_version", { version: r.body.same_as_version }) : T("no_problems"), "ok");
      } else { showProblems(r.body.problems); }
      if (onProblems) { onProblems(r.body.problems); }  // after the list exists: editors link its items
      return r.body;
    });
  }

  function noteField() { return document.getElementById("deploy-note"); }

  function noteError(text) {
    var group = document.getElementById("deploy-note-group"), error = document.getElementById("deploy-note-error");
    if (!group) { return; }
    group.classList.toggle("govuk-form-group--error", !!text);
    error.hidden = !text;
    error.textContent = text ? T("error_prefix") + " " + text : "";
    if (text) { noteField().setAttribute("aria-invalid", "true"); } else { noteField().removeAttribute("aria-invalid"); }
  }

  function deploy(onProblems, confirmStale) {
    var note = noteField() ? noteField().value.trim() : "";
    if (!note) { noteError(T("enter_note")); noteField().focus(); return Promise.resolve(null); }
    noteError(null);
    return check(onProblems).then(function (report) {
      if (!report || !report.ok) { return null; }
      return post("/modeler/data/deploy", { note: note, revisions: lastCheck, confirm_stale: confirmStale || [] })
        .then(function (r) {
          if (r.status === 201 || r.status === 200) {
            Object.keys(files).forEach(function (p) { files[p].revision = 0; files[p].savedAt = null; });
            noteField().value = "";
            var out = say(T("deployed_as", { version: r.body.version_id }), "ok");
            var link = el("a", T("migrate_to", { version: r.body.version_id }), "govuk-link");
            link.href = "/modeler/versions/" + r.body.version_id + "/migrate";
            out.appendChild(link);
            (r.body.warnings || []).forEach(function (w) { out.appendChild(el("p", T("deploy_warning", { warning: w }), "govuk-body warning")); });
            showStatus();
            listPending();
            return r.body;
          }
          var error = r.body.error || {};
          if (error.code === "drafts_stale") { offerStale(error.stale, onProblems); return null; }
          if (error.fields && error.fields["/note"]) { noteError(error.fields["/note"][0]); return null; }
          if (error.problems) { showProblems(error.problems); if (onProblems) { onProblems(error.problems); } return null; }
          say(message(r.body, T("deploy_failed")), "error");
          return null;
        });
    });
  }

  function offerStale(stale, onProblems) {
    var out = say(T("stale_title"), "error");
    var form = el("div", undefined, "govuk-checkboxes");
    stale.forEach(function (s, n) {
      var item = el("div", undefined, "govuk-checkboxes__item");
      var box = el("input", undefined, "govuk-checkboxes__input");
      box.type = "checkbox"; box.id = "stale-" + n; box.value = s.path;
      var label = el("label", T("stale_confirm", { path: s.path, version: s.version_id, who: s.deployed_by }),
                     "govuk-label govuk-checkboxes__label");
      label.htmlFor = box.id;
      item.appendChild(box); item.appendChild(label); form.appendChild(item);
    });
    out.appendChild(form);
    var again = el("button", T("deploy_anyway"), "govuk-button govuk-button--warning");
    again.type = "button";
    again.addEventListener("click", function () {
      var chosen = Array.prototype.map.call(form.querySelectorAll("input:checked"), function (b) { return b.value; });
      if (chosen.length === stale.length) { deploy(onProblems, chosen); }
    });
    out.appendChild(again);
  }

  /* Discard asks first: which of my saved edits, named, with when each was saved. */
  function askDiscard(current) {
    var panel = document.getElementById("discard-panel");
    return flush().catch(function () {}).then(function () {
      return request("GET", "/modeler/data/drafts");
    }).then(function (r) {
      panel.textContent = "";
      panel.hidden = false;
      var mine = r.status === 200 ? r.body.mine : [];
      if (!mine.length) { panel.appendChild(el("p", T("nothing_to_discard"), "govuk-body")); return; }
      var fieldset = el("fieldset", undefined, "govuk-fieldset");
      fieldset.appendChild(el("legend", T("discard_question"), "govuk-fieldset__legend"));
      fieldset.appendChild(el("p", T("discard_warning"), "govuk-warning-text"));
      var boxes = el("div", undefined, "govuk-checkboxes");
      mine.forEach(function (d, n) {
        var item = el("div", undefined, "govuk-checkboxes__item");
        var box = el("input", undefined, "govuk-checkboxes__input");
        box.type = "checkbox"; box.id = "discard-" + n; box.value = d.path;
        box.checked = current.indexOf(d.path) >= 0 || !current.length;
        var label = el("label", T("discard_item", { path: d.path, time: when(d.saved_at) }), "govuk-label govuk-checkboxes__label");
        label.htmlFor = box.id;
        item.appendChild(box); item.appendChild(label); boxes.appendChild(item);
      });
      fieldset.appendChild(boxes);
      panel.appendChild(fieldset);
      var yes = el("button", T("discard_confirm"), "govuk-button govuk-button--warning");
      yes.type = "button";
      var no = el("button", T("cancel"), "govuk-button govuk-button--secondary");
      no.type = "button";
      no.addEventListener("click", function () { panel.hidden = true; panel.textContent = ""; });
      yes.addEventListener("click", function () {
        var chosen = Array.prototype.map.call(boxes.querySelectorAll("input:checked"), function (b) { return b.value; });
        if (!chosen.length) { say(T("choose_to_discard"), "error"); return; }
        chosen.forEach(function (p) { if (files[p]) { clearTimeout(files[p].timer); files[p].dirty = false; } });
        post("/modeler/data/drafts/discard", { paths: chosen }).then(function (res) {
          if (res.status !== 200) { say(message(res.body, T("discard_failed")), "error"); return; }
          window.location.reload();
        });
      });
      panel.appendChild(yes);
      panel.appendChild(no);
      yes.focus();
    });
  }

  /* The toolbar's buttons. ``beforeAction`` lets an editor commit a field still being typed in. */
  function wireButtons(onProblems, beforeAction) {
    var before = beforeAction || function () { return Promise.resolve(); };
    var c = document.getElementById("check"), d = document.getElementById("deploy"), x = document.getElementById("discard");
    if (c) { c.addEventListener("click", function () { before().then(function () { check(onProblems); }); }); }
    if (d) { d.addEventListener("click", function () { before().then(function () { deploy(onProblems); }); }); }
    if (x) { x.addEventListener("click", function () { before().then(function () { askDiscard(Object.keys(files)); }); }); }
    listPending();
  }

  window.CprflowEdits = { T: T, el: el, when: when, load: load, set: set, touch: touch, flush: flush, unsaved: unsaved,
                          post: post, request: request, check: check, deploy: deploy, say: say,
                          wireButtons: wireButtons, listPending: listPending,
                          onDrafts: function (fn) { listeners.push(fn); } };
  document.addEventListener("DOMContentLoaded", function () { if (!document.getElementById("check")) { listPending(); } });
})();
