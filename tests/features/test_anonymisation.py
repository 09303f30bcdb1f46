"""The anonymisation rules as data: what the patterns find, and what a deploy refuses."""

from __future__ import annotations

import json

import pytest

from cprflow import services
from cprflow.core import patterns
from cprflow.core.errors import DeployRefused
from cprflow.diagrams import diagram_set
from cprflow.features import anonymisation
from tests.conftest import ROOT, T0

RULES = (ROOT / "processes" / "anonymisation.json").read_bytes()


def _kinds(text: str, identifiers: dict | None = None, dates: dict | None = None) -> list[tuple[str, str]]:
    rules, problems = anonymisation.parse_rules(RULES)
    assert rules is not None and not problems
    found: list[tuple[str, str]] = []
    for needle in anonymisation._needles(rules, identifiers or {}, dates or {}):
        found += [
            (needle.kind, m.group(0))
            for m in needle.pattern.finditer(text)
            if needle.check is None or anonymisation.nhs_mod11(m.group(0))
        ]
    return found


@pytest.mark.parametrize(
    "number, valid",
    [
        ("943 476 5919", True),
        ("9434765919", True),
        ("943-476-5919", True),
        ("943 476 5918", False),
        ("123 456 7890", False),
        ("12345", False),
    ],
)
def test_nhs_numbers_are_reported_only_when_their_check_digit_is_right(number: str, valid: bool) -> None:
    assert anonymisation.nhs_mod11(number) is valid
    assert (("nhs_number", number) in _kinds(f"NHS {number}.")) is valid


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ring 029 2034 5678 today", ("uk_phone_number", "029 2034 5678")),
        ("mobile +44 7700 900123", ("uk_phone_number", "+44 7700 900123")),
        ("lived at CF10 1AA", ("postcode", "CF10 1AA")),
        ("near SA1 8PP.", ("postcode", "SA1 8PP")),
        ("DOB: 05/03/2019", ("date_of_birth", "DOB: 05/03/2019")),
    ],
)
def test_patterns_find_phone_numbers_postcodes_and_dates_of_birth(text: str, expected: tuple[str, str]) -> None:
    assert expected in _kinds(text)


def test_a_recorded_date_of_birth_is_found_however_it_is_written() -> None:
    written = [
        "2019-03-05",
        "5/3/2019",
        "05.03.19",
        "5 March 2019",
        "5th of March 2019",
        "March 5th, 2019",
        "5 Mar 2019",
    ]
    for text in written:
        assert _kinds(f"on {text} she", dates={"dob": "2019-03-05"})[:1] == [("dob", text)], text
    assert _kinds("on 15/3/2019", dates={"dob": "2019-03-05"}) == []


def test_names_are_found_whole_and_by_their_parts_but_not_inside_other_words() -> None:
    found = _kinds("Jamie-Lee Pritchard met Jamie; Pritchards Ltd; jamieson", identifiers={"child": "Jamie Pritchard"})
    assert found == [("child", "Jamie"), ("child", "Jamie"), ("child", "Pritchard")]  # not Pritchards, jamieson
    found = _kinds("Jamie Pritchard was seen", identifiers={"child": ["Jamie Pritchard"], "school": "Heol Road"})
    assert ("child", "Jamie Pritchard") in found


def test_reconciling_keeps_justified_findings_and_resolves_what_is_gone() -> None:
    hit = {"kind": "school", "text": "Ysgol Llanfair", "slot": "final_report", "document_id": 1, "version": 1}
    first = anonymisation.reconcile([], [hit], [], actor="a", today="2026-01-01")
    assert [(f["id"], f["status"]) for f in first] == [("F1", "open")]
    justified = anonymisation.reconcile(
        first, [hit], [{"finding_id": "F1", "reason": "public body"}], actor="b", today="2026-01-02"
    )
    assert (justified[0]["status"], justified[0]["decided_by"]) == ("justified", "b")
    again = anonymisation.reconcile(justified, [dict(hit, version=2)], [], actor="c", today="2026-01-03")
    assert [(f["id"], f["status"]) for f in again] == [("F1", "justified")]  # not reported again
    other = dict(hit, kind="child", text="Jamie")
    opened = anonymisation.reconcile(again, [other], [], actor="c", today="2026-01-03")
    gone = anonymisation.reconcile(opened, [], [], actor="d", today="2026-01-04")
    assert [(f["id"], f["status"]) for f in gone] == [("F1", "justified"), ("F2", "resolved")]


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("(a+)+$", "backtracks catastrophically"),
        ("(z|z)+y", "backtracks catastrophically"),  # blows up only on runs of its own letter
        ("(\\d+)*\\D{2}\\d", "backtracks catastrophically"),
        ("(unclosed", "does not compile"),
        ("a*", "matches empty text"),
    ],
)
def test_deploy_refuses_a_pattern_that_could_not_run_safely(db, pattern: str, message: str) -> None:
    rules = json.loads(RULES)
    rules["patterns"].append({"id": "owners_pattern", "label": "Owner's pattern", "pattern": pattern})
    diagrams = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")
    diagrams.files[anonymisation.RULES_FILE] = json.dumps(rules).encode()
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, diagrams, actor="owner", now=T0)
    assert [p.file for p in refused.value.problems] == ["processes/anonymisation.json"]
    assert "owners_pattern" in str(refused.value) and message in str(refused.value)
    assert services.list_versions(db) == []


def test_deploy_refuses_an_upload_field_with_an_unusable_slot(db) -> None:
    diagrams = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")
    name = "forms/submit_final_report.schema.json"
    diagrams.files[name] = diagrams.files[name].replace(b'"slot": "final_report"', b'"slot": "Final Report!"')
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, diagrams, actor="owner", now=T0)
    assert [(p.file, "final_report_ref" in p.message) for p in refused.value.problems] == [(name, True)]


def test_deploy_refuses_more_patterns_than_the_check_may_search(db) -> None:
    rules = json.loads(RULES)
    rules["patterns"] = [
        {"id": f"word_{n}", "label": f"Word {n}", "pattern": f"\\bword{n}\\b"}
        for n in range(anonymisation.MAX_PATTERNS + 1)
    ]
    diagrams = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")
    diagrams.files[anonymisation.RULES_FILE] = json.dumps(rules).encode()

    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, diagrams, actor="owner", now=T0)

    assert [p.message.split(":")[0] for p in refused.value.problems] == ["/patterns"]
    assert "is too long" in str(refused.value)


def test_the_deploy_check_of_many_backtracking_patterns_stops_at_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "DEPLOY_PROBE_SECONDS", 0.6)
    rules = json.loads(RULES)
    rules["patterns"] = [
        {"id": f"slow_{n}", "label": f"Slow {n}", "pattern": f"({c}|{c})+y"} for n, c in enumerate("bcdefghijk")
    ]

    parsed, problems = anonymisation.parse_rules(json.dumps(rules).encode())

    assert parsed is None
    assert len(problems) == 10  # every pattern refused: the first few as backtracking...
    assert "backtracks catastrophically" in problems[0].message
    assert "time for checking patterns ran out" in problems[-1].message  # ...the rest unchecked
