"""The anonymisation check before publication: identifiers and patterns searched in the report's text.

What is searched for is data, in two places a process owner edits:

* the **identifiers** recorded in the case (child, family, addresses, schools, practitioners, dates
  of birth), which the diagram passes to the operator, so the diagram says which data keys hold them;
* the **patterns** in ``processes/anonymisation.json``, deployed and versioned with the diagrams
  (NHS numbers, UK phone numbers, postcodes, dates of birth written out).

Patterns use the ``regex`` package's syntax and run with a wall-clock bound (``core.patterns``): a
pattern that takes too long on a document becomes an open finding ("check this document by hand")
instead of hanging a worker. The deploy check compiles every pattern (at most ``MAX_PATTERNS``) and
runs it against inputs built from its own characters and common ones, which make backtracking
patterns blow up; one that does not finish in time there is refused. A named ``check`` (only
``nhs_mod11`` so far) can confirm a match, so ten digits that fail the NHS number checksum are not
reported.

Each finding says what matched, where (document, version, page and paragraph) and a little context.
A later check keeps the history: a finding no longer in the newest version of its document is
resolved by that re-upload; one the reviewer justified (with a reason) stays justified, and the same
text is not reported again in that slot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import regex
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow.core import operators, patterns
from cprflow.core.errors import Problem
from cprflow.core.views import DocumentView
from cprflow.db.models import ProcessVersion
from cprflow.db.store import INSTANCES, record_event
from cprflow.features import documents

RULES_FILE = "processes/anonymisation.json"
#: Longest one pattern may search one document before the search is abandoned (wall clock, seconds).
SEARCH_TIMEOUT = 2.0
#: Most patterns the rules may hold: each is searched in every document of every check.
MAX_PATTERNS = 50
CONTEXT_CHARS = 40

CHECKS = {"nhs_mod11"}

RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["patterns"],
    "properties": {
        "$comment": {"type": "string"},
        "name_parts_for": {"type": "array", "items": {"type": "string"}},
        "min_part_length": {"type": "integer", "minimum": 2, "maximum": 20},
        "ignore_parts": {"type": "array", "items": {"type": "string"}},
        "patterns": {
            "type": "array",
            "maxItems": MAX_PATTERNS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "label", "pattern"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,60}$"},
                    "label": {"type": "string", "minLength": 1},
                    "pattern": {"type": "string", "minLength": 1, "maxLength": 1000},
                    "ignore_case": {"type": "boolean"},
                    "check": {"enum": sorted(CHECKS)},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Rules:
    patterns: list[tuple[str, str, Any, str | None]]  # id, label, compiled, check
    name_parts_for: frozenset[str]
    min_part_length: int
    ignore_parts: frozenset[str]


def parse_rules(content: bytes) -> tuple[Rules | None, list[Problem]]:
    """The rules, or the problems that stop a deploy (each names the pattern at fault)."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        return None, [Problem(RULES_FILE, f"not valid JSON: {err}")]
    problems = [
        Problem(RULES_FILE, f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}")
        for e in Draft202012Validator(RULES_SCHEMA).iter_errors(document)
    ]
    if problems:
        return None, problems
    compiled = []
    budget = patterns.Budget()  # for all the patterns together
    for n, rule in enumerate(document["patterns"]):
        where = f"/patterns/{n} ({rule['id']})"
        try:
            flags = regex.VERSION1 | (regex.IGNORECASE if rule.get("ignore_case") else 0)
            pattern = regex.compile(rule["pattern"], flags)
        except (regex.error, ValueError, OverflowError, RecursionError) as err:
            problems.append(Problem(RULES_FILE, f"{where}: the pattern does not compile: {err}"))
            continue
        if pattern.search("") is not None:
            problems.append(Problem(RULES_FILE, f"{where}: the pattern matches empty text"))
            continue
        problem = patterns.probe(pattern, rule["pattern"], budget)
        if problem:
            problems.append(Problem(RULES_FILE, f"{where}: {problem}"))
            continue
        compiled.append((rule["id"], rule["label"], pattern, rule.get("check")))
    if len({r["id"] for r in document["patterns"]}) != len(document["patterns"]):
        problems.append(Problem(RULES_FILE, "/patterns: two patterns share an id"))
    rules = Rules(
        compiled,
        frozenset(document.get("name_parts_for", [])),
        document.get("min_part_length", 3),
        frozenset(p.lower() for p in document.get("ignore_parts", [])),
    )
    return (None if problems else rules), problems


def nhs_mod11(text: str) -> bool:
    """Does this NHS number pass its modulus 11 check digit?"""
    digits = [int(c) for c in text if c.isdigit()]
    if len(digits) != 10:
        return False
    remainder = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


# ---- searching ------------------------------------------------------------------------------------

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _date_pattern(value: str) -> str | None:
    """Every usual way of writing a recorded date: 2019-03-05, 5/3/2019, 05.03.19, 5 March 2019, March 5th 2019."""
    try:
        d = date.fromisoformat(value[:10])
    except ValueError:
        return None
    day, month, year = d.day, d.month, d.year
    sep = r"\s*[/.\-]\s*"
    dd, mm = rf"0?{day}", rf"0?{month}"
    yy = rf"(?:{year}|{year % 100:02d})"
    name = _MONTHS[month - 1]
    written = rf"(?:{name}|{name[:3]}\.?)"
    th = r"(?:st|nd|rd|th)?"
    forms = [
        rf"{year}{sep}0?{month}{sep}0?{day}",
        rf"{dd}{sep}{mm}{sep}{yy}",
        rf"{dd}{th}\s+(?:of\s+)?{written},?\s+{year}",
        rf"{written}\s+{dd}{th},?\s+{year}",
    ]
    return r"(?<![\d])(?:" + "|".join(forms) + r")(?![\d])"


def _phrase_pattern(value: str) -> str:
    words = [regex.escape(w) for w in value.split()]
    return r"(?<!\w)" + r"[\s\-]+".join(words) + r"(?!\w)"


@dataclass(frozen=True)
class _Needle:
    kind: str
    label: str
    pattern: Any
    check: str | None = None


def _needles(rules: Rules, identifiers: dict[str, Any], dates: dict[str, Any]) -> list[_Needle]:
    needles: list[_Needle] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, label: str, source: str) -> None:
        if (kind, source) not in seen:
            seen.add((kind, source))
            needles.append(_Needle(kind, label, regex.compile(source, regex.IGNORECASE | regex.VERSION1)))

    for kind, values in (identifiers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or len(value.strip()) < 2:
                continue
            add(str(kind), f"{kind} (recorded in the case)", _phrase_pattern(value.strip()))
            if kind in rules.name_parts_for:
                for part in value.split():
                    if len(part) >= rules.min_part_length and part.lower() not in rules.ignore_parts:
                        add(str(kind), f"{kind} (part of a name recorded in the case)", _phrase_pattern(part))
    for kind, values in (dates or {}).items():
        for value in values if isinstance(values, list) else [values]:
            source = _date_pattern(value) if isinstance(value, str) else None
            if source:
                add(str(kind), f"{kind} (recorded in the case)", source)
    needles += [_Needle(pid, label, pattern, check) for pid, label, pattern, check in rules.patterns]
    return needles


def _paragraph(before: str) -> int:
    """The paragraph a match starting after ``before`` is in: the non-empty lines wholly before it, plus one."""
    return 1 + sum(1 for line in before.split("\n")[:-1] if line.strip())


def _where(content_type: str, text: str, start: int) -> str:
    before = text[:start]
    if content_type == documents.PDF:
        page_start = before.rfind("\f") + 1
        return f"page {before.count(chr(12)) + 1}, paragraph {_paragraph(before[page_start:].lstrip(chr(10)))}"
    return f"paragraph {_paragraph(before)}"


def _context(text: str, start: int, end: int) -> str:
    left = max(0, start - CONTEXT_CHARS)
    right = min(len(text), end + CONTEXT_CHARS)
    snippet = ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
    return " ".join(snippet.replace("\f", " ").split())


def scan(
    rules: Rules, document: DocumentView, text: str | None, identifiers: dict[str, Any], dates: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every hit in one document (without ids or status)."""
    where_doc = {
        "slot": document.slot,
        "document_id": document.id,
        "version": document.version,
        "filename": document.filename,
    }
    if not text:
        return [
            dict(
                where_doc,
                kind="no_text",
                label="No text could be read from the document",
                text="",
                where="",
                context="Check this document by hand (a scan, or an unreadable file).",
            )
        ]
    hits = []
    for needle in _needles(rules, identifiers, dates):
        try:
            for start, end, found in patterns.find_all(needle.pattern, text, SEARCH_TIMEOUT):
                if needle.check == "nhs_mod11" and not nhs_mod11(found):
                    continue
                hits.append(
                    dict(
                        where_doc,
                        kind=needle.kind,
                        label=needle.label,
                        text=" ".join(found.split()),
                        where=_where(document.content_type, text, start),
                        context=_context(text, start, end),
                    )
                )
        except patterns.PatternTimeout:
            hits.append(
                dict(
                    where_doc,
                    kind="search_timeout",
                    label=f"The check '{needle.kind}' did not finish",
                    text="",
                    where="",
                    context="Check this document by hand for this kind of identifier.",
                )
            )
    return hits


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return (finding["kind"], str(finding.get("text", "")).casefold(), finding["slot"])


def reconcile(
    previous: list[dict[str, Any]],
    hits: list[dict[str, Any]],
    justifications: list[dict[str, Any]],
    *,
    actor: str,
    today: str,
) -> list[dict[str, Any]]:
    """The findings after this check: history kept, justified ones stay so, gone ones resolved, new ones open."""
    findings = [dict(f) for f in previous if isinstance(f, dict) and "kind" in f and "slot" in f]
    reasons = {
        str(j.get("finding_id")): str(j.get("reason", "")).strip()
        for j in justifications or []
        if isinstance(j, dict) and str(j.get("reason", "")).strip()
    }
    for finding in findings:
        if finding.get("status") == "open" and finding.get("id") in reasons:
            finding.update(status="justified", resolution=reasons[finding["id"]], decided_by=actor, decided_on=today)
    justified = {_key(f) for f in findings if f.get("status") == "justified"}
    current = {_key(h): h for h in hits}
    for finding in findings:
        if finding.get("status") == "open" and _key(finding) not in current:
            finding.update(
                status="resolved",
                decided_by=actor,
                decided_on=today,
                resolution="no longer in the newest version of the document",
            )
    open_by_key = {_key(f): f for f in findings if f.get("status") == "open"}
    number = max(
        (int(str(f.get("id", "F0"))[1:] or 0) for f in findings if str(f.get("id", "")).startswith("F")), default=0
    )
    for key, hit in current.items():
        if key in justified:
            continue
        if key in open_by_key:
            open_by_key[key].update(hit)  # still there: point at the newest version
        else:
            number += 1
            findings.append(dict(hit, id=f"F{number}", status="open", resolution="", decided_by="", decided_on=""))
    return findings


# ---- the operator ---------------------------------------------------------------------------------

_rules_cache: dict[tuple[str, int], Rules | None] = {}


def rules_for(session: Session, instance_id: int) -> Rules | None:
    version_id = (
        session.connection().execute(select(INSTANCES.c.version_id).where(INSTANCES.c.id == instance_id)).scalar_one()
    )
    key = (str(session.get_bind().url), version_id)
    if key not in _rules_cache:
        row = session.get(ProcessVersion, version_id)
        content = (row.files or {}).get(RULES_FILE) if row is not None else None
        raw = content.encode() if isinstance(content, str) else content
        _rules_cache[key] = parse_rules(raw)[0] if raw else None
    return _rules_cache[key]


@operators.register(
    "anonymisation_check", required=("documents", "identifiers"), optional=("dates", "previous", "justifications")
)
def anonymisation_check(step: operators.StepContext, params: dict[str, Any]) -> Any:
    """Search the newest version of each named document slot for identifiers and patterns.

    ``documents``: slot names; ``identifiers``: {kind: text or [texts]}; ``dates``: {kind: ISO date or
    [dates]}; ``previous``: the findings of the last check; ``justifications``: [{finding_id, reason}].
    Answers {findings, open, checked}."""
    if step.instance_id is None:
        raise operators.OperatorFailed("the anonymisation check needs a running review")
    slots = params["documents"]
    if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
        raise operators.OperatorFailed("'documents' must be a list of slot names")
    rules = rules_for(step.session, step.instance_id) or Rules([], frozenset(), 3, frozenset())
    latest = {d.slot: d for d in documents.list_for(step.session, step.instance_id, latest_only=True)}
    hits: list[dict[str, Any]] = []
    checked = []
    for slot in slots:
        document = latest.get(slot)
        if document is None:
            hits.append(
                {
                    "slot": slot,
                    "document_id": None,
                    "version": None,
                    "filename": "",
                    "kind": "missing",
                    "label": "The document has not been uploaded",
                    "text": "",
                    "where": "",
                    "context": f"Upload the document for '{slot}'.",
                }
            )
            continue
        checked.append(
            {"slot": slot, "document_id": document.id, "version": document.version, "filename": document.filename}
        )
        hits += scan(
            rules,
            document,
            documents.text(step.session, document.id),
            params["identifiers"] or {},
            params.get("dates") or {},
        )
    today = (step.now.date() if isinstance(step.now, datetime) else step.now).isoformat()
    findings = reconcile(
        params.get("previous") or [], hits, params.get("justifications") or [], actor=step.actor, today=today
    )
    open_count = sum(1 for f in findings if f["status"] == "open")
    before = {f.get("id"): f.get("status") for f in params.get("previous") or [] if isinstance(f, dict)}
    record_event(
        step.session,
        step.instance_id,
        "anonymisation_checked",
        step.actor,
        step.now,
        {
            "checked": checked,
            "open": open_count,
            "decisions": [
                {k: f.get(k) for k in ("id", "kind", "text", "status", "resolution", "decided_by")}
                for f in findings
                if f["status"] != "open" and before.get(f["id"]) == "open"
            ],
            "new": [f["id"] for f in findings if f["id"] not in before],
        },
    )
    return {"findings": findings, "open": open_count, "checked": checked}
