"""Versions as a process owner reads them: a readable diff, a zip, and an export back to files.

A version's files are a ``{relative path: text}`` mapping (``processes/x.bpmn``, ``forms/y.json``),
as ``ProcessVersion.files`` holds them. Nothing here touches the database.
"""

from __future__ import annotations

import difflib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from cprflow.diagrams import diagram_set

_BPMN = diagram_set.NS["bpmn"]
_DI_NAMESPACES = (
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",
)
#: Elements a process owner draws and names; ids on anything else (definitions, event definitions,
#: documentation) belong to the element around them.
_DRAWN = {
    "process",
    "subProcess",
    "lane",
    "sequenceFlow",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "callActivity",
    "receiveTask",
    "sendTask",
    "task",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "dataObject",
    "dataObjectReference",
    "message",
    "signal",
    "participant",
    "collaboration",
}


#: Attribute values BPMN takes when they are absent; a modeler may write or omit them.
_DEFAULTS = {"cancelActivity": "true"}


@dataclass
class FileDiff:
    file: str
    status: str  # added, removed, changed
    elements_added: list[dict[str, str]] = field(default_factory=list)
    elements_removed: list[dict[str, str]] = field(default_factory=list)
    elements_changed: list[dict[str, Any]] = field(default_factory=list)
    layout_changed: bool = False
    notes: list[str] = field(default_factory=list)


def diff(before: dict[str, str], after: dict[str, str]) -> list[FileDiff]:
    """What changed from one version's files to another's, file by file, in words and values."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            found.append(FileDiff(name, "added"))
        elif new is None:
            found.append(FileDiff(name, "removed"))
        elif name.endswith(".bpmn"):
            found.append(_diff_xml(name, old, new, _bpmn_elements))
        elif name.endswith(".dmn"):
            found.append(_diff_xml(name, old, new, _dmn_elements))
        else:
            found.append(_diff_json(name, old, new))
    return found


def as_json(diffs: list[FileDiff]) -> list[dict[str, Any]]:
    return [vars(d) for d in diffs]


# ---------------------------------------------------------------------------------------------
# Diagrams: each drawn element reduced to the aspects a process owner edits


def _parse(text: str) -> Any:
    return etree.fromstring(text.encode("utf-8"), diagram_set.safe_parser())


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _texts(node: Any, path: str) -> str | None:
    found = [(n.text or "").strip() for n in node.xpath(path, namespaces=diagram_set.NS)]
    return "\n".join(found) if found else None


def _own(node: Any) -> list[Any]:
    """The element's own descendants: those not inside a nested drawn element."""
    out, stack = [], list(node)
    while stack:
        child = stack.pop()
        if not isinstance(child.tag, str):
            continue
        if child.get("id") and _local(child) in _DRAWN:
            continue
        out.append(child)
        stack.extend(child)
    return out


def _bpmn_aspects(node: Any) -> dict[str, Any]:
    aspects: dict[str, Any] = {"kind": _local(node), "name": node.get("name")}
    for attr in (
        "calledElement",
        "messageRef",
        "signalRef",
        "sourceRef",
        "targetRef",
        "default",
        "attachedToRef",
        "cancelActivity",
        "isExecutable",
    ):
        if node.get(attr) is not None and node.get(attr) != _DEFAULTS.get(attr):
            aspects[attr] = node.get(attr)
    own = _own(node)
    wanted = {
        "timer": ("timeDate", "timeDuration", "timeCycle"),
        "condition": ("conditionExpression",),
        "script": ("script",),
        "preScript": ("preScript",),
        "postScript": ("postScript",),
        "instructions": ("instructionsForEndUser",),
        "calledDecisionId": ("calledDecisionId",),
        "messageVariable": ("messageVariable",),
        "messagePayload": ("messagePayload",),
        "loopCondition": ("loopCondition",),
        "completionCondition": ("completionCondition",),
        "loopCardinality": ("loopCardinality",),
        "documentation": ("documentation",),
    }
    for aspect, locals_ in wanted.items():
        texts = [(n.text or "").strip() for n in own if _local(n) in locals_]
        if texts:
            aspects[aspect] = "\n".join(texts)
    props = {n.get("name"): n.get("value") for n in own if _local(n) == "property" and n.get("value") is not None}
    aspects.update({f"property {k}": v for k, v in props.items()})
    members = [(n.text or "").strip() for n in own if _local(n) == "flowNodeRef"]
    if members:
        aspects["elements"] = ", ".join(sorted(members))
    events = sorted(_local(n) for n in own if _local(n).endswith("EventDefinition"))
    if events:
        aspects["event"] = ", ".join(events)
    # Anything else, whitespace and attribute order aside (a modeler re-indents what it saves).
    rest = sorted(
        json.dumps([n.tag, sorted(n.attrib.items()), (n.text or "").strip()])
        for n in own
        if _local(n) not in ("incoming", "outgoing")
    )
    aspects["(other)"] = "\n".join(rest)
    return aspects


def _bpmn_elements(root: Any) -> dict[str, dict[str, Any]]:
    return {
        n.get("id"): _bpmn_aspects(n)
        for n in root.iter()
        if isinstance(n.tag, str) and n.get("id") and _local(n) in _DRAWN and etree.QName(n).namespace == _BPMN
    }


def _dmn_elements(root: Any) -> dict[str, dict[str, Any]]:
    """Decisions (hit policy, inputs, outputs) and each rule of each table, keyed by id."""
    out: dict[str, dict[str, Any]] = {}
    for decision in (n for n in root.iter() if isinstance(n.tag, str) and _local(n) == "decision"):
        for table in (n for n in decision.iter() if isinstance(n.tag, str) and _local(n) == "decisionTable"):
            inputs = [_cell(i) or i.get("label") or "" for i in table if _local(i) == "input"]
            outputs = [o.get("name") or o.get("label") or "" for o in table if _local(o) == "output"]
            columns = [i.get("label") or _cell(i) for i in table if _local(i) == "input"]
            columns += [o.get("label") or o.get("name") or "" for o in table if _local(o) == "output"]
            out[decision.get("id")] = {
                "kind": "decision",
                "name": decision.get("name"),
                "hit policy": table.get("hitPolicy", "UNIQUE"),
                "inputs": " | ".join(inputs),
                "outputs": " | ".join(outputs),
            }
            for number, rule in enumerate((r for r in table if _local(r) == "rule"), start=1):
                cells = [_cell(c) for c in rule if _local(c) in ("inputEntry", "outputEntry")]
                labels = columns + [""] * (len(cells) - len(columns))
                out[rule.get("id")] = {
                    "kind": "rule",
                    "name": f"{decision.get('id')} row {number}",
                    # One line a column, so a line diff marks the cell that changed.
                    "cells": "\n".join(
                        f"{label}: {cell}" if label else cell for label, cell in zip(labels, cells, strict=False)
                    ),
                    "annotation": _texts(rule, "./*[local-name()='description']"),
                }
    return out


def _ref(key: str, aspects: dict[str, Any]) -> dict[str, str]:
    """An added or removed element; a decision row also carries its cells, one line a column."""
    found = {"id": key, "kind": aspects["kind"], "name": aspects.get("name") or ""}
    if aspects["kind"] == "rule":
        found["content"] = aspects.get("cells") or ""
    return found


def _field_ref(key: str, node: Any) -> dict[str, Any]:
    name = str(node.get("title", "")) if isinstance(node, dict) else ""
    return {"id": key, "kind": "field", "name": name, "content": _short(node)}


def _cell(node: Any) -> str:
    texts = [(c.text or "").strip() for c in node.iter() if isinstance(c.tag, str) and _local(c) == "text"]
    return texts[0] if texts else ""


def _layout(root: Any) -> bytes:
    return b"".join(
        etree.tostring(n, method="c14n")
        for n in root.iter()
        if isinstance(n.tag, str) and etree.QName(n).namespace in _DI_NAMESPACES and n.getparent() is root
    )


def _diff_xml(name: str, old_text: str, new_text: str, elements_of: Any) -> FileDiff:
    result = FileDiff(name, "changed")
    try:
        old_root, new_root = _parse(old_text), _parse(new_text)
    except etree.XMLSyntaxError:
        result.notes.append("not well-formed XML: compare the files themselves")
        return result
    old, new = elements_of(old_root), elements_of(new_root)
    for key in sorted(set(new) - set(old)):
        result.elements_added.append(_ref(key, new[key]))
    for key in sorted(set(old) - set(new)):
        result.elements_removed.append(_ref(key, old[key]))
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        changes = [
            {"aspect": aspect, "before": a.get(aspect), "after": b.get(aspect)}
            for aspect in sorted(set(a) | set(b))
            if a.get(aspect) != b.get(aspect) and aspect != "(other)"
        ]
        if not changes and a.get("(other)") != b.get("(other)"):
            changes = [{"aspect": "other details", "before": None, "after": None}]
        if changes:
            result.elements_changed.append(
                {"id": key, "kind": b["kind"], "name": b.get("name") or "", "changes": changes}
            )
    result.layout_changed = _layout(old_root) != _layout(new_root)
    return result


# ---------------------------------------------------------------------------------------------
# Forms and permissions


def _diff_json(name: str, old_text: str, new_text: str) -> FileDiff:
    result = FileDiff(name, "changed")
    try:
        old, new = json.loads(old_text), json.loads(new_text)
    except ValueError:
        result.notes.append("not valid JSON: compare the files themselves")
        return result
    if not (isinstance(old, dict) and isinstance(new, dict)):
        result.notes.append("changed")
        return result
    if name == diagram_set.TIMESCALES_FILE:
        return _diff_timescales(result, old, new)
    old_fields, new_fields = old.get("properties"), new.get("properties")
    if isinstance(old_fields, dict) and isinstance(new_fields, dict):
        for key in sorted(set(new_fields) - set(old_fields)):
            result.elements_added.append(_field_ref(key, new_fields[key]))
        for key in sorted(set(old_fields) - set(new_fields)):
            result.elements_removed.append(_field_ref(key, old_fields[key]))
        for key in sorted(set(old_fields) & set(new_fields)):
            a, b = old_fields[key], new_fields[key]
            if a != b:
                changes = [
                    {"aspect": k, "before": _short(a.get(k)), "after": _short(b.get(k))}
                    for k in sorted(set(a) | set(b))
                    if a.get(k) != b.get(k)
                ]
                result.elements_changed.append(
                    {"id": key, "kind": "field", "name": str(b.get("title", "")), "changes": changes}
                )
        old, new = ({k: v for k, v in d.items() if k != "properties"} for d in (old, new))
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            result.elements_changed.append(
                {
                    "id": key,
                    "kind": "setting",
                    "name": key,
                    "changes": [{"aspect": key, "before": _short(old.get(key)), "after": _short(new.get(key))}],
                }
            )
    return result


def _timescales(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{process}.{key}": entry
        for process, entries in data.items()
        if isinstance(entries, dict)
        for key, entry in entries.items()
        if isinstance(entry, dict)
    }


def _diff_timescales(result: FileDiff, old: dict[str, Any], new: dict[str, Any]) -> FileDiff:
    """Each timescale is an element: its duration, kind and labels before and after."""
    before, after = _timescales(old), _timescales(new)

    def ref(key: str, entry: dict[str, Any]) -> dict[str, str]:
        return {"id": key, "kind": f"timescale ({entry.get('kind', '?')})", "name": str(entry.get("label", ""))}

    result.elements_added = [dict(ref(k, after[k]), content=_short(after[k])) for k in sorted(set(after) - set(before))]
    result.elements_removed = [
        dict(ref(k, before[k]), content=_short(before[k])) for k in sorted(set(before) - set(after))
    ]
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        changes = [
            {"aspect": field, "before": _short(a.get(field)), "after": _short(b.get(field))}
            for field in sorted(set(a) | set(b))
            if a.get(field) != b.get(field)
        ]
        if changes:
            result.elements_changed.append(dict(ref(key, b), changes=changes))
    return result


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Indented, so each item of a list (choices, their names) is a line a line diff can mark.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


# ---------------------------------------------------------------------------------------------
# Line diffs: what a changed script, condition, cell or form setting looks like, changed lines marked


@dataclass(frozen=True)
class Line:
    """One line of a line diff: ``kind`` is same, removed, added or gap (``count`` lines unchanged
    and not shown); ``parts`` are (text, changed) pieces, changed ones being what the edit touched."""

    kind: str
    parts: tuple[tuple[str, bool], ...] = ()
    old: int | None = None
    new: int | None = None
    count: int = 0


def line_diff(before: Any, after: Any, *, context: int = 3) -> list[Line]:
    """``before`` and ``after`` as lines, removed lines then added ones where they differ, the
    characters that changed within a replaced line marked, and long unchanged stretches cut to
    ``context`` lines either side of a change."""
    old = _lines(before)
    new = _lines(after)
    rows: list[Line] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(Line("same", ((old[i1 + k], False),), i1 + k + 1, j1 + k + 1) for k in range(i2 - i1))
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        marked = [_marked(old[i1 + k], new[j1 + k]) for k in range(pairs)]
        for k, i in enumerate(range(i1, i2)):
            rows.append(Line("removed", marked[k][0] if k < pairs else ((old[i], True),), i + 1))
        for k, j in enumerate(range(j1, j2)):
            rows.append(Line("added", marked[k][1] if k < pairs else ((new[j], True),), None, j + 1))
    return _trim(rows, context)


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    return str(value).splitlines() or [""]


def _marked(old: str, new: str) -> tuple[tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]]:
    before: list[tuple[str, bool]] = []
    after: list[tuple[str, bool]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i2 > i1:
            before.append((old[i1:i2], tag != "equal"))
        if j2 > j1:
            after.append((new[j1:j2], tag != "equal"))
    return tuple(before) or (("", True),), tuple(after) or (("", True),)


def _trim(rows: list[Line], context: int) -> list[Line]:
    changed = [n for n, row in enumerate(rows) if row.kind != "same"]
    keep = {n for c in changed for n in range(c - context, c + context + 1)}
    out: list[Line] = []
    hidden = 0
    for n, row in enumerate(rows):
        if row.kind != "same" or n in keep:
            if hidden:
                out.append(Line("gap", count=hidden))
                hidden = 0
            out.append(row)
        else:
            hidden += 1
    if hidden:
        out.append(Line("gap", count=hidden))
    return out


# ---------------------------------------------------------------------------------------------
# Files out: a zip to download, and an export back into processes/ and forms/


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def export(files: dict[str, str], target: Path) -> list[str]:
    """Write a version into ``target/processes`` and ``target/forms`` so git sees what changed.

    Managed files (diagrams, forms, data files) that the version does not have are removed, so
    the folders become exactly the version; anything else there (README.md, demo/) is left alone.
    Returns the paths written or removed, relative to ``target``.
    """
    touched = []
    wanted = {name for name in files if _safe_relative(name)}
    for folder in ("processes", "forms"):
        base = target / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                name = f"{folder}/{path.relative_to(base).as_posix()}"
                managed = (
                    path.suffix in diagram_set.DIAGRAM_SUFFIXES if folder == "processes" else path.suffix == ".json"
                )
                if path.is_file() and (managed or diagram_set.is_data_file(name)) and name not in wanted:
                    path.unlink()
                    touched.append(name)
    for name in sorted(wanted):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = files[name].encode("utf-8")
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            touched.append(name)
    return sorted(touched)


def _safe_relative(name: str) -> bool:
    parts = name.split("/")
    return parts[0] in ("processes", "forms") and len(parts) >= 2 and all(p not in ("", ".", "..") for p in parts)
