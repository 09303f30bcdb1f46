"""Formal letters: PDFs made from templates beside the forms, kept as case documents.

A diagram asks for a letter with the ``letter`` operator at the point the review needs one (the
notification to Welsh Government, the submission of the final report)::

    <spiffworkflow:serviceTaskOperator id="letter" resultVariable="wg_notification_letter">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="template" type="str" value="'wg_notification'" />
        <spiffworkflow:parameter id="slot" type="str" value="'wg_notification_letter'" />
        <spiffworkflow:parameter id="fields" type="any" value="{'reference': child_reference}" />

The template is ``forms/<name>.letter.json``: for ``en`` and ``cy`` a ``title`` and ``paragraphs``
(Jinja2, sandboxed, StrictUndefined), given only the ``fields`` the diagram passes and ``date``.
A letter is bilingual (Welsh first, as Welsh public bodies write) unless ``language`` says ``en``
or ``cy``. It is rendered by WeasyPrint (HTML and CSS to PDF, Pango text shaping, DejaVu fonts with
every Welsh letter: ŵ, ŷ, â...) once the step is saved, and stored through ``documents.store`` as
the slot's next version, which records the event.
"""

from __future__ import annotations

import html
import json
import warnings
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow.core import operators, templates
from cprflow.core.errors import Problem, Text
from cprflow.db.models import Instance, ProcessVersion
from cprflow.features import documents
from cprflow.features.notifications import NS, literal_param

LETTER_SUFFIX = ".letter.json"
LANGUAGES = ("cy", "en")
_ENV = templates.BoundedEnvironment(autoescape=False)

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 25mm 22mm; @bottom-right {{ content: counter(page); font-size: 9pt; }} }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 11pt; line-height: 1.45; }}
h1 {{ font-size: 15pt; margin: 0 0 6mm; }} .date {{ text-align: right; margin-bottom: 8mm; }}
section + section {{ border-top: 0.4pt solid #888; margin-top: 10mm; padding-top: 8mm; }}
</style></head><body>{sections}</body></html>"""


def _section(texts: dict[str, Any], context: dict[str, Any], language: str) -> str:
    title = html.escape(templates.render(_ENV.from_string(texts["title"]), context))
    paragraphs = "".join(
        f"<p>{html.escape(templates.render(_ENV.from_string(p), context))}</p>" for p in texts["paragraphs"]
    )
    return f'<section lang="{language}"><div class="date">{html.escape(context["date"])}</div><h1>{title}</h1>{paragraphs}</section>'


def render_html(template: dict[str, Any], fields: dict[str, Any], language: str, when: datetime) -> str:
    context = {**fields, "date": when.date().isoformat()}
    languages = LANGUAGES if language == "both" else (language,)
    return _PAGE.format(sections="".join(_section(template[lang], context, lang) for lang in languages))


def render_pdf(template: dict[str, Any], fields: dict[str, Any], language: str, when: datetime) -> bytes:
    with warnings.catch_warnings():  # Debian's HarfBuzz lacks the subsetter this release only warns about
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML  # imported when a letter is made: it loads Pango and fonts

    return HTML(string=render_html(template, fields, language, when)).write_pdf()


def _template(session: Session, instance_id: int, name: str) -> dict[str, Any]:
    import json

    files = session.scalar(
        select(ProcessVersion.files)
        .join(Instance, Instance.version_id == ProcessVersion.id)
        .where(Instance.id == instance_id)
    )
    text = (files or {}).get(f"forms/{name}{LETTER_SUFFIX}")
    if text is None:
        raise operators.OperatorFailed(f"no letter template '{name}' (forms/{name}{LETTER_SUFFIX})")
    return json.loads(text)  # type: ignore[no-any-return]


@operators.register("letter", required=("template", "slot"), optional=("fields", "language", "filename"))
def letter_operator(step: operators.StepContext, params: dict[str, Any]) -> Any:
    """Make a PDF letter from a template and keep it as the next version of a case document slot."""
    name, slot = params["template"], params["slot"]
    fields = params.get("fields") or {}
    language = params.get("language") or "both"
    if not isinstance(fields, dict):
        raise operators.OperatorFailed("'letter' fields must be a mapping of names to values")
    if language not in ("both", *LANGUAGES):
        raise operators.OperatorFailed("'letter' language is 'both', 'en' or 'cy'")
    filename = params.get("filename") or f"{slot}.pdf"

    def write(session: Session, instance_id: int) -> None:
        template = _template(session, instance_id, name)
        try:
            data = render_pdf(template, fields, language, step.now)
        except TemplateError as err:
            raise operators.OperatorFailed(f"letter '{name}': {err}") from None
        documents.store(
            session,
            instance_id=instance_id,
            slot=slot,
            filename=filename,
            data=data,
            actor=step.actor,
            now=step.now,
            text_now=True,
        )

    step.defer(write)
    return {"template": name, "slot": slot}


def check(trees: dict[str, Any], forms: dict[str, Any]) -> list[Problem]:
    """Letter templates are well formed in both languages, and every one a diagram names exists."""
    found: list[Problem] = []
    names = {n.removesuffix(LETTER_SUFFIX) for n in forms if n.endswith(LETTER_SUFFIX)}
    for name in sorted(names):
        document = forms[f"{name}{LETTER_SUFFIX}"]
        for language in LANGUAGES:
            texts = document.get(language) if isinstance(document, dict) else None
            if (
                not isinstance(texts, dict)
                or not isinstance(texts.get("title"), str)
                or not isinstance(texts.get("paragraphs"), list)
                or not all(isinstance(p, str) for p in texts["paragraphs"])
            ):
                found.append(
                    Problem(
                        f"forms/{name}{LETTER_SUFFIX}",
                        Text("'%(language)s' needs a 'title' and a list of 'paragraphs'", language=language),
                    )
                )
                continue
            for source in [texts["title"], *texts["paragraphs"]]:
                try:
                    _ENV.parse(source)
                except TemplateError as err:
                    found.append(Problem(f"forms/{name}{LETTER_SUFFIX}", f"'{language}': {err}"))
    for file, root in trees.items():
        if not file.endswith(".bpmn"):
            continue
        for op in root.xpath(
            ".//bpmn:serviceTask/bpmn:extensionElements/spiffworkflow:serviceTaskOperator[@id='letter']", namespaces=NS
        ):
            params = {p.get("id"): p.get("value") for p in op.xpath(".//spiffworkflow:parameter", namespaces=NS)}
            template = literal_param(params.get("template"))
            if isinstance(template, str) and template not in names:
                found.append(
                    Problem(
                        file,
                        Text(
                            "letter template '%(name)s' not found (%(file)s)",
                            name=template,
                            file=f"forms/{template}{LETTER_SUFFIX}",
                        ),
                        op.getparent().getparent().get("id"),
                        op.sourceline,
                    )
                )
    return found


def slot_titles(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """The letters a set's diagrams file, by slot: what each is, in English and Welsh (its template's
    title up to the first colon, before the case's own words), for pages that list case documents."""
    found: dict[str, dict[str, str]] = {}
    for file, content in sorted(files.items()):
        if not file.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except etree.XMLSyntaxError:
            continue
        for op in root.xpath(
            ".//bpmn:serviceTask/bpmn:extensionElements/spiffworkflow:serviceTaskOperator[@id='letter']", namespaces=NS
        ):
            params = {p.get("id"): p.get("value") for p in op.xpath(".//spiffworkflow:parameter", namespaces=NS)}
            template, slot = literal_param(params.get("template")), literal_param(params.get("slot"))
            raw = files.get(f"forms/{template}{LETTER_SUFFIX}") if isinstance(template, str) else None
            if not isinstance(slot, str) or raw is None:
                continue
            try:
                document = json.loads(raw)
            except ValueError:
                continue
            titles = {
                language: document[language]["title"].split(":", 1)[0].strip()
                for language in LANGUAGES
                if isinstance(document.get(language), dict) and isinstance(document[language].get("title"), str)
            }
            found.setdefault(slot, titles)
    return found
