"""The findings repository: filing through the operator, full-text and theme search on SQLite FTS5
and PostgreSQL, trends, recurring themes, the anonymised export, the taxonomy's deploy check."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from cprflow import services
from cprflow.core import operators
from cprflow.core.errors import DeployRefused, InvalidData
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.features import findings
from tests.conftest import ROOT, T0
from tests.scenarios import cpr

REAL = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")

#: (board, year, review type, themes, findings, recommendations, actions) of the reviews filed.
REVIEWS = [
    (
        "Gwent",
        2025,
        "concise",
        ["information_sharing", "neglect"],
        ["Health visitors did not share concerns about the home with social care."],
        ["Share concerns the same day."],
        ["Issue a protocol on sharing referrals"],
    ),
    (
        "Cwm Taf Morgannwg",
        2025,
        "extended",
        ["information_sharing", "voice_of_the_child"],
        ["The child's wishes were never recorded.", "Police and school shared information late."],
        [],
        [],
    ),
    (
        "North Wales",
        2025,
        "susr",
        ["information_sharing", "domestic_abuse"],
        ["Coercive control was not recognised by practitioners."],
        ["Train staff on coercive control."],
        [],
    ),
    (
        "Gwent",
        2026,
        "susr",
        ["supervision"],
        ["Supervision did not challenge drift."],
        [],
        ["Audit supervision records"],
    ),
]
NAMES = ["CPR-2026-017", "SUSR-2026-004", "rev.lewis", "R. Lewis", "bu.officer"]


def file(db: Database, instance_id: int, review: tuple[Any, ...], actor: str = "bu.officer") -> Any:
    board, year, kind, themes, found, recommended, actions = review
    with db.transaction() as session, operators.step(session, instance_id, actor, T0) as step:
        answer = operators.call(
            "file_findings",
            {
                "board": board,
                "year": f"{year}-04-15",
                "review_type": kind,
                "themes": themes,
                "findings": found,
                "recommendations": recommended,
                "actions": actions,
            },
        )
        step.apply(instance_id)
    return answer


@pytest.fixture
def filed(any_db: Database) -> Database:
    """The real diagram set deployed and the four reviews filed against four instances."""
    services.deploy(any_db, REAL, actor="owner", now=T0)
    for review in REVIEWS:
        instance = services.start_instance(
            any_db,
            cpr.FORUM,
            {**cpr.start_data(process_id=cpr.FORUM), "case_reference": NAMES[0]},
            actor="bu.officer",
            now=T0,
        )
        file(any_db, instance.id, review)
    return any_db


def search(db: Database, **query: Any) -> list[tuple[str, int]]:
    with db.transaction(write=False) as session:
        _, found = findings.search(session, findings.Query(**query))
    return [(f.board, f.year) for f in found]


def test_full_text_search_stems_and_needs_every_word(filed: Database) -> None:
    assert search(filed, text="sharing") == [("Cwm Taf Morgannwg", 2025), ("Gwent", 2025)]  # "share", "shared"
    assert search(filed, text="coercive control") == [("North Wales", 2025)]
    assert search(filed, text="coercive supervision") == []
    assert search(filed, text="referrals") == [("Gwent", 2025)]  # actions are searched too
    assert search(filed, text='" OR * NEAR(') == []  # search syntax is only words here: no error, no match
    assert search(filed, text='"*(') == search(filed)  # no words at all: no text filter
    assert search(filed, text="nothingmatches") == []


def test_matched_items_are_marked(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        _, [hit] = findings.search(session, findings.Query(text="wishes"))
    assert [(i["kind"], i["matched"]) for i in hit.items] == [("finding", True), ("finding", False)]


def test_theme_and_facet_search(filed: Database) -> None:
    assert search(filed, themes=("information_sharing",)) == [
        ("Cwm Taf Morgannwg", 2025),
        ("Gwent", 2025),
        ("North Wales", 2025),
    ]
    assert search(filed, themes=("information_sharing", "domestic_abuse")) == [("North Wales", 2025)]
    assert search(filed, board="Gwent") == [("Gwent", 2026), ("Gwent", 2025)]
    assert search(filed, year=2026) == [("Gwent", 2026)]
    assert search(filed, review_type="susr", text="control") == [("North Wales", 2025)]


def test_a_second_approval_replaces_the_filing(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        _, before = findings.search(session, findings.Query(board="North Wales"))
    file(filed, before[0].instance_id, ("North Wales", 2025, "susr", ["escalation"], ["Escalation was slow."], [], []))
    assert search(filed, text="coercive") == []
    assert search(filed, themes=("escalation",)) == [("North Wales", 2025)]
    assert len(search(filed)) == len(REVIEWS)


def test_trends_by_theme_board_and_year(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        trends = findings.trends(session, findings.Query())
        in_2025 = findings.trends(session, findings.Query(year=2025))
    assert trends["theme"][0] == ("information_sharing", 3)
    assert dict(trends["theme"]) == {
        "information_sharing": 3,
        "neglect": 1,
        "voice_of_the_child": 1,
        "domestic_abuse": 1,
        "supervision": 1,
    }
    assert trends["board"] == [("Gwent", 2), ("Cwm Taf Morgannwg", 1), ("North Wales", 1)]
    assert trends["year"] == [(2025, 3), (2026, 1)]
    assert dict(in_2025["theme"]).get("supervision") is None


def test_recurring_themes_follow_the_taxonomys_rule(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        taxonomy = findings.taxonomy_of(session)
        assert (taxonomy.min_reviews, taxonomy.min_boards) == (3, 2)  # processes/themes.json
        found = findings.recurring(session, taxonomy)
        looser = findings.recurring(session, findings.Taxonomy(taxonomy.themes, 1, 1), year=2026)
        stricter = findings.recurring(session, findings.Taxonomy(taxonomy.themes, 3, 4))
    assert found == [findings.Recurring("information_sharing", 2025, 3, ("Cwm Taf Morgannwg", "Gwent", "North Wales"))]
    assert [(r.theme, r.year) for r in looser] == [("supervision", 2026)]
    assert stricter == []


def test_the_export_holds_no_names_and_no_ids(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        rows = findings.export_rows(session)
        _, everything = findings.search(session, findings.Query())
    assert [set(r) for r in rows] == [
        {"board", "year", "review_type", "themes", "findings", "recommendations", "actions"}
    ] * 4
    assert rows[0] == {
        "board": "Cwm Taf Morgannwg",
        "year": 2025,
        "review_type": "extended",
        "themes": ["information_sharing", "voice_of_the_child"],
        "findings": ["The child's wishes were never recorded.", "Police and school shared information late."],
        "recommendations": [],
        "actions": [],
    }
    text = json.dumps(rows) + findings.export_csv(rows)
    for name in NAMES:
        assert name not in text
    for filing in everything:  # neither the instance nor the filing is identifiable
        assert f'"{filing.instance_id}"' not in text and f'"{filing.id}"' not in text
        assert all(not isinstance(v, int) or k == "year" for r in rows for k, v in r.items())
    lines = list(csv.reader(io.StringIO(findings.export_csv(rows))))
    assert lines[0] == list(findings.CSV_COLUMNS)
    assert len(lines) == 1 + sum(len(r["findings"]) + len(r["recommendations"]) + len(r["actions"]) for r in rows)
    assert [
        "Gwent",
        "2025",
        "concise",
        "information_sharing;neglect",
        "action",
        "Issue a protocol on sharing referrals",
    ] in lines


def test_a_csv_cell_is_never_a_formula() -> None:
    rows = [
        {
            "board": "=HYPERLINK(1)",
            "year": 2025,
            "review_type": "susr",
            "themes": [],
            "findings": ["+1", "@x"],
            "recommendations": [],
            "actions": [],
        }
    ]
    lines = list(csv.reader(io.StringIO(findings.export_csv(rows))))
    assert [line[0] for line in lines[1:]] == ["'=HYPERLINK(1)"] * 2 and [line[5] for line in lines[1:]] == [
        "'+1",
        "'@x",
    ]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"themes": ["gossip"]}, "not themes of processes/themes.json: gossip"),
        ({"themes": []}, "'themes' must be a non-empty list"),
        ({"year": "last year"}, "'year' must be a year or a date"),
        ({"findings": "one text"}, "'findings' must be a list of texts"),
        ({"findings": [" "], "recommendations": [], "actions": []}, "nothing to file"),
        ({"board": ""}, "'board' must be a short text"),
    ],
)
def test_the_operator_refuses_what_it_cannot_file(db: Database, params: dict[str, Any], message: str) -> None:
    services.deploy(db, REAL, actor="owner", now=T0)
    instance = services.start_instance(db, cpr.FORUM, cpr.start_data(process_id=cpr.FORUM), actor="bu", now=T0)
    good = {"board": "Gwent", "year": 2026, "review_type": "susr", "themes": ["neglect"], "findings": ["A finding."]}
    with pytest.raises(operators.OperatorFailed, match=message):
        with db.transaction() as session, operators.step(session, instance.id, "bu", T0) as step:
            operators.call("file_findings", {**good, **params})
            step.apply(instance.id)
    assert search(db) == []


def test_a_query_with_an_unknown_theme_is_refused(filed: Database) -> None:
    with filed.transaction(write=False) as session:
        taxonomy = findings.taxonomy_of(session)
    with pytest.raises(InvalidData) as refused:
        findings.parse_query({"theme": ["gossip"]}, taxonomy)
    assert refused.value.fields == {"/theme": ["not a theme: gossip"]}
    with pytest.raises(InvalidData) as refused:
        findings.parse_query({"year": "20x6"}, taxonomy)
    assert "/year" in refused.value.fields


# ---------------------------------------------------------------------------------------------
# The taxonomy is data, checked at deploy


def _with(edit: dict[str, bytes]) -> diagram_set.DiagramSet:
    return diagram_set.DiagramSet({**REAL.files, **edit})


@pytest.mark.parametrize(
    "edit, problem",
    [
        (
            {findings.THEMES_FILE: b'{"themes": [], "recurring": {"min_reviews": 3, "min_boards": 2}}'},
            "/themes: [] should be non-empty",
        ),
        (
            {
                findings.THEMES_FILE: b'{"themes": [{"id": "a", "label": "A", "label_cy": "A"}, {"id": "a", "label": "B", "label_cy": "B"}],'
                b' "recurring": {"min_reviews": 3, "min_boards": 2}}'
            },
            "'a' is listed twice",
        ),
        (
            {
                findings.THEMES_FILE: b'{"themes": [{"id": "a", "label": "A"}], "recurring": {"min_reviews": 3, "min_boards": 2}}'
            },
            "'label_cy' is a required property",
        ),
        ({findings.THEMES_FILE: b"not json"}, "not valid JSON"),
    ],
)
def test_deploy_refuses_a_broken_taxonomy(db: Database, edit: dict[str, bytes], problem: str) -> None:
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, _with(edit), actor="owner", now=T0)
    assert any(p.file == findings.THEMES_FILE and problem in p.message for p in refused.value.problems), (
        refused.value.problems
    )


def test_deploy_refuses_a_form_whose_themes_differ_from_the_taxonomy(db: Database) -> None:
    document = json.loads(REAL.files[findings.THEMES_FILE])
    document["themes"].append({"id": "housing", "label": "Housing", "label_cy": "Tai"})
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, _with({findings.THEMES_FILE: json.dumps(document).encode()}), actor="owner", now=T0)
    assert sorted(p.file for p in refused.value.problems if "/review_themes/items/enum" in p.message) == [
        "forms/board_consideration.schema.json",
        "forms/susr_sign_off.schema.json",
    ]
    without = {n: c for n, c in REAL.files.items() if n != findings.THEMES_FILE}
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, diagram_set.DiagramSet(without), actor="owner", now=T0)
    assert any("has no processes/themes.json" in p.message for p in refused.value.problems)


def test_the_taxonomy_deploys_with_the_set_and_is_bilingual(db: Database) -> None:
    services.deploy(db, REAL, actor="owner", now=T0)
    with db.transaction(write=False) as session:
        taxonomy = findings.taxonomy_of(session)
    assert taxonomy.ids == [
        "information_sharing",
        "voice_of_the_child",
        "professional_curiosity",
        "neglect",
        "domestic_abuse",
        "parental_mental_health_substance_use",
        "supervision",
        "record_keeping",
        "escalation",
    ]
    assert taxonomy.name("voice_of_the_child", "cy") == "Llais y plentyn"


def test_charts_escape_every_label() -> None:
    svg = str(findings.bar_chart("<b>Title</b>", [("<script>alert(1)</script>", 3), ("Gwent & Powys", 0)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;Title" in svg and "Gwent &amp; Powys" in svg
    assert svg.count("<rect") == 2 and svg.startswith("<svg")


def test_a_long_theme_name_starts_inside_the_chart() -> None:
    """Labels used to be right-aligned to a 260 px column, so a long name ran off the left edge
    ("Parental mental health and substance use" lost its first words); each now starts at the edge
    on a line of its own above its bar."""
    long_name = "Iechyd meddwl rhieni a chamddefnyddio sylweddau gan rieni"
    svg = str(findings.bar_chart("Themes", [(long_name, 4), ("Short", 1)]))
    label = re.search(r'<text x="(\d+)" y="(\d+)"[^>]*>' + re.escape(long_name) + "<", svg)
    bar = re.search(r'<rect x="(\d+)" y="(\d+)"', svg)
    assert label and bar
    assert "text-anchor" not in svg and label.group(1) == "0"
    assert int(label.group(2)) < int(bar.group(2))  # above its bar, not beside it
    # its count beside it, not at the far end of the bar, where a phone has to scroll to see it
    assert f'{long_name}<tspan font-weight="bold">: 4</tspan>' in svg
