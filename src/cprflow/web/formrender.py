"""Server-rendered, accessible form fields from a task's JSON Schema, and the submission back to JSON.

Every control posts under a name that is the JSON pointer of the value it edits, but a submission is
rebuilt by walking the *schema* and reading those pointers, never by trusting the names it carries: a
field the schema lacks (``typename`` included) cannot reach the data. Markup follows the GOV.UK design
system (error summary, hints, fieldsets around groups) and needs no JavaScript.

A property marked ``readOnly: true`` is shown, not edited: a labelled value (a table for a list of
records) with no control, and ``parse_submission`` never reads it, so a doctored post cannot change it.
The submission simply lacks it; completing a task merges top-level keys into the case, so the stored value
stays. (A read-only field *inside* an editable section or row is left out of that section as well.)
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from cprflow.web import dates

__all__ = ["add_row", "parse_submission", "render_answers", "render_facts", "render_form", "render_form_parts"]

_MAX_RADIOS = 12
_MAX_DEPTH = 16  # a schema that $refs itself would otherwise render spare rows for ever
_MISSING: Any = object()  # a blank field: its key is left out, so validation says "required" on its pointer
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RESERVED = "typename"  # see cprflow.core.forms.RESERVED_KEY
_MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "cy": "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr".split(),
}
_WORDS = {
    "en": {
        "problem": "There is a problem",
        "required": "(required)",
        "error": "Error:",
        "add": "Add another",
        "remove": "Remove",
        "item": "Item",
        "choose": "Select an option",
        "none": "Not provided",
        "yes": "Yes",
        "no": "No",
        "current": "Current file:",
        "version": "version",
        "day": "Day",
        "month": "Month",
        "year": "Year",
        "date_hint": "For example, 27 3 2026",
        "change": "Change",
    },
    "cy": {
        "problem": "Mae problem wedi codi",
        "required": "(gofynnol)",
        "error": "Gwall:",
        "add": "Ychwanegu un arall",
        "remove": "Dileu",
        "item": "Eitem",
        "choose": "Dewiswch opsiwn",
        "none": "Heb ei ddarparu",
        "yes": "Ie",
        "no": "Na",
        "current": "Ffeil bresennol:",
        "version": "fersiwn",
        "day": "Diwrnod",
        "month": "Mis",
        "year": "Blwyddyn",
        "date_hint": "Er enghraifft, 27 3 2026",
        "change": "Newid",
    },
}

# ---- pointers, ids and reading the schema ----------------------------------------------------------


def _child(pointer: str, key: Any) -> str:
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _segments(pointer: str) -> list[str]:
    if pointer in ("", "/"):  # cprflow.core.forms names the whole form "/"
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer")
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer[1:].split("/")]


def _index(seg: str | None) -> bool:
    return seg is not None and seg.isascii() and seg.isdigit() and len(seg) < 7  # int() of huge digit runs raises


def _field_id(pointer: str) -> str:
    # One id per pointer, safe in a URL fragment: '/' becomes '-', anything else odd becomes '.hex.'. Ids of
    # a field's parts add '.hint', '.error', '.remove', '.row' or '.N', which no pointer can produce.
    return "f" + "".join(
        "-" if c == "/" else c if c.isascii() and (c.isalnum() or c == "_") else f".{ord(c):x}." for c in pointer
    )


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s (task schemas are self-contained files); keywords beside ``$ref`` win."""
    for _ in range(_MAX_DEPTH):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node if isinstance(node, dict) else {}
        if not node["$ref"].startswith("#"):
            raise ValueError(f"only local $ref is supported, not {node['$ref']!r}")
        target: Any = root
        for seg in _segments(node["$ref"][1:]):
            target = target[int(seg)] if isinstance(target, list) else target[seg]
        node = {**(target if isinstance(target, dict) else {}), **{k: v for k, v in node.items() if k != "$ref"}}
    raise ValueError("$ref chain too long")


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):  # ["string", "null"]: a blank field already means "no value"
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        return kind
    return "object" if "properties" in node else "array" if "items" in node else "string"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _const_items(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("oneOf", "anyOf"):
        items = node.get(key)
        if isinstance(items, list) and items and all(isinstance(i, dict) and "const" in i for i in items):
            return items
    return None


def _has_choices(node: dict[str, Any]) -> bool:
    return isinstance(node.get("enum"), list) or _const_items(node) is not None


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _decode(node: dict[str, Any], raw: str) -> Any:
    # An unknown choice stays as sent, so validation reports it on its own pointer.
    values = node["enum"] if isinstance(node.get("enum"), list) else [i["const"] for i in _const_items(node) or []]
    return next((v for v in values if _encode(v) == raw), raw)


def _kind(node: dict[str, Any], ui: dict[str, Any], root: dict[str, Any]) -> str:
    widget, kind = ui.get("ui:widget"), _type(node)
    if node.get("readOnly") is True:
        return "readonly"
    if isinstance(node.get("x-document"), dict):
        return "document"
    if _has_choices(node):
        # GOV.UK radios for a choice, unless the form asks for a list or there are too many to read
        many = len(node.get("enum") or _const_items(node) or []) > _MAX_RADIOS
        return "select" if widget == "select" or (many and widget != "radio") else "radio"
    if kind == "array":
        return "checkboxes" if _has_choices(_resolve(node.get("items"), root)) else "rows"
    if kind in ("object", "boolean"):
        return kind
    if kind in ("integer", "number"):
        return "number"
    if node.get("format") == "date" and kind == "string":
        return "date"
    long_text = _number(node.get("maxLength")) and node["maxLength"] > 200
    return "textarea" if widget == "textarea" or node.get("format") == "textarea" or long_text else "text"


# ---- rendering -------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    root: dict[str, Any]
    lang: str
    words: dict[str, str]
    errors: dict[str, list[str]]
    fields: dict[str, tuple[str, Markup]] = field(default_factory=dict)  # pointer -> (id, row it is in), page order
    stored: Any = _MISSING  # where read-only fields take their values from, when not from the data drawn
    spare: bool = False  # inside the blank spare row: no `required`, or the browser would block every submit
    case: dict[str, Any] = field(default_factory=dict)  # the case's data, for x-value-cy
    row: Markup | None = None  # the row being drawn, so "Name: is required" in the summary says which row
    #: Where a stored document opens (document id -> URL), when the page can link to the case's files.
    document_href: Callable[[int], str] | None = None


@dataclass
class _Bits:
    """What every control needs: its kind, id, name, label, help, errors and ARIA wiring."""

    kind: str
    id: str
    name: str
    label: Markup
    required: bool
    hint: Markup
    error: Markup
    describedby: str

    def attrs(self, ctx: _Ctx) -> Markup:
        out = Markup(' aria-describedby="{}"').format(self.describedby) if self.describedby else Markup()
        out += Markup(' aria-invalid="true"') if self.error else Markup()
        return out + (Markup(' required aria-required="true"') if self.required and not ctx.spare else Markup())

    def group(self, *parts: Markup) -> Markup:
        cls = "govuk-form-group govuk-form-group--error" if self.error else "govuk-form-group"
        return Markup('<div class="{}">{}</div>').format(cls, Markup().join(parts))


def _pick(welsh: Any, english: str, ctx: _Ctx) -> tuple[str, Markup]:
    """The words to show, and ' lang="en"' when a Welsh page falls back to English (for screen readers)."""
    if ctx.lang == "cy" and isinstance(welsh, str) and welsh:
        return welsh, Markup()
    return english, Markup(' lang="en"') if ctx.lang == "cy" else Markup()


def _text(node: dict[str, Any], key: str, ctx: _Ctx) -> Markup | None:
    english = node.get(key)
    text, lang = _pick(node.get(f"x-{key}-cy"), english if isinstance(english, str) else "", ctx)
    return None if not text else Markup("<span{}>{}</span>").format(lang, text) if lang else escape(text)


def _nth(seq: Any, n: int) -> Any:
    return seq[n] if isinstance(seq, list) and n < len(seq) else None


def _choices(node: dict[str, Any], ctx: _Ctx) -> list[tuple[str, str, Markup]]:
    """(value as posted, label, lang attribute) for each choice: an <option> cannot hold a <span lang>."""
    items = _const_items(node)
    if items is not None:
        found = [(i["const"], i.get("x-title-cy"), i.get("title")) for i in items]
    else:
        names, welsh = node.get("x-enumNames"), node.get("x-enumNames-cy")
        found = [(v, _nth(welsh, n), _nth(names, n)) for n, v in enumerate(node["enum"]) if v is not None]
    # No English name: the value itself. A nullable enum's null is left to the blank option.
    return [(_encode(v), *_pick(cy, en if isinstance(en, str) and en else _encode(v), ctx)) for v, cy, en in found]


def _bits(kind: str, node: dict[str, Any], pointer: str, label: Markup, required: bool, ctx: _Ctx) -> _Bits:
    fid = _field_id(pointer)
    ctx.fields[pointer] = (fid, Markup(" ({})").format(ctx.row) if ctx.row else Markup())
    # A leaf owns the errors below it too ("/agencies/1" belongs to the checkbox group "/agencies").
    deep = kind not in ("object", "rows")
    messages = [m for p, ms in ctx.errors.items() if p == pointer or (deep and p.startswith(pointer + "/")) for m in ms]
    help_text, ids, hint, error = _text(node, "description", ctx), [], Markup(), Markup()
    if help_text:
        hint = Markup('<div class="govuk-hint" id="{}.hint">{}</div>').format(fid, help_text)
        ids.append(f"{fid}.hint")
    if messages:
        error = Markup(
            '<p class="govuk-error-message" id="{}.error"><span class="govuk-visually-hidden">{}</span> {}</p>'
        ).format(fid, ctx.words["error"], Markup("<br>").join(messages))
        ids.append(f"{fid}.error")
    return _Bits(kind, fid, pointer, label, required, hint, error, " ".join(ids))


def _mark(required: bool, ctx: _Ctx) -> Markup:
    return Markup(' <span class="cpr-required">{}</span>').format(ctx.words["required"]) if required else Markup()


def _fieldset(b: _Bits, ctx: _Ctx, body: Markup, *, own_id: bool, mark: bool = True) -> Markup:
    # Containers carry the field id themselves; option groups give it to their first option (GOV.UK).
    fid = Markup(' id="{}"').format(b.id) if own_id else Markup()
    desc = Markup(' aria-describedby="{}"').format(b.describedby) if b.describedby else Markup()
    legend = Markup('<legend class="govuk-fieldset__legend">{}{}</legend>').format(
        b.label, _mark(b.required and mark, ctx)
    )
    return b.group(
        Markup('<fieldset class="govuk-fieldset"{}{}>{}{}{}{}</fieldset>').format(
            fid, desc, legend, b.hint, b.error, body
        )
    )


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value) if _number(value) else ""


def _label(b: _Bits, ctx: _Ctx) -> Markup:
    return Markup('<label class="govuk-label" for="{}">{}{}</label>').format(b.id, b.label, _mark(b.required, ctx))


def _r_input(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    """Text, date, email and number boxes, and textareas: a label, help, errors, one control."""
    if b.kind == "textarea":
        # HTML parsers eat the newline straight after the tag; without this one a value's own would go.
        return b.group(
            _label(b, ctx),
            b.hint,
            b.error,
            Markup('<textarea class="govuk-textarea" id="{}" name="{}" rows="5"{}>\n{}</textarea>').format(
                b.id, b.name, b.attrs(ctx), _scalar(value)
            ),
        )
    if b.kind == "number":
        step = node.get("multipleOf") if _number(node.get("multipleOf")) else 1 if _type(node) == "integer" else "any"
        kind, extra = "number", {"step": step, "min": node.get("minimum"), "max": node.get("maximum")}
    else:
        kind = {"date": "date", "email": "email"}.get(node.get("format"), "text")
        extra = {"maxlength": node.get("maxLength")}
    more = Markup().join(Markup(' {}="{}"').format(k, v) for k, v in extra.items() if _number(v) or v == "any")
    return b.group(
        _label(b, ctx),
        b.hint,
        b.error,
        Markup('<input class="govuk-input" type="{}" id="{}" name="{}" value="{}"{}{}>').format(
            kind, b.id, b.name, _scalar(value), more, b.attrs(ctx)
        ),
    )


def _r_date(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    """GOV.UK date input: day, month and year boxes in a fieldset; the day box takes the field's id."""
    parts = zip(("day", "month", "year"), dates.parts(value), strict=True)
    bad = Markup(" govuk-input--error") if b.error else Markup()
    hint = b.hint or Markup('<div class="govuk-hint" id="{}.hint">{}</div>').format(b.id, ctx.words["date_hint"])
    describedby = b.describedby if b.hint else " ".join([f"{b.id}.hint", *b.describedby.split()])
    boxes = Markup().join(
        Markup(
            '<div class="govuk-date-input__item"><div class="govuk-form-group">'
            '<label class="govuk-label govuk-date-input__label" for="{0}">{1}</label>'
            '<input class="govuk-input govuk-date-input__input govuk-input--width-{2}{3}" id="{0}" name="{4}" '
            'type="text" inputmode="numeric" autocomplete="off" value="{5}"{6}></div></div>'
        ).format(
            b.id if part == "day" else f"{b.id}.{part}",
            ctx.words[part],
            4 if part == "year" else 2,
            bad,
            b.name,
            shown,
            Markup(' aria-invalid="true"') if b.error else Markup(),
        )
        for part, shown in parts
    )
    legend = Markup('<legend class="govuk-fieldset__legend">{}{}</legend>').format(b.label, _mark(b.required, ctx))
    return b.group(
        Markup(
            '<fieldset class="govuk-fieldset" role="group" aria-describedby="{}">{}{}{}'
            '<div class="govuk-date-input" id="{}.date">{}</div></fieldset>'
        ).format(describedby, legend, hint, b.error, b.id, boxes)
    )


def _r_select(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    choices, current = _choices(node, ctx), _encode(value) if value is not None else None
    # A blank option when optional, and also while unanswered: picking the first option must be a decision,
    # and a spare row must be able to post as blank.
    options = (
        []
        if b.required and current in {c for c, _, _ in choices}
        else [Markup('<option value="">{}</option>').format(ctx.words["choose"])]
    )
    options += [
        Markup('<option value="{}"{}{}>{}</option>').format(c, Markup(" selected") if c == current else "", lang, label)
        for c, label, lang in choices
    ]
    return b.group(
        _label(b, ctx),
        b.hint,
        b.error,
        Markup('<select class="govuk-select" id="{}" name="{}"{}>{}</select>').format(
            b.id, b.name, b.attrs(ctx), Markup().join(options)
        ),
    )


_OPTION = Markup(
    '<div class="govuk-{0}__item"><input class="govuk-{0}__input" type="{1}" id="{2}" name="{3}" '
    'value="{4}"{5}{6}><label class="govuk-label govuk-{0}__label" for="{2}"{7}>{8}</label></div>'
)


def _r_options(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    """Radios for one choice, checkboxes for a list of choices, in a fieldset whose legend is the label."""
    radio = b.kind == "radio"
    css, kind = ("radios", "radio") if radio else ("checkboxes", "checkbox")
    chosen = {_encode(v) for v in (value if isinstance(value, list) else [value]) if v is not None}
    # `required` on a checkbox would mean "tick this one", so only radios carry it.
    common = (Markup(' aria-invalid="true"') if b.error else Markup()) + (
        Markup(" required") if radio and b.required and not ctx.spare else Markup()
    )
    choices = _choices(node if radio else _resolve(node.get("items"), ctx.root), ctx)
    rows = [
        _OPTION.format(
            css,
            kind,
            b.id if n == 0 else f"{b.id}.{n + 1}",
            b.name,
            code,
            Markup(" checked") if code in chosen else "",
            common,
            lang,
            label,
        )
        for n, (code, label, lang) in enumerate(choices)
    ]
    return _fieldset(b, ctx, Markup('<div class="govuk-{}">{}</div>').format(css, Markup().join(rows)), own_id=False)


def _r_boolean(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    # The hidden "false" comes first: unticked posts just "false", ticked posts "false" then "true".
    # No `required`: unticked is an answer too, and `required` would force a tick.
    b.required = False
    return b.group(
        b.hint,
        b.error,
        Markup(
            '<div class="govuk-checkboxes__item"><input type="hidden" name="{1}" value="false">'
            '<input class="govuk-checkboxes__input" type="checkbox" id="{0}" name="{1}" value="true"{2}{3}>'
            '<label class="govuk-label govuk-checkboxes__label" for="{0}">{4}</label></div>'
        ).format(b.id, b.name, Markup(" checked") if value is True else "", b.attrs(ctx), b.label),
    )


def _r_object(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    body = _properties(node, ui, b.name, value if isinstance(value, dict) else {}, ctx)
    return _fieldset(b, ctx, body, own_id=True, mark=False)


def _r_rows(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    item, item_ui = _resolve(node.get("items"), ctx.root), ui.get("items") if isinstance(ui.get("items"), dict) else {}
    items = value if isinstance(value, list) else []
    noun = _text(item, "title", ctx) or escape(ctx.words["item"])
    rows = [_row(item, item_ui, b.name, n, v, noun, ctx) for n, v in enumerate(items)]
    was, ctx.spare = ctx.spare, True
    rows.append(_row(item, item_ui, b.name, len(items), None, noun, ctx))
    ctx.spare = was
    # formnovalidate: adding a row must not be blocked by required fields nobody has filled yet.
    add = Markup(
        '<button type="submit" class="govuk-button govuk-button--secondary" name="_add" value="{}" '
        "formnovalidate>{}</button>"
    ).format(b.name, ctx.words["add"])
    return _fieldset(b, ctx, Markup().join(rows) + add, own_id=True)


def _row(item: dict[str, Any], ui: dict[str, Any], pointer: str, n: int, value: Any, noun: Markup, ctx: _Ctx) -> Markup:
    rp, legend = _child(pointer, n), Markup("{} {}").format(noun, n + 1)
    rid, outer = _field_id(rp), ctx.row
    ctx.fields[rp] = (rid, Markup(" ({})").format(legend))
    if _type(item) == "object" and not _has_choices(item):
        ctx.row = legend
        body = _properties(item, ui, rp, value if isinstance(value, dict) else {}, ctx)
        ctx.row = outer
    else:  # the one control is labelled "Phone 2" and takes the row's id; a blank row is dropped, not refused
        untitled = {k: v for k, v in item.items() if k not in ("title", "x-title-cy")}
        body, rid = _field(untitled, ui, rp, legend, value, False, ctx), f"{rid}.row"
    remove = (
        Markup()
        if ctx.spare
        else Markup(  # nothing to remove in the spare row
            '<div class="govuk-checkboxes__item"><input class="govuk-checkboxes__input" type="checkbox" id="{0}.remove" '
            'name="_remove" value="{1}"><label class="govuk-label govuk-checkboxes__label" for="{0}.remove">{2} {3}</label>'
            "</div>"
        ).format(_field_id(rp), rp, ctx.words["remove"], legend)
    )
    return Markup(
        '<fieldset class="govuk-fieldset cpr-row" id="{}"><legend class="govuk-fieldset__legend">{}'
        "</legend>{}{}</fieldset>"
    ).format(rid, legend, body, remove)


def _show_choice(node: dict[str, Any], value: Any, ctx: _Ctx) -> Markup | None:
    code = _encode(value)
    for choice, label, lang in _choices(node, ctx):
        if choice == code:
            return Markup("<span{}>{}</span>").format(lang, label) if lang else escape(label)
    return None  # not one of the choices: shown as it is


def _show(node: Any, value: Any, ctx: _Ctx, depth: int = 0) -> Markup:
    """A value as words: choices by their names, yes/no, lists, records as a table, sections as a list."""
    node = _resolve(node, ctx.root)
    if depth > _MAX_DEPTH:
        raise ValueError(f"read-only value nests deeper than {_MAX_DEPTH} levels")
    if value is None or value == "" or value == [] or value == {}:
        return Markup('<span class="cpr-empty">{}</span>').format(ctx.words["none"])
    if isinstance(value, bool):
        return escape(ctx.words["yes" if value else "no"])
    if isinstance(node.get("x-document"), dict) and _document_ref(value):
        return _document_link(value, ctx)
    if _has_choices(node) and not isinstance(value, (list, dict)):
        shown = _show_choice(node, value, ctx)
        if shown is not None:
            return shown
    if isinstance(value, list):
        items = _resolve(node.get("items"), ctx.root)
        props = items.get("properties") if isinstance(items.get("properties"), dict) else {}
        if props and all(isinstance(v, dict) for v in value):
            return _show_table(props, value, ctx, depth)
        return Markup('<ul class="govuk-list govuk-list--bullet">{}</ul>').format(
            Markup().join(Markup("<li>{}</li>").format(_show(items, v, ctx, depth + 1)) for v in value)
        )
    if isinstance(value, dict):
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        keys = [k for k in props if k in value] + [k for k in value if k not in props and k != _RESERVED]
        return Markup('<dl class="govuk-summary-list">{}</dl>').format(
            Markup().join(
                Markup(
                    '<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{}</dt>'
                    '<dd class="govuk-summary-list__value">{}</dd></div>'
                ).format(_heading(props.get(k), k, ctx), _show(props.get(k), value[k], ctx, depth + 1))
                for k in keys
            )
        )
    if node.get("format") == "date" and isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return escape(f"{day.day} {_MONTHS[ctx.lang][day.month - 1]} {day.year}")
    text = _scalar(value) or json.dumps(value)
    return Markup("<br>").join(escape(line) for line in text.split("\n"))


def _document_ref(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("document_id"), int)


def _document_link(value: dict[str, Any], ctx: _Ctx) -> Markup:
    """A stored file by its name, opening it where the page can link to it, and its version."""
    name = escape(str(value.get("filename") or value["document_id"]))
    if ctx.document_href is not None:
        name = Markup('<a class="govuk-link" href="{}" download>{}</a>').format(
            ctx.document_href(value["document_id"]), name
        )
    return Markup("{} ({} {})").format(name, ctx.words["version"], value.get("version", ""))


def _heading(node: Any, key: str, ctx: _Ctx) -> Markup:
    return _text(_resolve(node, ctx.root), "title", ctx) or escape(key.replace("_", " ").capitalize())


def _show_table(props: dict[str, Any], rows: list[dict[str, Any]], ctx: _Ctx, depth: int) -> Markup:
    head = Markup().join(
        Markup('<th scope="col" class="govuk-table__header">{}</th>').format(_heading(v, k, ctx))
        for k, v in props.items()
    )
    body = Markup().join(
        Markup('<tr class="govuk-table__row">{}</tr>').format(
            Markup().join(
                Markup('<td class="govuk-table__cell">{}</td>').format(_show(v, row.get(k), ctx, depth + 1))
                for k, v in props.items()
            )
        )
        for row in rows
    )
    return Markup(
        '<table class="govuk-table"><thead class="govuk-table__head"><tr class="govuk-table__row">{}</tr>'
        '</thead><tbody class="govuk-table__body">{}</tbody></table>'
    ).format(head, body)


def _r_readonly(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    """Shown, not edited: the label and the value in a summary list, with no control and so nothing posted."""
    return b.group(
        Markup(
            '<dl class="govuk-summary-list cpr-readonly" id="{}"><div class="govuk-summary-list__row">'
            '<dt class="govuk-summary-list__key">{}</dt><dd class="govuk-summary-list__value">{}{}'
            '<div class="cpr-value">{}</div></dd></div></dl>'
        ).format(b.id, b.label, b.hint, b.error, _show(node, value, ctx))
    )


def _r_document(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    """A file input; the reference already held (if any) is shown and carried in a hidden field.

    The hidden field carries only a document id: the server accepts it only if it names a document
    of this case, and rebuilds the reference from the store (see ``cprflow.web.casefiles``)."""
    current = Markup()
    if _document_ref(value):
        current = Markup(
            '<p class="govuk-body cpr-current-document">{} <strong>{}</strong></p><input type="hidden" name="{}" value="{}">'
        ).format(ctx.words["current"], _document_link(value, ctx), b.name, value["document_id"])
    return b.group(
        _label(b, ctx),
        b.hint,
        b.error,
        current,
        Markup(
            '<input class="govuk-file-upload" type="file" id="{}" name="{}" accept=".pdf,.docx,.odt,application/pdf,'
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
            'application/vnd.oasis.opendocument.text"{}>'
        ).format(b.id, b.name, b.attrs(ctx)),
    )


_RENDER = {
    "readonly": _r_readonly,
    "document": _r_document,
    "text": _r_input,
    "date": _r_date,
    "textarea": _r_input,
    "number": _r_input,
    "select": _r_select,
    "radio": _r_options,
    "checkboxes": _r_options,
    "boolean": _r_boolean,
    "object": _r_object,
    "rows": _r_rows,
}


def _field(node: Any, ui: Any, pointer: str, fallback: Markup | str, value: Any, required: bool, ctx: _Ctx) -> Markup:
    if pointer.count("/") > _MAX_DEPTH:
        raise ValueError(f"form nests deeper than {_MAX_DEPTH} levels at {pointer}")
    node, ui = _resolve(node, ctx.root), ui if isinstance(ui, dict) else {}
    kind = _kind(node, ui, ctx.root)
    if kind == "readonly" and ctx.stored is not _MISSING:
        value = _at(ctx.stored, pointer)
    welsh_key = node.get("x-value-cy")
    if kind == "readonly" and ctx.lang == "cy" and isinstance(welsh_key, str) and ctx.case.get(welsh_key):
        value = ctx.case[welsh_key]
    b = _bits(kind, node, pointer, _text(node, "title", ctx) or escape(fallback), required, ctx)
    return _RENDER[kind](node, ui, b, value, ctx)


def _order(props: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    order = ui.get("ui:order")
    if not isinstance(order, list):
        return list(props)
    named = [k for k in order if k in props]
    rest = [k for k in props if k not in named]  # a field the UI schema forgot is still shown
    if "*" in order:  # as in react-jsonschema-form: '*' stands for every property not named
        cut = order.index("*")
        return [k for k in order[:cut] if k in props] + rest + [k for k in order[cut + 1 :] if k in props]
    return named + rest


def _properties(node: dict[str, Any], ui: dict[str, Any], pointer: str, value: dict[str, Any], ctx: _Ctx) -> Markup:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    required = set(node.get("required") or [])
    return Markup().join(
        _field(
            props[k], ui.get(k), _child(pointer, k), k.replace("_", " ").capitalize(), value.get(k), k in required, ctx
        )
        for k in _order(props, ui)
    )


def _summary(ctx: _Ctx) -> Markup:
    """GOV.UK error summary: every problem in page order, each linking to its field (or the nearest part shown).

    Messages name their field already ("Enter the child's reference"); one in a row of a list says which row."""
    place, items = {p: n for n, p in enumerate(ctx.fields)}, []
    for pointer, messages in ctx.errors.items():
        owner = pointer
        while owner and owner not in ctx.fields:
            owner = owner[: owner.rfind("/")]
        for message in messages:
            if owner:
                fid, row = ctx.fields[owner]
                items.append((place[owner], Markup('<li><a href="#{}">{}{}</a></li>').format(fid, message, row)))
            else:  # about the whole form, or a field the page does not show
                items.append((-1, Markup("<li>{}</li>").format(message)))
    if not items:
        return Markup()
    items.sort(key=lambda i: i[0])
    return Markup(
        '<div class="govuk-error-summary" data-module="govuk-error-summary" tabindex="-1" autofocus>'
        '<div role="alert"><h2 class="govuk-error-summary__title">{}</h2>'
        '<div class="govuk-error-summary__body"><ul class="govuk-list govuk-error-summary__list">{}</ul>'
        "</div></div></div>"
    ).format(ctx.words["problem"], Markup().join(i for _, i in items))


def _at(data: Any, pointer: str) -> Any:
    for seg in _segments(pointer):
        if isinstance(data, dict):
            data = data.get(seg)
        elif isinstance(data, list) and _index(seg) and int(seg) < len(data):
            data = data[int(seg)]
        else:
            return None
    return data


def render_form_parts(
    schema: dict[str, Any],
    ui_schema: dict[str, Any] | None,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    lang: str = "en",
    stored: dict[str, Any] | None = None,
    case: dict[str, Any] | None = None,
    document_href: Callable[[int], str] | None = None,
) -> tuple[Markup, Markup]:
    """The GOV.UK error summary (empty without errors), for the top of the page, and the form's fields
    (no <form>, CSRF token or buttons of their own).

    ``errors`` maps JSON pointers to messages, as ``InvalidData.fields`` does ("/" is the whole form).
    ``stored``, when given, is the data as the case holds it: read-only fields show their values from there.
    Pass it when ``data`` is a parsed submission, which never carries read-only values.
    ``case`` is the case's data: a read-only field whose schema names ``x-value-cy`` (a case data key, such
    as a decision table's Welsh explanation) shows that key's value on Welsh pages.
    ``document_href`` gives the address a stored document opens at: files a form holds are linked.
    """
    normalised = {("" if p == "/" else p): [m] if isinstance(m, str) else list(m) for p, m in (errors or {}).items()}
    lang = "cy" if lang.lower().startswith("cy") else "en"
    ctx = _Ctx(
        root=schema, lang=lang, words=_WORDS[lang], errors=normalised, stored=stored if stored is not None else _MISSING
    )
    ctx.case = case or {}
    ctx.document_href = document_href
    body = _properties(_resolve(schema, schema), ui_schema or {}, "", data if isinstance(data, dict) else {}, ctx)
    return _summary(ctx), body  # the summary is drawn last because it needs every field's id


def render_form(
    schema: dict[str, Any],
    ui_schema: dict[str, Any] | None,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    lang: str = "en",
    stored: dict[str, Any] | None = None,
    case: dict[str, Any] | None = None,
) -> Markup:
    """The error summary and the form's fields together (see ``render_form_parts``)."""
    summary, body = render_form_parts(schema, ui_schema, data, errors, lang, stored, case)
    return summary + body


def render_facts(
    title: str,
    title_cy: str | None,
    schema: dict[str, Any],
    values: dict[str, Any],
    lang: str = "en",
) -> Markup:
    """A GOV.UK summary card of earlier answers, each labelled and worded by the form that asked it."""
    lang = "cy" if lang.lower().startswith("cy") else "en"
    ctx = _Ctx(root=schema, lang=lang, words=_WORDS[lang], errors={})
    heading = _text({"title": title, "x-title-cy": title_cy}, "title", ctx) or Markup()
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    rows = Markup().join(
        Markup(
            '<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{}</dt>'
            '<dd class="govuk-summary-list__value">{}</dd></div>'
        ).format(_heading(node, key, ctx), _show(node, values.get(key), ctx))
        for key, node in props.items()
        if key in values
    )
    return Markup(
        '<div class="govuk-summary-card cpr-facts"><div class="govuk-summary-card__title-wrapper">'
        '<h2 class="govuk-summary-card__title">{}</h2></div><div class="govuk-summary-card__content">'
        '<dl class="govuk-summary-list">{}</dl></div></div>'
    ).format(heading, rows)


def render_answers(
    schema: dict[str, Any], ui_schema: dict[str, Any] | None, values: dict[str, Any], form_href: str, lang: str = "en"
) -> Markup:
    """Check your answers: the rows of a GOV.UK summary list, one per field of the form in its order,
    each worded by the form and with a "Change" link to its field on the form at ``form_href``."""
    lang = "cy" if lang.lower().startswith("cy") else "en"
    ctx = _Ctx(root=schema, lang=lang, words=_WORDS[lang], errors={})
    node = _resolve(schema, schema)
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    rows = []
    for key in _order(props, ui_schema or {}):
        heading = _heading(props[key], key, ctx)
        rows.append(
            Markup(
                '<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{}</dt>'
                '<dd class="govuk-summary-list__value">{}</dd><dd class="govuk-summary-list__actions">'
                '<a class="govuk-link" href="{}#{}">{}<span class="govuk-visually-hidden"> {}</span></a></dd></div>'
            ).format(
                heading,
                _show(props[key], values.get(key), ctx),
                form_href,
                _field_id(_child("", key)),
                ctx.words["change"],
                heading,
            )
        )
    return Markup().join(rows)


# ---- reading a submission --------------------------------------------------------------------------


@dataclass
class _Submission:
    root: dict[str, Any]
    values: dict[str, list[str]]
    removed: set[str]
    documents: Mapping[str, Any] = field(default_factory=dict)


def _is_blank(value: Any) -> bool:
    # An unticked box (False) counts as blank, so a spare row holding booleans is still a spare row.
    if value is _MISSING or value is None or value is False or value == "":
        return True
    if isinstance(value, (dict, list)):
        return all(_is_blank(v) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _p_scalar(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    raw = (sub.values.get(pointer) or [""])[0]
    if not raw.strip():
        return _MISSING
    if _has_choices(node):
        return _decode(node, raw)
    if _type(node) not in ("integer", "number"):
        return raw.replace("\r\n", "\n")  # browsers post textarea newlines as CRLF
    raw = raw.strip()
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw) and math.isfinite(number := float(raw)):
        return int(number) if _type(node) == "integer" and number.is_integer() else number
    return raw  # not a number: kept, so validation reports the wrong type on this field's pointer


def _p_date(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    """Day, month and year (posted in that order under the field's name) as an ISO date; one value is taken
    as an ISO date already. A date that does not exist is kept as typed, year-month-day, for validation to
    refuse on this field and for the boxes to show again."""
    posted = [v.strip() for v in sub.values.get(pointer, [])]
    if len(posted) != 3:
        return _p_scalar(node, pointer, required, sub)
    return dates.date_arg(posted) or _MISSING


def _p_boolean(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    posted = sub.values.get(pointer)
    return "true" in posted if posted else _MISSING


def _p_checkboxes(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    items = _resolve(node.get("items"), sub.root)
    chosen = [_decode(items, v) for v in sub.values.get(pointer, []) if v]
    return chosen if chosen or required else _MISSING


def _p_object(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    needed, out = set(node.get("required") or []), {}
    for key, child in props.items():
        value = _parse(child, _child(pointer, key), key in needed, sub)
        if value is not _MISSING:
            out[key] = value
    # A required section stays (even empty) so errors land on its fields; a skipped optional one goes.
    return _MISSING if not required and _is_blank(out) else out


def _p_rows(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    prefix = pointer + "/"
    segs = {key[len(prefix) :].split("/")[0] for key in sub.values if key.startswith(prefix)}
    rows = []
    for n in sorted(int(seg) for seg in segs if _index(seg)):
        if _child(pointer, n) not in sub.removed:
            value = _parse(node.get("items"), _child(pointer, n), True, sub)
            if not _is_blank(value):  # the spare row, or a row emptied, is not an item
                rows.append(value)
    return rows if rows or required else _MISSING


def _p_readonly(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    return _MISSING  # never read: whatever was posted under a read-only field's name is ignored


def _p_document(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    return sub.documents.get(pointer, _MISSING)  # what the page stored or vouched for; never the posted text


_PARSE = {
    "readonly": _p_readonly,
    "document": _p_document,
    "text": _p_scalar,
    "date": _p_date,
    "textarea": _p_scalar,
    "number": _p_scalar,
    "select": _p_scalar,
    "radio": _p_scalar,
    "checkboxes": _p_checkboxes,
    "boolean": _p_boolean,
    "object": _p_object,
    "rows": _p_rows,
}


def _parse(node: Any, pointer: str, required: bool, sub: _Submission) -> Any:
    if pointer.count("/") > _MAX_DEPTH:
        raise ValueError(f"form nests deeper than {_MAX_DEPTH} levels at {pointer}")
    node = _resolve(node, sub.root)
    return _PARSE[_kind(node, {}, sub.root)](node, pointer, required, sub)


def parse_submission(
    schema: dict[str, Any], form: Mapping[str, Any], documents: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Rebuild the task's data from a posted form (a werkzeug MultiDict, or a mapping of name -> list of strings).

    Only pointers the schema defines are read; blanks are left out; numbers that do not convert stay strings.
    Read-only fields are never read, so they are absent from the result whatever was posted.
    Document fields take their value from ``documents`` (pointer -> reference), never from the post.
    """
    getlist = getattr(form, "getlist", None)
    values = {}
    for key in form:
        raw = getlist(key) if getlist else form[key]
        values[key] = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)]
    sub = _Submission(schema, values, set(values.get("_remove", [])), documents or {})
    return _p_object(_resolve(schema, schema), "", True, sub)


def add_row(data: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of ``data`` with one more blank item in the list at ``pointer`` (the "Add another" button's value).

    Missing lists, and the next row of a list, are made on the way; ValueError if the pointer cannot name a list.
    """
    result, segs = copy.deepcopy(data), _segments(pointer)
    if not segs or _RESERVED in segs:
        raise ValueError(f"{pointer!r} cannot name a list of rows")
    target: Any = result
    for seg, after in zip(segs, [*segs[1:], None], strict=True):
        make: Any = [] if after is None or _index(after) else {}
        if isinstance(target, dict):
            target = target.setdefault(seg, make)
        elif isinstance(target, list) and _index(seg) and int(seg) <= len(target):
            if int(seg) == len(target):
                target.append(make)
            target = target[int(seg)]
        else:
            target = None
            break
    if isinstance(target, list):
        target.append({})
        return result
    raise ValueError(f"{pointer!r} does not name a list in the form data")
