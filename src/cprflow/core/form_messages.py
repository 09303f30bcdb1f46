"""Validation messages people read: GOV.UK wording, in English and Welsh, from each field's title.

``forms.validate`` says what failed as data (a ``Failure``: pointer, schema keyword, its value). This
module words it the way the GOV.UK Design System does: "Enter the child's reference", "Select the
decision", "Confirm ...", "... must be a real date", "... must be 200 characters or fewer", never
the validator's own text ("is required", "True was expected").

A form may word any message itself, per field and keyword, in its JSON Schema::

    "child_reference": {"title": "Child's reference",
                        "x-errorMessages": {"required": "Enter the child's pseudonymous reference"},
                        "x-errorMessages-cy": {"required": "Rhowch gyfeirnod ffugenwol y plentyn"}}

(``"*"`` words every keyword of that field not named.) The Welsh wording gives the title the soft
mutation after an imperative or "i" ("Rhowch gyfeirnod y plentyn"; ``cprflow.core.welsh``).
"""

from __future__ import annotations

import json
from typing import Any

from cprflow.core.errors import Failure, InvalidData
from cprflow.core.welsh import soft_mutation

__all__ = ["explain", "message", "node_at"]

OVERRIDE = "x-errorMessages"
_MAX_DEPTH = 32

# {t}: the title as it starts a sentence; {l}: the title inside one; {m}: the same after a word that
# calls for the Welsh soft mutation (an imperative, "i"): "Rhowch gyfeirnod ..."; {n}: the keyword's value.
_WORDING: dict[str, dict[str, str]] = {
    "en": {
        "enter": "Enter {l}",
        "select": "Select {l}",
        "confirm": "Confirm {l}",
        "upload": "Upload {l}",
        "date": "{t} must be a real date",
        "email": "Enter {l} in the correct format, like name@example.com",
        "format": "Enter {l} in the correct format",
        "number": "{t} must be a number",
        "integer": "{t} must be a whole number",
        "minimum": "{t} must be {n} or more",
        "maximum": "{t} must be {n} or less",
        "exclusiveMinimum": "{t} must be more than {n}",
        "exclusiveMaximum": "{t} must be less than {n}",
        "minLength": "{t} must be {n} characters or more",
        "maxLength": "{t} must be {n} characters or fewer",
        "minItems": "{t} must have at least {n}",
        "maxItems": "{t} must have {n} or fewer",
        "one_of": "{t} must be one of: {n}",
        "must_be": "{t} must be {n}",
        "not_here": "{t} cannot be changed on this form",
        "document": "Upload {l} again: the file named is not this review's",
        "check": "Check {l}",
        "not_future": "{t} must be today or in the past",
        "not_before": "{t} must be the same as or after {n}",
        "list_or": ", ",
    },
    "cy": {
        "enter": "Rhowch {m}",
        "select": "Dewiswch {m}",
        "confirm": "Cadarnhewch {m}",
        "upload": "Uwchlwythwch {m}",
        "date": "Rhaid i {m} fod yn ddyddiad go iawn",
        "email": "Rhowch {m} yn y fformat cywir, fel enw@enghraifft.com",
        "format": "Rhowch {m} yn y fformat cywir",
        "number": "Rhaid i {m} fod yn rhif",
        "integer": "Rhaid i {m} fod yn rhif cyfan",
        "minimum": "Rhaid i {m} fod yn {n} neu fwy",
        "maximum": "Rhaid i {m} fod yn {n} neu lai",
        "exclusiveMinimum": "Rhaid i {m} fod yn fwy na {n}",
        "exclusiveMaximum": "Rhaid i {m} fod yn llai na {n}",
        "minLength": "Rhaid i {m} fod yn {n} nod neu fwy",
        "maxLength": "Rhaid i {m} fod yn {n} nod neu lai",
        "minItems": "Rhaid i {m} gael o leiaf {n}",
        "maxItems": "Rhaid i {m} gael {n} neu lai",
        "one_of": "Rhaid i {m} fod yn un o: {n}",
        "must_be": "Rhaid i {m} fod yn {n}",
        "not_here": "Ni ellir newid {l} ar y ffurflen hon",
        "document": "Uwchlwythwch {m} eto: nid yw'r ffeil a enwir yn perthyn i'r adolygiad hwn",
        "check": "Gwiriwch {m}",
        "not_future": "Rhaid i {m} fod heddiw neu yn y gorffennol",
        "not_before": "Rhaid i {m} fod yr un fath â {n} neu ar ei ôl",
        "list_or": ", ",
    },
}


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_MAX_DEPTH):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")):
            return node if isinstance(node, dict) else {}
        target: Any = root
        for seg in [s.replace("~1", "/").replace("~0", "~") for s in node["$ref"][1:].split("/") if s]:
            target = target.get(seg) if isinstance(target, dict) else None
        node = {**(target if isinstance(target, dict) else {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return {}


def node_at(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema of the value at a JSON pointer into the data ({} if the form does not declare it)."""
    node = _resolve(schema, schema)
    for seg in [s.replace("~1", "/").replace("~0", "~") for s in pointer.strip("/").split("/") if s]:
        if isinstance(node.get("properties"), dict) and seg in node["properties"]:
            node = _resolve(node["properties"][seg], schema)
        elif isinstance(node.get("items"), dict) and seg.isdigit():
            node = _resolve(node["items"], schema)
        else:
            return {}
    return node


def _text(node: dict[str, Any], key: str, lang: str) -> str | None:
    welsh = node.get(f"x-{key}-cy")
    if lang == "cy" and isinstance(welsh, str) and welsh:
        return welsh
    english = node.get(key)
    return english if isinstance(english, str) and english else None


def _in_sentence(title: str) -> str:
    # "Child's reference" -> "child's reference", but "NHS number" and "Board" stay as written
    first = title.split(" ", 1)[0]
    return title[0].lower() + title[1:] if first[1:].islower() or len(first) == 1 and first != "I" else title


def _choices(node: dict[str, Any], lang: str) -> dict[str, str]:
    if isinstance(node.get("enum"), list):
        names = node.get("x-enumNames-cy" if lang == "cy" else "x-enumNames") or node.get("x-enumNames") or []
        return {
            json.dumps(v): names[n] if isinstance(names, list) and n < len(names) else str(v)
            for n, v in enumerate(node["enum"])
        }
    for key in ("oneOf", "anyOf"):
        items = node.get(key)
        if isinstance(items, list) and all(isinstance(i, dict) and "const" in i for i in items):
            return {json.dumps(i["const"]): _text(i, "title", lang) or str(i["const"]) for i in items}
    return {}


def _is_choice(node: dict[str, Any]) -> bool:
    items: dict[str, Any] = node["items"] if isinstance(node.get("items"), dict) else {}
    return bool(_choices(node, "en") or _choices(items, "en")) or node.get("type") == "boolean"


def _kind(failure: Failure, node: dict[str, Any], lang: str) -> tuple[str, Any]:
    """Which wording, and the value it names."""
    keyword, value = failure.keyword, failure.value
    if keyword in ("required", "minLength", "minItems") and (keyword == "required" or value == 1):
        if isinstance(node.get("x-document"), dict):
            return "upload", None
        if node.get("const") is True:
            return "confirm", None
        return ("select" if _is_choice(node) else "enter"), None
    if keyword == "const":
        if value is True:
            return "confirm", None
        return "must_be", _choices(node, lang).get(json.dumps(value), str(value))
    if keyword == "enum":
        names = _choices(node, lang)
        wanted = [names.get(json.dumps(v), str(v)) for v in value] if isinstance(value, list) else []
        return ("one_of", _WORDING[lang]["list_or"].join(wanted)) if wanted else ("select", None)
    if keyword == "format":
        return ("date" if value == "date" else "email" if value == "email" else "format"), None
    if keyword == "type":
        types: list[Any] = value if isinstance(value, list) else [value]
        expected = next((str(v) for v in types if v != "null"), "")
        if expected in ("integer", "number"):
            return expected, None
        return ("select" if _is_choice(node) else "enter" if expected == "string" else "check"), None
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        return keyword, value
    if keyword in ("minItems", "maxItems"):
        return keyword, value
    if keyword == "pattern":
        return "format", None
    if keyword in ("additionalProperties", "readOnly", "reserved"):
        return "not_here", None
    if keyword == "x-document":
        return "document", None
    if keyword == "x-not-after":
        return "not_future", None
    if keyword == "x-not-before":
        return "not_before", _day_month_year(value, lang)
    return "check", None


_MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "cy": "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr".split(),
}


def _day_month_year(value: Any, lang: str) -> str:
    """'2026-04-01' as GOV.UK writes dates: '1 April 2026' ('1 Ebrill 2026')."""
    try:
        year, month, day = (int(part) for part in str(value)[:10].split("-"))
        return f"{day} {_MONTHS[lang][month - 1]} {year}"
    except (ValueError, IndexError):
        return str(value)


def message(schema: dict[str, Any], failure: Failure, lang: str = "en") -> str:
    """One failure worded for people, in English or Welsh (``lang`` "cy")."""
    lang = "cy" if lang.lower().startswith("cy") else "en"
    if failure.keyword == "x-rules" and isinstance(failure.value, dict):
        return str(failure.value.get(lang) or failure.value.get("en") or "")  # a form rule words its own
    node = node_at(schema, failure.pointer)
    for key in (f"{OVERRIDE}-cy", OVERRIDE) if lang == "cy" else (OVERRIDE,):
        own = node.get(key)
        if isinstance(own, dict):
            chosen = own.get(failure.keyword, own.get("*"))
            if isinstance(chosen, str) and chosen:
                return chosen
    kind, value = _kind(failure, node, lang)
    last = failure.pointer.rstrip("/").rsplit("/", 1)[-1]
    title = _text(node, "title", lang) or (last.replace("_", " ").capitalize() if last else "")
    if not title:
        title = "yr ateb hwn" if lang == "cy" else "this answer"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    inside = _in_sentence(title)
    mutated = soft_mutation(inside) if lang == "cy" else inside
    return _WORDING[lang][kind].format(t=title[0].upper() + title[1:], l=inside, m=mutated, n=value)


def explain(schema: dict[str, Any], err: InvalidData, lang: str = "en") -> dict[str, list[str]]:
    """Pointer -> messages for a refused form, worded for people; messages the checks gave as words
    already (a refused upload, a rule about the whole form) are kept as they are."""
    worded: dict[str, list[str]] = {}
    for failure in err.failures:
        text = message(schema, failure, lang)
        if text not in worded.setdefault(failure.pointer, []):
            worded[failure.pointer].append(text)
    for pointer, messages in err.fields.items():
        if pointer not in worded:
            worded[pointer] = list(messages)
    return worded
