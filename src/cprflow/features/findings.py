"""The findings repository: the learning of approved reviews, filed under a theme taxonomy and found again.

A diagram files a review with the service task operator ``file_findings`` when its report is
approved (the diagram decides when, and passes the findings, recommendations, actions, themes,
Board, year and review type). The theme taxonomy is data a process owner edits,
``processes/themes.json``, deployed and versioned with the diagrams and checked at deploy; so is
the rule for recurring themes (a theme in at least ``min_reviews`` reviews across at least
``min_boards`` Boards in one year is suggested as a Multi-Agency Professional Forum topic).

Full-text search has one entry point, :func:`search`, over two indexes built by migration 0007:
FTS5 on SQLite, a tsvector column with a GIN index on PostgreSQL. Both stem English words (so
"share" finds "sharing") and both match every word given.

The anonymised export (:func:`export_rows`, :func:`export_csv`) carries Board, year, review type,
themes and the filed texts: no case id, no instance, no people.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator
from markupsafe import Markup, escape
from sqlalchemy import delete, func, insert, literal_column, select, text
from sqlalchemy.orm import Session

from cprflow.core import access, operators
from cprflow.core import forms as forms_
from cprflow.core.errors import Forbidden, InvalidData, Problem, Text
from cprflow.db.database import Database
from cprflow.db.models import FilingTheme, Instance, LearningItem, ProcessVersion, ReviewFiling
from cprflow.db.store import CURRENT_FIRST, current_version_id, deployed_version, record_event

THEMES_FILE = "processes/themes.json"
#: A form property marked ``"x-taxonomy": "themes"`` must offer exactly the taxonomy's themes.
FORM_MARK = "x-taxonomy"
KINDS = ("finding", "recommendation", "action")
MAX_TEXT = 20_000
#: Schema objects of the search index that migration 0007 makes outside the models.
SEARCH_OBJECTS = frozenset(
    {
        "learning_items_fts",
        "learning_items_fts_data",
        "learning_items_fts_idx",
        "learning_items_fts_docsize",
        "learning_items_fts_config",
        "learning_items_fts_content",
        "search_vector",
        "ix_learning_items_search",
    }
)

TAXONOMY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["themes", "recurring"],
    "properties": {
        "themes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "label", "label_cy"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,99}$"},
                    "label": {"type": "string", "minLength": 1},
                    "label_cy": {"type": "string", "minLength": 1},
                },
            },
        },
        "recurring": {
            "type": "object",
            "additionalProperties": False,
            "required": ["min_reviews", "min_boards"],
            "properties": {
                "min_reviews": {"type": "integer", "minimum": 1},
                "min_boards": {"type": "integer", "minimum": 1},
            },
        },
    },
}


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    label_cy: str

    def name(self, language: str = "en") -> str:
        return self.label_cy if language == "cy" else self.label


@dataclass(frozen=True)
class Taxonomy:
    themes: tuple[Theme, ...]
    min_reviews: int
    min_boards: int

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def name(self, theme_id: str, language: str = "en") -> str:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme.name(language)
        return theme_id  # a theme filed under an older taxonomy keeps its id as its name


EMPTY = Taxonomy((), 1, 1)


def parse_taxonomy(document: Any) -> tuple[Taxonomy | None, list[str]]:
    """The taxonomy, or the problems with it (JSON pointer: message)."""
    problems = [
        f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in Draft202012Validator(TAXONOMY_SCHEMA).iter_errors(document)
    ]
    if problems:
        return None, problems
    ids = [t["id"] for t in document["themes"]]
    problems = [f"/themes: '{i}' is listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        return None, problems
    themes = tuple(Theme(t["id"], t["label"], t["label_cy"]) for t in document["themes"])
    return Taxonomy(themes, document["recurring"]["min_reviews"], document["recurring"]["min_boards"]), []


# ---------------------------------------------------------------------------------------------
# Deploy check


def check_set(files: dict[str, bytes], forms: dict[str, Any]) -> list[Problem]:
    """The taxonomy parses, and every form field marked as taxonomy offers exactly its themes."""
    marked = [
        (name, pointer, node)
        for name, form in forms.items()
        for pointer, node in forms_.marked(form, FORM_MARK, "themes")
    ]
    content = files.get(THEMES_FILE)
    if content is None:
        return [
            Problem(
                f"forms/{name}",
                Text("%(field)s takes themes, but the set has no %(file)s", field=pointer, file=THEMES_FILE),
            )
            for name, pointer, _ in marked
        ]
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        return [Problem(THEMES_FILE, Text("not valid JSON: %(detail)s", detail=str(err)))]
    taxonomy, problems = parse_taxonomy(document)
    if taxonomy is None:
        return [Problem(THEMES_FILE, p) for p in problems]
    found = []
    for name, pointer, node in marked:
        items = node.get("items") if node.get("type") == "array" else None
        if not isinstance(items, dict):
            found.append(
                Problem(
                    f"forms/{name}", Text("%(field)s takes themes, so it must be an array of choices", field=pointer)
                )
            )
            continue
        for key, expected in (
            ("enum", taxonomy.ids),
            ("x-enumNames", [t.label for t in taxonomy.themes]),
            ("x-enumNames-cy", [t.label_cy for t in taxonomy.themes]),
        ):
            if items.get(key) != expected:
                found.append(
                    Problem(
                        f"forms/{name}",
                        Text(
                            "%(field)s must list the themes of %(file)s in order: %(expected)s",
                            field=f"{pointer}/items/{key}",
                            file=THEMES_FILE,
                            expected=expected,
                        ),
                    )
                )
    return found


def taxonomy_of(session: Session, version_id: int | None = None) -> Taxonomy:
    """The taxonomy of a version, or of the newest version that has one; empty if none has."""
    query = select(ProcessVersion.files).order_by(*CURRENT_FIRST)
    if version_id is not None:
        query = query.where(ProcessVersion.id == version_id)
    for (files,) in session.execute(query):
        if THEMES_FILE in files:
            taxonomy, _ = parse_taxonomy(json.loads(files[THEMES_FILE]))
            return taxonomy or EMPTY
    return EMPTY


# ---------------------------------------------------------------------------------------------
# Filing: the operator a diagram's service task calls


def _texts(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise operators.OperatorFailed(f"file_findings: '{name}' must be a list of texts")
    texts = [v.strip() for v in value if v.strip()]
    if any(len(t) > MAX_TEXT for t in texts):
        raise operators.OperatorFailed(f"file_findings: a text in '{name}' is longer than {MAX_TEXT} characters")
    return texts


def _year(value: Any) -> int:
    if isinstance(value, (date, datetime)):
        return value.year
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}(-\d\d-\d\d.*)?", value):
        year = int(value[:4])
    else:
        raise operators.OperatorFailed(f"file_findings: 'year' must be a year or a date, not {value!r}")
    if not 1990 <= year <= 2200:
        raise operators.OperatorFailed(f"file_findings: year {year} is out of range")
    return year


@operators.register(
    "file_findings",
    required=("board", "year", "review_type", "themes", "findings"),
    optional=("recommendations", "actions"),
)
def file_findings(step: operators.StepContext, params: dict[str, Any]) -> Any:
    """File an approved review's learning in the findings repository (replacing an earlier filing)."""
    board, review_type = params["board"], params["review_type"]
    for name, value in (("board", board), ("review_type", review_type)):
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise operators.OperatorFailed(f"file_findings: '{name}' must be a short text")
    year = _year(params["year"])
    themes = params["themes"]
    if not isinstance(themes, list) or not themes or not all(isinstance(t, str) for t in themes):
        raise operators.OperatorFailed("file_findings: 'themes' must be a non-empty list of theme ids")
    version_id = None
    if step.instance_id is not None:
        version_id = step.session.scalar(select(Instance.version_id).where(Instance.id == step.instance_id))
    taxonomy = taxonomy_of(step.session, version_id)
    if not taxonomy.themes:  # a version from before the taxonomy: the newest one decides
        taxonomy = taxonomy_of(step.session)
    unknown = sorted(set(themes) - set(taxonomy.ids))
    if unknown:
        raise operators.OperatorFailed(f"file_findings: not themes of {THEMES_FILE}: {', '.join(unknown)}")
    items = [
        (kind, n, t)
        for kind, key in zip(KINDS, ("findings", "recommendations", "actions"), strict=True)
        for n, t in enumerate(_texts(key, params.get(key)))
    ]
    if not items:
        raise operators.OperatorFailed("file_findings: nothing to file: no finding, recommendation or action")
    themes = sorted(set(themes))

    def write(session: Session, instance_id: int) -> None:
        connection = session.connection()
        connection.execute(delete(ReviewFiling.__table__).where(ReviewFiling.instance_id == instance_id))
        filing_id = connection.execute(
            insert(ReviewFiling.__table__).returning(ReviewFiling.id),
            {
                "instance_id": instance_id,
                "board": board.strip(),
                "year": year,
                "review_type": review_type,
                "filed_at": step.now,
                "filed_by": step.actor,
            },
        ).scalar_one()
        connection.execute(insert(FilingTheme.__table__), [{"filing_id": filing_id, "theme": t} for t in themes])
        connection.execute(
            insert(LearningItem.__table__),
            [{"filing_id": filing_id, "kind": k, "position": n, "text": t} for k, n, t in items],
        )
        record_event(
            session,
            instance_id,
            "findings_filed",
            step.actor,
            step.now,
            {"filing_id": filing_id, "themes": themes, "items": len(items)},
        )

    step.defer(write)
    return {"filed_on": step.now.date().isoformat(), "themes": themes, "items": len(items)}


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class Filing:
    id: int
    instance_id: int
    board: str
    year: int
    review_type: str
    filed_at: datetime
    themes: list[str]
    items: list[dict[str, Any]] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    text: str = ""
    themes: tuple[str, ...] = ()
    board: str | None = None
    year: int | None = None
    review_type: str | None = None


def _words(query: str) -> list[str]:
    return re.findall(r"\w+", query)[:20]


def _matching(session: Session, query: str) -> Any:
    """A subquery of the ids of learning items holding every word of ``query`` (stemmed), on either
    backend; None when the query has no words. It stays in SQL: a common word may match thousands."""
    words = _words(query)
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return select(LearningItem.id).where(
            text("search_vector @@ plainto_tsquery('english', :q)").bindparams(q=" ".join(words))
        )
    phrase = " ".join('"' + w.replace('"', "") + '"' for w in words)
    return (
        select(literal_column("rowid"))
        .select_from(text("learning_items_fts"))
        .where(text("learning_items_fts MATCH :q").bindparams(q=phrase))
    )


def matching_items(session: Session, query: str) -> set[int]:
    """Ids of learning items containing every word of ``query`` (stemmed)."""
    found = _matching(session, query)
    return set() if found is None else {int(i) for i in session.scalars(found)}


def _filtered(query: Query) -> Any:
    statement = select(ReviewFiling)
    if query.board:
        statement = statement.where(ReviewFiling.board == query.board)
    if query.year is not None:
        statement = statement.where(ReviewFiling.year == query.year)
    if query.review_type:
        statement = statement.where(ReviewFiling.review_type == query.review_type)
    for theme in query.themes:
        statement = statement.where(
            ReviewFiling.id.in_(select(FilingTheme.filing_id).where(FilingTheme.theme == theme))
        )
    return statement


def search(session: Session, query: Query, *, limit: int = 50, offset: int = 0) -> tuple[int, list[Filing]]:
    """Filed reviews matching the text (every word) and all the given themes, newest year first."""
    statement = _filtered(query)
    matching = _matching(session, query.text)
    if matching is not None:
        statement = statement.where(
            ReviewFiling.id.in_(select(LearningItem.filing_id).where(LearningItem.id.in_(matching)))
        )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(ReviewFiling.year.desc(), ReviewFiling.board, ReviewFiling.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    matched: set[int] = set()
    if matching is not None and rows:
        matched = set(
            session.scalars(
                select(LearningItem.id).where(
                    LearningItem.filing_id.in_([r.id for r in rows]), LearningItem.id.in_(matching)
                )
            )
        )
    return total, _views(session, rows, matched)


def _views(session: Session, rows: Any, matched: set[int]) -> list[Filing]:
    ids = [r.id for r in rows]
    themes: dict[int, list[str]] = {i: [] for i in ids}
    items: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for filing_id, theme in session.execute(
            select(FilingTheme.filing_id, FilingTheme.theme)
            .where(FilingTheme.filing_id.in_(ids))
            .order_by(FilingTheme.theme)
        ):
            themes[filing_id].append(theme)
        order = {k: n for n, k in enumerate(KINDS)}
        found = session.execute(select(LearningItem).where(LearningItem.filing_id.in_(ids))).scalars().all()
        for item in sorted(found, key=lambda i: (order.get(i.kind, 9), i.position)):
            items[item.filing_id].append(
                {"id": item.id, "kind": item.kind, "text": item.text, "matched": item.id in matched}
            )
    return [
        Filing(
            r.id,
            r.instance_id,
            r.board,
            r.year,
            r.review_type,
            r.filed_at,
            themes[r.id],
            items[r.id],
            [i["id"] for i in items[r.id] if i["matched"]],
        )
        for r in rows
    ]


def facets(session: Session) -> dict[str, list[Any]]:
    """The Boards, years and review types filed so far (for the search form's choices)."""
    return {
        "boards": list(session.scalars(select(ReviewFiling.board).distinct().order_by(ReviewFiling.board))),
        "years": list(session.scalars(select(ReviewFiling.year).distinct().order_by(ReviewFiling.year))),
        "review_types": list(
            session.scalars(select(ReviewFiling.review_type).distinct().order_by(ReviewFiling.review_type))
        ),
    }


# ---------------------------------------------------------------------------------------------
# Trends and recurring themes


def trends(session: Session, query: Query) -> dict[str, list[tuple[Any, int]]]:
    """Reviews filed, counted by theme, by Board and by year, within the query's filters (text aside)."""
    filings = _filtered(
        Query(themes=query.themes, board=query.board, year=query.year, review_type=query.review_type)
    ).subquery()
    by_theme = session.execute(
        select(FilingTheme.theme, func.count(func.distinct(FilingTheme.filing_id)))
        .where(FilingTheme.filing_id.in_(select(filings.c.id)))
        .group_by(FilingTheme.theme)
        .order_by(func.count(func.distinct(FilingTheme.filing_id)).desc(), FilingTheme.theme)
    ).all()
    by_board = session.execute(
        select(filings.c.board, func.count()).group_by(filings.c.board).order_by(func.count().desc(), filings.c.board)
    ).all()
    by_year = session.execute(
        select(filings.c.year, func.count()).group_by(filings.c.year).order_by(filings.c.year)
    ).all()
    return {
        "theme": [(t, int(n)) for t, n in by_theme],
        "board": [(b, int(n)) for b, n in by_board],
        "year": [(y, int(n)) for y, n in by_year],
    }


@dataclass(frozen=True)
class Recurring:
    theme: str
    year: int
    reviews: int
    boards: tuple[str, ...]


def recurring(session: Session, taxonomy: Taxonomy, *, year: int | None = None) -> list[Recurring]:
    """Themes in at least ``min_reviews`` reviews across at least ``min_boards`` Boards in one year."""
    statement = select(FilingTheme.theme, ReviewFiling.year, ReviewFiling.board, ReviewFiling.id).join(
        ReviewFiling, ReviewFiling.id == FilingTheme.filing_id
    )
    if year is not None:
        statement = statement.where(ReviewFiling.year == year)
    groups: dict[tuple[str, int], tuple[set[int], set[str]]] = {}
    for theme, filed_year, board, filing_id in session.execute(statement):
        reviews, boards = groups.setdefault((theme, filed_year), (set(), set()))
        reviews.add(filing_id)
        boards.add(board)
    found = [
        Recurring(theme, filed_year, len(reviews), tuple(sorted(boards)))
        for (theme, filed_year), (reviews, boards) in groups.items()
        if len(reviews) >= taxonomy.min_reviews and len(boards) >= taxonomy.min_boards
    ]
    return sorted(found, key=lambda r: (-r.year, -r.reviews, r.theme))


# ---------------------------------------------------------------------------------------------
# The anonymised export for a national repository


def export_rows(session: Session, query: Query = Query()) -> list[dict[str, Any]]:
    """One record per filed review: Board, year, review type, themes and the texts. Nothing else."""
    _, filings = search(session, query, limit=1_000_000)
    rows = []
    for filing in sorted(filings, key=lambda f: (f.year, f.board, f.review_type, f.items and f.items[0]["text"] or "")):
        rows.append(
            {
                "board": filing.board,
                "year": filing.year,
                "review_type": filing.review_type,
                "themes": list(filing.themes),
                **{kind + "s": [i["text"] for i in filing.items if i["kind"] == kind] for kind in KINDS},
            }
        )
    return rows


CSV_COLUMNS = ("board", "year", "review_type", "themes", "kind", "text")


def _cell(value: Any) -> str:
    """A spreadsheet must not take a filed text for a formula."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV line per learning item, the review's Board, year, type and themes repeated on each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        for kind in KINDS:
            for item in row[kind + "s"]:
                writer.writerow(
                    [
                        _cell(v)
                        for v in (row["board"], row["year"], row["review_type"], ";".join(row["themes"]), kind, item)
                    ]
                )
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Charts: server-rendered SVG, every label escaped


def bar_chart(title: str, bars: list[tuple[str, int]], *, width: int = 640) -> Markup:
    """A horizontal bar chart as inline SVG; labels and title are escaped, never trusted.

    Each label sits on its own line above its bar, so a long theme name (or its longer Welsh) is
    never cut off at the edge, with its count beside it. Pages show it at its own size (a phone
    scrolls it sideways): scaled down to fit 375 px, its words were 7 px high."""
    row, top = 44, 30
    height = top + row * max(len(bars), 1) + 10
    largest = max((v for _, v in bars), default=0) or 1
    span = width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cpr-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" font-weight="bold" font-size="16">{escape(title)}</text>',
    ]
    for n, (label, value) in enumerate(bars):
        y = top + n * row
        bar = max(1, round(span * value / largest)) if value else 0
        # The count beside its label, where a phone shows it without scrolling to the bar's end.
        parts.append(
            f'<text x="0" y="{y + 16}" font-size="14">{escape(label)}'
            f'<tspan font-weight="bold">: {int(value)}</tspan></text>'
            f'<rect x="0" y="{y + 22}" width="{bar}" height="16" fill="#1d70b8"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------
# Use cases, one transaction each: who may read or export is the newest version's permissions.


def _permissions(session: Session) -> access.Permissions:
    newest = current_version_id(session)
    return deployed_version(session, newest).permissions if newest is not None else access.Permissions()


def _check(session: Session, actor: access.Actor, *, export: bool = False) -> Taxonomy:
    perms = _permissions(session)
    allowed = access.can_export_repository(actor, perms) if export else access.can_read_repository(actor, perms)
    if not allowed:
        raise Forbidden(
            "your roles may not " + ("export the findings repository" if export else "read the findings repository")
        )
    return taxonomy_of(session)


def may_export(db: Database, actor: access.Actor) -> bool:
    """Whether the person may take the anonymised export (pages offer the link only then)."""
    with db.transaction(write=False) as session:
        return access.can_export_repository(actor, _permissions(session))


def lookup(
    db: Database, actor: access.Actor, args: dict[str, Any], *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Search: the taxonomy, the matching filings and the choices the search form offers."""
    with db.transaction(write=False) as session:
        taxonomy = _check(session, actor)
        query = parse_query(args, taxonomy)
        total, found = search(session, query, limit=limit, offset=offset)
        return {"taxonomy": taxonomy, "query": query, "total": total, "results": found, "facets": facets(session)}


def trend_view(db: Database, actor: access.Actor, args: dict[str, Any]) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        taxonomy = _check(session, actor)
        query = parse_query(args, taxonomy)
        return {"taxonomy": taxonomy, "query": query, "trends": trends(session, query), "facets": facets(session)}


def recurring_view(db: Database, actor: access.Actor, year: int | None = None) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        taxonomy = _check(session, actor)
        return {"taxonomy": taxonomy, "recurring": recurring(session, taxonomy, year=year)}


def export(db: Database, actor: access.Actor, args: dict[str, Any], *, fmt: str, now: datetime) -> list[dict[str, Any]]:
    """The anonymised export; taking it is recorded (who, when, how many reviews, which format)."""
    with db.transaction() as session:
        taxonomy = _check(session, actor, export=True)
        rows = export_rows(session, parse_query(args, taxonomy))
        record_event(session, None, "findings_exported", actor.username, now, {"reviews": len(rows), "format": fmt})
        return rows


def parse_query(args: dict[str, Any], taxonomy: Taxonomy) -> Query:
    """A search query from request arguments, refusing unknown themes (error fields are query names)."""
    themes = tuple(args.get("theme") or ())
    unknown = [t for t in themes if t not in taxonomy.ids]
    if unknown:
        raise InvalidData("unknown theme", fields={"/theme": [f"not a theme: {', '.join(unknown)}"]})
    year = args.get("year")
    if year in ("", None):
        year = None
    elif isinstance(year, str):
        if not re.fullmatch(r"\d{4}", year):
            raise InvalidData("year must be four digits", fields={"/year": ["must be a year such as 2026"]})
        year = int(year)
    text_ = args.get("q") or ""
    if len(text_) > 500:
        raise InvalidData("search text too long", fields={"/q": ["at most 500 characters"]})
    return Query(
        text=text_,
        themes=themes,
        board=args.get("board") or None,
        year=year,
        review_type=args.get("review_type") or None,
    )
