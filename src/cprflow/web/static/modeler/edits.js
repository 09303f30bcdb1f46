/* Edits held in this browser tab until they are deployed, and the check/deploy calls.
   Every editor page stores its file here, so a change spanning a diagram and a form is
   checked and deployed as one set. */
(function () {
  "use strict";
  var KEY = "cprflow.edits";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function all() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
  }
  function save(edits) { sessionStorage.setItem(KEY, JSON.stringify(edits)); listPending(); }
  function set(path, text) { var e = all(); e[path] = text; save(e); }
  function get(path) { return all()[path]; }
  function drop(path) { var e = all(); delete e[path]; save(e); }
  function clear() { save({}); }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  function load(path) {
    var held = get(path);
    if (held !== undefined) { return Promise.resolve(held); }
    return fetch("/modeler/data/file?path=" + encodeURIComponent(path), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("cannot load " + path); } return r.json(); })
      .then(function (j) { return j.content; });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function say(text, cls) {
    var out = document.getElementById("outcome");
    out.textContent = "";
    out.appendChild(el("p", text, cls));
    return out;
  }
  function showProblems(problems) {
    var out = say(problems.length + " problem(s) found: nothing was deployed.", "error");
    var list = el("ul");
    problems.forEach(function (p) {
      var where = p.file + (p.line ? ":" + p.line : "") + (p.element ? " [" + p.element + "]" : "");
      var item = el("li");
      item.appendChild(el("code", where));
      item.appendChild(document.createTextNode(" " + p.message));
      item.setAttribute("data-element", p.element || "");
      item.setAttribute("data-file", p.file);
      list.appendChild(item);
    });
    out.appendChild(list);
  }

  function check(onProblems) {
    var edits = all();
    if (!Object.keys(edits).length) { say("No edits to check."); return Promise.resolve(null); }
    say("Checking…");
    return post("/modeler/data/check", { files: edits }).then(function (r) {
      if (r.status !== 200) { say(r.body.error ? r.body.error.message : "check failed", "error"); return null; }
      if (onProblems) { onProblems(r.body.problems); }
      if (r.body.ok) {
        say(r.body.same_as_version ? "No problems: these files are version " + r.body.same_as_version + " already."
                                   : "No problems found: ready to deploy.", "ok");
      } else { showProblems(r.body.problems); }
      return r.body;
    });
  }

  function deploy(onProblems) {
    return check(onProblems).then(function (report) {
      if (!report || !report.ok) { return null; }
      return post("/modeler/data/deploy", { files: all() }).then(function (r) {
        if (r.status === 201 || r.status === 200) {
          clear();
          var out = say("Deployed as version " + r.body.version_id + ".", "ok");
          var link = el("a", "Migrate running reviews to version " + r.body.version_id);
          link.href = "/modeler/versions/" + r.body.version_id + "/migrate";
          out.appendChild(link);
          return r.body;
        }
        say(r.body.error ? r.body.error.message : "deploy failed", "error");
        return null;
      });
    });
  }

  function listPending() {
    var box = document.getElementById("pending");
    if (!box) { return; }
    var names = Object.keys(all()).sort();
    box.textContent = names.length ? "Edited, not yet deployed: " + names.join(", ") : "No edits waiting to be deployed.";
  }

  function wireButtons(onProblems, beforeAction) {
    var before = beforeAction || function () { return Promise.resolve(); };
    var c = document.getElementById("check"), d = document.getElementById("deploy"), x = document.getElementById("discard");
    if (c) { c.addEventListener("click", function () { before().then(function () { check(onProblems); }); }); }
    if (d) { d.addEventListener("click", function () { before().then(function () { deploy(onProblems); }); }); }
    if (x) { x.addEventListener("click", function () { clear(); window.location.reload(); }); }
    listPending();
  }

  window.CprflowEdits = { all: all, set: set, get: get, drop: drop, clear: clear, load: load, post: post,
                          check: check, deploy: deploy, wireButtons: wireButtons, el: el, say: say };
  document.addEventListener("DOMContentLoaded", listPending);
})();
