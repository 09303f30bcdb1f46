"""Server-rendered, accessible form fields from a task's JSON Schema, and the submission back to JSON.

Every control posts under a name that is the JSON pointer of the value it edits, but a submission is
rebuilt by walking the *schema* and reading those pointers, never by trusting the names it carries: a
field the schema lacks (``typename`` included) cannot reach the data. Markup follows the GOV.UK design
system (error summary, hints, fieldsets around groups) and needs no JavaScript.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

__all__ = ["add_row", "parse_submission", "render_form"]

_MAX_DEPTH = 16  # a schema that $refs itself would otherwise render spare rows for ever
_MISSING: Any = object()  # a blank field: its key is left out, so validation says "required" on its pointer
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RESERVED = "typename"  # see cprflow.forms.RESERVED_KEY

_WORDS = {
    "en": {"problem": "There is a problem", "required": "(required)", "error": "Error:", "add": "Add another",
           "remove": "Remove", "item": "Item", "choose": "Select an option"},
    "cy": {"problem": "Mae problem wedi codi", "required": "(gofynnol)", "error": "Gwall:", "add": "Ychwanegu un arall",
           "remove": "Dileu", "item": "Eitem", "choose": "Dewiswch opsiwn"},
}


# ---- pointers, ids and schema reading -------------------------------------------------------------

def _child(pointer: str, key: Any) -> str:
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _segments(pointer: str) -> list[str]:
    if pointer in ("", "/"):  # cprflow.forms names the whole form "/"
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer")
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer[1:].split("/")]


def _field_id(pointer: str) -> str:
    # One id per pointer, safe in a URL fragment: '/' becomes '-', anything else odd becomes '.hex.'. Ids of
    # a field's parts add '.hint', '.error', '.remove' or '.N', which no pointer can produce.
    return "f" + "".join("-" if c == "/" else c if c.isascii() and (c.isalnum() or c == "_") else f".{ord(c):x}."
                         for c in pointer)


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s (task schemas are self-contained files); siblings of ``$ref`` win."""
    for _ in range(_MAX_DEPTH):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node if isinstance(node, dict) else {}
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        target: Any = root
        for seg in _segments(ref[1:]):
            target = target[int(seg)] if isinstance(target, list) else target[seg]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    raise ValueError("$ref chain too long")


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):  # ["string", "null"]: a blank field already means "no value"
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        return kind
    return "object" if "properties" in node else "array" if "items" in node else "string"


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
    # Unknown choices stay as sent, so validation reports them on their own pointer.
    values = node["enum"] if isinstance(node.get("enum"), list) else [i["const"] for i in _const_items(node) or []]
    return next((v for v in values if _encode(v) == raw), raw)


def _kind(node: dict[str, Any], ui: dict[str, Any], root: dict[str, Any]) -> str:
    widget = ui.get("ui:widget")
    if _has_choices(node):
        return "radio" if widget == "radio" else "select"
    kind = _type(node)
    if kind == "array":
        return "checkboxes" if _has_choices(_resolve(node.get("items"), root)) else "rows"
    if kind in ("object", "boolean"):
        return kind
    if kind in ("integer", "number"):
        return "number"
    max_length = node.get("maxLength")
    if widget == "textarea" or node.get("format") == "textarea" or (isinstance(max_length, int) and max_length > 200):
        return "textarea"
    return "text"


# ---- rendering -----------------------------------------------------------------------------------

@dataclass
class _Ctx:
    root: dict[str, Any]
    lang: str
    errors: dict[str, list[str]]
    fields: dict[str, tuple[str, Markup]] = field(default_factory=dict)  # pointer -> (id, label), page order
    spare: bool = False  # inside the blank spare row: no `required`, or the browser would block every submit

    @property
    def words(self) -> dict[str, str]:
        return _WORDS[self.lang]


@dataclass
class _Bits:
    """What every control needs: its id, name, label, help, errors and ARIA wiring."""

    id: str
    name: str
    label: Markup
    required: bool
    hint: Markup
    error: Markup
    describedby: str

    def attrs(self, ctx: _Ctx, *, describe: bool = True) -> Markup:
        out = Markup(' aria-describedby="{}"').format(self.describedby) if describe and self.describedby else Markup()
        if self.error:
            out += Markup(' aria-invalid="true"')
        if self.required and not ctx.spare:
            out += Markup(' required aria-required="true"')
        return out

    def group(self, *parts: Markup) -> Markup:
        cls = "govuk-form-group govuk-form-group--error" if self.error else "govuk-form-group"
        return Markup('<div class="{}">{}</div>').format(cls, Markup().join(parts))


def _text(node: dict[str, Any], key: str, ctx: _Ctx) -> Markup | None:
    if ctx.lang == "cy":
        welsh = node.get(f"x-{key}-cy")
        if isinstance(welsh, str) and welsh:
            return escape(welsh)
    english = node.get(key)
    if not isinstance(english, str) or not english:
        return None
    # English words on a Welsh page are marked so screen readers pronounce them as English.
    return Markup('<span lang="en">{}</span>').format(english) if ctx.lang == "cy" else escape(english)


def _choices(node: dict[str, Any], ctx: _Ctx) -> list[tuple[str, Markup]]:
    items = _const_items(node)
    if items is not None:
        return [(_encode(i["const"]), _text(i, "title", ctx) or escape(_encode(i["const"]))) for i in items]
    names, welsh = node.get("x-enumNames"), node.get("x-enumNames-cy")
    out = []
    for n, value in enumerate(node["enum"]):
        if value is None:  # a nullable enum's null is the blank option
            continue
        label = escape(names[n]) if isinstance(names, list) and n < len(names) else escape(_encode(value))
        if ctx.lang == "cy":
            label = escape(welsh[n]) if isinstance(welsh, list) and n < len(welsh) else Markup(
                '<span lang="en">{}</span>').format(label)
        out.append((_encode(value), label))
    return out


def _bits(node: dict[str, Any], pointer: str, label: Markup, required: bool, deep: bool, ctx: _Ctx) -> _Bits:
    fid = _field_id(pointer)
    ctx.fields[pointer] = (fid, label)
    # A leaf owns errors below it too (e.g. "/agencies/1" belongs to the checkbox group "/agencies").
    messages = [m for p, ms in ctx.errors.items() if p == pointer or (deep and p.startswith(pointer + "/")) for m in ms]
    help_text, ids = _text(node, "description", ctx), []
    hint = error = Markup()
    if help_text:
        hint = Markup('<div class="govuk-hint" id="{}.hint">{}</div>').format(fid, help_text)
        ids.append(f"{fid}.hint")
    if messages:
        error = Markup('<p class="govuk-error-message" id="{}.error"><span class="govuk-visually-hidden">{}</span> {}</p>'
                       ).format(fid, ctx.words["error"], Markup("<br>").join(messages))
        ids.append(f"{fid}.error")
    return _Bits(fid, pointer, label, required, hint, error, " ".join(ids))


def _mark(required: bool, ctx: _Ctx) -> Markup:
    return Markup(' <span class="cpr-required">{}</span>').format(ctx.words["required"]) if required else Markup()


def _label(b: _Bits, ctx: _Ctx) -> Markup:
    return Markup('<label class="govuk-label" for="{}">{}{}</label>').format(b.id, b.label, _mark(b.required, ctx))


def _fieldset(b: _Bits, ctx: _Ctx, body: Markup, *, own_id: bool, mark: bool = True) -> Markup:
    # Containers carry the field id themselves; option groups give it to their first option (GOV.UK).
    fid = Markup(' id="{}"').format(b.id) if own_id else Markup()
    desc = Markup(' aria-describedby="{}"').format(b.describedby) if b.describedby else Markup()
    legend = Markup('<legend class="govuk-fieldset__legend">{}{}</legend>').format(b.label, _mark(b.required and mark, ctx))
    return b.group(Markup('<fieldset class="govuk-fieldset"{}{}>{}{}{}{}</fieldset>').format(
        fid, desc, legend, b.hint, b.error, body))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _r_text(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    kind = {"date": "date", "email": "email"}.get(node.get("format"), "text")
    limit = node.get("maxLength")
    extra = Markup(' maxlength="{}"').format(limit) if isinstance(limit, int) and not isinstance(limit, bool) else Markup()
    return b.group(_label(b, ctx), b.hint, b.error, Markup(
        '<input class="govuk-input" type="{}" id="{}" name="{}" value="{}"{}{}>').format(
        kind, b.id, b.name, _scalar(value), extra, b.attrs(ctx)))


def _r_textarea(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    # The newline after the tag is eaten by HTML parsers; without it a value's own leading newline would go.
    return b.group(_label(b, ctx), b.hint, b.error, Markup(
        '<textarea class="govuk-textarea" id="{}" name="{}" rows="5"{}>\n{}</textarea>').format(
        b.id, b.name, b.attrs(ctx), _scalar(value)))


def _r_number(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    step = node.get("multipleOf")
    step = step if isinstance(step, (int, float)) and not isinstance(step, bool) else (
        1 if _type(node) == "integer" else "any")
    extra = Markup().join(Markup(' {}="{}"').format(attr, node[key]) for key, attr in
                          (("minimum", "min"), ("maximum", "max")) if isinstance(node.get(key), (int, float)))
    return b.group(_label(b, ctx), b.hint, b.error, Markup(
        '<input class="govuk-input" type="number" id="{}" name="{}" value="{}" step="{}"{}{}>').format(
        b.id, b.name, _scalar(value), step, extra, b.attrs(ctx)))


def _r_select(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    choices, current = _choices(node, ctx), _encode(value) if value is not None else None
    # A blank option when optional, and also when nothing is chosen yet: the first real option must be a
    # decision, and a spare row must be able to post as blank.
    options = [] if b.required and current in {c for c, _ in choices} else [
        Markup('<option value="">{}</option>').format(ctx.words["choose"])]
    options += [Markup('<option value="{}"{}>{}</option>').format(
        c, Markup(" selected") if c == current else Markup(), label) for c, label in choices]
    return b.group(_label(b, ctx), b.hint, b.error, Markup('<select class="govuk-select" id="{}" name="{}"{}>{}</select>'
                                                           ).format(b.id, b.name, b.attrs(ctx), Markup().join(options)))


def _options(b: _Bits, ctx: _Ctx, kind: str, choices: list[tuple[str, Markup]], chosen: set[str], required: bool) -> Markup:
    css = "radios" if kind == "radio" else "checkboxes"
    rows = []
    for n, (code, label) in enumerate(choices):
        oid = b.id if n == 0 else f"{b.id}.{n + 1}"
        attrs = Markup(" checked") if code in chosen else Markup()
        attrs += Markup(' aria-invalid="true"') if b.error else Markup()
        attrs += Markup(" required") if required and not ctx.spare else Markup()
        rows.append(Markup('<div class="govuk-{0}__item"><input class="govuk-{0}__input" type="{1}" id="{2}" name="{3}" '
                           'value="{4}"{5}><label class="govuk-label govuk-{0}__label" for="{2}">{6}</label></div>'
                           ).format(css, kind, oid, b.name, code, attrs, label))
    return Markup('<div class="govuk-{}">{}</div>').format(css, Markup().join(rows))


def _r_radio(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    chosen = {_encode(value)} if value is not None else set()
    return _fieldset(b, ctx, _options(b, ctx, "radio", _choices(node, ctx), chosen, b.required), own_id=False)


def _r_checkboxes(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    items = _resolve(node.get("items"), ctx.root)
    chosen = {_encode(v) for v in value} if isinstance(value, list) else set()
    # No `required` on the boxes: on a checkbox it means "must tick this one".
    return _fieldset(b, ctx, _options(b, ctx, "checkbox", _choices(items, ctx), chosen, False), own_id=False)


def _r_boolean(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    # The hidden "false" comes first: an unticked box posts nothing, a ticked one posts "false" then "true".
    # No `required`: every answer is an answer here, and `required` would force a tick.
    b.required = False
    return b.group(b.hint, b.error, Markup(
        '<div class="govuk-checkboxes__item"><input type="hidden" name="{1}" value="false">'
        '<input class="govuk-checkboxes__input" type="checkbox" id="{0}" name="{1}" value="true"{2}{3}>'
        '<label class="govuk-label govuk-checkboxes__label" for="{0}">{4}</label></div>').format(
        b.id, b.name, Markup(" checked") if value is True else Markup(), b.attrs(ctx), b.label))


def _r_object(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    body = _properties(node, ui, b.name, value if isinstance(value, dict) else {}, ctx)
    return _fieldset(b, ctx, body, own_id=True, mark=False)


@contextmanager
def _spare(ctx: _Ctx) -> Iterator[None]:
    was, ctx.spare = ctx.spare, True
    try:
        yield
    finally:
        ctx.spare = was


def _r_rows(node: dict[str, Any], ui: dict[str, Any], b: _Bits, value: Any, ctx: _Ctx) -> Markup:
    item, item_ui = _resolve(node.get("items"), ctx.root), ui.get("items") if isinstance(ui.get("items"), dict) else {}
    items = value if isinstance(value, list) else []
    noun = _text(item, "title", ctx) or escape(ctx.words["item"])
    rows = [_row(item, item_ui, b.name, n, v, noun, ctx, existing=True) for n, v in enumerate(items)]
    with _spare(ctx):
        rows.append(_row(item, item_ui, b.name, len(items), None, noun, ctx, existing=False))
    # formnovalidate: adding a row must not be blocked by required fields the user has yet to fill.
    add = Markup('<button type="submit" class="govuk-button govuk-button--secondary" name="_add" value="{}" '
                 'formnovalidate>{}</button>').format(b.name, ctx.words["add"])
    return _fieldset(b, ctx, Markup().join(rows) + add, own_id=True)


def _row(item: dict[str, Any], ui: dict[str, Any], pointer: str, n: int, value: Any, noun: Markup, ctx: _Ctx,
         *, existing: bool) -> Markup:
    rp = _child(pointer, n)
    legend = Markup("{} {}").format(noun, n + 1)
    ctx.fields[rp] = (_field_id(rp), legend)
    if _type(item) == "object" and not _has_choices(item):
        body = _properties(item, ui, rp, value if isinstance(value, dict) else {}, ctx)
    else:
        body = _field(item, ui, rp, legend, value, True, ctx)
    remove = Markup(
        '<div class="govuk-checkboxes__item"><input class="govuk-checkboxes__input" type="checkbox" id="{0}.remove" '
        'name="_remove" value="{1}"><label class="govuk-label govuk-checkboxes__label" for="{0}.remove">{2} {3}</label>'
        '</div>').format(_field_id(rp), rp, ctx.words["remove"], legend) if existing else Markup()
    return Markup('<fieldset class="govuk-fieldset cpr-row" id="{}"><legend class="govuk-fieldset__legend">{}'
                  '</legend>{}{}</fieldset>').format(_field_id(rp), legend, body, remove)


_RENDER = {"text": _r_text, "textarea": _r_textarea, "number": _r_number, "select": _r_select, "radio": _r_radio,
           "checkboxes": _r_checkboxes, "boolean": _r_boolean, "object": _r_object, "rows": _r_rows}


def _field(node: Any, ui: Any, pointer: str, fallback: Markup | str, value: Any, required: bool, ctx: _Ctx) -> Markup:
    if pointer.count("/") > _MAX_DEPTH:
        raise ValueError(f"form nests deeper than {_MAX_DEPTH} levels at {pointer}")
    node, ui = _resolve(node, ctx.root), ui if isinstance(ui, dict) else {}
    kind = _kind(node, ui, ctx.root)
    label = _text(node, "title", ctx) or escape(fallback)
    return _RENDER[kind](node, ui, _bits(node, pointer, label, required, kind not in ("object", "rows"), ctx), value, ctx)


def _order(props: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    order = ui.get("ui:order")
    if not isinstance(order, list):
        return list(props)
    named = [k for k in order if k in props]
    rest = [k for k in props if k not in named]  # a field the UI schema forgot is still shown
    if "*" in order:  # as in react-jsonschema-form: '*' stands for every property not named
        cut = order.index("*")
        return [k for k in order[:cut] if k in props] + rest + [k for k in order[cut + 1:] if k in props]
    return named + rest


def _properties(node: dict[str, Any], ui: dict[str, Any], pointer: str, value: dict[str, Any], ctx: _Ctx) -> Markup:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    required = set(node.get("required") or [])
    return Markup().join(_field(props[k], ui.get(k), _child(pointer, k), k.replace("_", " ").capitalize(),
                                value.get(k), k in required, ctx) for k in _order(props, ui))


def _summary(ctx: _Ctx) -> Markup:
    """GOV.UK error summary: every problem, in page order, each linking to the field (or nearest part) it is on."""
    place = {p: n for n, p in enumerate(ctx.fields)}
    items: list[tuple[int, Markup]] = []
    for pointer, messages in ctx.errors.items():
        owner = pointer
        while owner and owner not in ctx.fields:
            owner = owner[:owner.rfind("/")]
        for message in messages:
            if owner:
                fid, label = ctx.fields[owner]
                items.append((place[owner], Markup('<li><a href="#{}">{}: {}</a></li>').format(fid, label, message)))
            else:  # about the whole form, or a field the page does not show
                items.append((-1, Markup("<li>{}</li>").format(message)))
    if not items:
        return Markup()
    items.sort(key=lambda i: i[0])
    return Markup('<div class="govuk-error-summary" data-module="govuk-error-summary" tabindex="-1" autofocus>'
                  '<div role="alert"><h2 class="govuk-error-summary__title">{}</h2><div class="govuk-error-summary__body">'
                  '<ul class="govuk-list govuk-error-summary__list">{}</ul></div></div></div>').format(
        ctx.words["problem"], Markup().join(i for _, i in items))


def render_form(schema: dict[str, Any], ui_schema: dict[str, Any] | None, data: dict[str, Any],
                errors: dict[str, list[str]], lang: str = "en") -> Markup:
    """The form's fields (no <form>, CSRF token or submit button), with an error summary first if any."""
    normalised = {("" if p == "/" else p): [m] if isinstance(m, str) else list(m) for p, m in (errors or {}).items()}
    ctx = _Ctx(root=schema, lang="cy" if lang.lower().startswith("cy") else "en", errors=normalised)
    body = _properties(_resolve(schema, schema), ui_schema or {}, "", data if isinstance(data, dict) else {}, ctx)
    return _summary(ctx) + body  # the summary is built last: it needs to know every field's id


# ---- parsing a submission -------------------------------------------------------------------------

@dataclass
class _Submission:
    root: dict[str, Any]
    values: dict[str, list[str]]
    removed: set[str]

    def first(self, pointer: str) -> str | None:
        found = self.values.get(pointer)
        return found[0] if found else None


def _is_blank(value: Any) -> bool:
    # An unticked box (False) counts as blank, so a spare row holding only booleans is still a spare row.
    if value is _MISSING or value is None or value is False or value == "":
        return True
    if isinstance(value, dict):
        return all(_is_blank(v) for v in value.values())
    return isinstance(value, list) and all(_is_blank(v) for v in value)


def _p_string(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    raw = sub.first(pointer)
    # Browsers post textarea newlines as CRLF.
    return _MISSING if raw is None or not raw.strip() else raw.replace("\r\n", "\n")


def _p_number(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    raw = (sub.first(pointer) or "").strip()
    if not raw:
        return _MISSING
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw) and math.isfinite(number := float(raw)):
        return int(number) if _type(node) == "integer" and number.is_integer() else number
    return raw  # not a number: kept, so validation reports the type on this field's pointer


def _p_choice(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    raw = sub.first(pointer)
    return _MISSING if not raw else _decode(node, raw)


def _p_boolean(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    posted = sub.values.get(pointer)
    return _MISSING if not posted else "true" in posted


def _p_checkboxes(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    items = _resolve(node.get("items"), sub.root)
    chosen = [_decode(items, v) for v in sub.values.get(pointer, []) if v]
    return chosen if chosen or required else _MISSING


def _p_object(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    needed = set(node.get("required") or [])
    out = {}
    for key, child in props.items():
        value = _parse(child, _child(pointer, key), key in needed, sub)
        if value is not _MISSING:
            out[key] = value
    # A required section stays (even empty) so errors land on its fields; a skipped optional one goes.
    return _MISSING if not required and _is_blank(out) else out


def _p_rows(node: dict[str, Any], pointer: str, required: bool, sub: _Submission) -> Any:
    prefix, indices = pointer + "/", set()
    for key in sub.values:
        seg = key[len(prefix):].split("/")[0] if key.startswith(prefix) else ""
        if seg.isascii() and seg.isdigit() and len(seg) < 7:  # int() of a huge digit string raises
            indices.add(int(seg))
    rows = []
    for n in sorted(indices):
        if _child(pointer, n) in sub.removed:
            continue
        value = _parse(node.get("items"), _child(pointer, n), True, sub)
        if not _is_blank(value):  # the spare row, left as it was
            rows.append(value)
    return rows if rows or required else _MISSING


_PARSE = {"text": _p_string, "textarea": _p_string, "number": _p_number, "select": _p_choice, "radio": _p_choice,
          "checkboxes": _p_checkboxes, "boolean": _p_boolean, "object": _p_object, "rows": _p_rows}


def _parse(node: Any, pointer: str, required: bool, sub: _Submission) -> Any:
    if pointer.count("/") > _MAX_DEPTH:
        raise ValueError(f"form nests deeper than {_MAX_DEPTH} levels at {pointer}")
    node = _resolve(node, sub.root)
    return _PARSE[_kind(node, {}, sub.root)](node, pointer, required, sub)


def _posted(form: Mapping[str, Any]) -> dict[str, list[str]]:
    getlist = getattr(form, "getlist", None)  # werkzeug MultiDict; a plain mapping holds lists (or one string)
    out = {}
    for key in form.keys():
        raw = getlist(key) if getlist else form[key]
        out[key] = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)]
    return out


def parse_submission(schema: dict[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild the task's JSON data from a posted form, reading only the pointers the schema defines."""
    values = _posted(form)
    sub = _Submission(schema, values, set(values.get("_remove", [])))
    out = _p_object(_resolve(schema, schema), "", True, sub)
    return out if isinstance(out, dict) else {}


def add_row(data: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of ``data`` with one more blank item in the list at ``pointer`` (the "Add another" button's value).

    Missing lists, and the next row of a list, are created on the way; ValueError if the pointer cannot name a list.
    """
    result, segs = copy.deepcopy(data), _segments(pointer)
    if not segs or _RESERVED in segs:
        raise ValueError(f"{pointer!r} cannot name a list of rows")
    target: Any = result
    for seg, after in zip(segs, [*segs[1:], None]):
        create: Any = [] if after is None or (after.isascii() and after.isdigit()) else {}
        if isinstance(target, dict):
            target = target.setdefault(seg, create)
        elif isinstance(target, list) and seg.isascii() and seg.isdigit() and len(seg) < 7 and int(seg) <= len(target):
            if int(seg) == len(target):
                target.append(create)
            target = target[int(seg)]
        else:
            raise ValueError(f"{pointer!r} does not name a list in the form data")
    if not isinstance(target, list):
        raise ValueError(f"{pointer!r} does not name a list in the form data")
    target.append({})
    return result
