"""Task forms: validate submitted data against the JSON Schema the diagram names."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import Any

import regex
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from cprflow.core import document_fields, expressions, patterns
from cprflow.core.errors import ExpressionError, Failure, InvalidData

_FORMAT_CHECKER = FormatChecker()
#: Longest one ``pattern`` may take to check one submitted value (wall clock, seconds). Patterns are
#: probed at deploy (core.patterns); this bounds any that slip through, or were deployed before.
PATTERN_SECONDS = 0.25


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return regex.compile(source)


def _matches(source: str, text: str) -> bool | None:
    """Whether ``text`` matches (``re.search`` semantics), or None if that cannot be told in time."""
    try:
        return patterns.search(_compiled(source), text, PATTERN_SECONDS)
    except patterns.PatternTimeout:
        return None
    except (regex.error, ValueError, TypeError, OverflowError, RecursionError):
        return None


def _pattern(validator: Any, source: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    matched = _matches(source, instance)
    if matched is None:
        yield ValidationError("could not be checked against its pattern in time; shorten it")
    elif not matched:
        yield ValidationError(f"{instance!r} does not match {source!r}")


def _pattern_properties(
    validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for source, subschema in properties.items():
        for key, value in instance.items():
            matched = _matches(source, key)
            if matched is None:
                yield ValidationError(f"the key {key!r} could not be checked against its pattern in time")
            elif matched:
                yield from validator.descend(value, subschema, path=key, schema_path=source)


#: Draft 2020-12, with ``pattern`` and ``patternProperties`` run by ``regex`` under a time bound
#: (jsonschema's own use ``re``, which holds the whole process while it backtracks).
_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties}
FormValidator = validators.extend(Draft202012Validator, _KEYWORDS)  # type: ignore[no-untyped-call]  # not annotated upstream

RESERVED_KEY = "typename"  # SpiffWorkflow's serializer takes any dict carrying it for an object


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"


def reserved_keys(data: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """JSON pointers of every ``typename`` key anywhere in ``data``."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == RESERVED_KEY:
                found.append(_pointer((*path, key)))
            found.extend(reserved_keys(value, (*path, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(reserved_keys(value, (*path, index)))
    return found


def _validator(schema: dict[str, Any]) -> Any:
    # Schemas come from immutable deployed versions, so one validator per schema object serves.
    key = id(schema)
    cached = _validators.get(key)
    if cached is None or cached.schema is not schema:
        cached = _validators[key] = FormValidator(schema, format_checker=_FORMAT_CHECKER)
    return cached


_validators: dict[int, Any] = {}


def validate(
    schema: dict[str, Any],
    data: Any,
    *,
    documents: Iterable[Any] | None = None,
    assignee: str | None = None,
    case: dict[str, Any] | None = None,
    today: date | None = None,
) -> None:
    """Raise InvalidData naming every field at fault (JSON pointer -> messages).

    ``documents`` (the instance's, from the document store) are what document fields may name; see
    ``docfields``. Without them a form with document fields cannot be checked, so none may be given.
    ``case`` (the review's data) and ``today`` (the day in Wales) check the date bounds below."""
    if not isinstance(data, dict):
        raise InvalidData("form data must be a JSON object", fields={"/": ["must be an object"]})
    fields: dict[str, list[str]] = {}
    failures: list[Failure] = []

    def fail(pointer: str, message: str, keyword: str, value: Any = None) -> None:
        fields.setdefault(pointer, []).append(message)
        failures.append(Failure(pointer, keyword, value))

    for pointer in reserved_keys(data):
        fail(pointer, f"'{RESERVED_KEY}' is a reserved key", "reserved")
    # A form is the whole of what its task may change: a key it does not declare, or one it
    # shows read-only, would otherwise overwrite case data the diagram relies on.
    declared = schema.get("properties", {})
    if isinstance(declared, dict) and schema.get("additionalProperties", False) is False:
        for key in data:
            if key not in declared:
                fail(_pointer([key]), "is not a field of this form", "additionalProperties")
            elif isinstance(declared[key], dict) and declared[key].get("readOnly"):
                fail(_pointer([key]), "is read-only", "readOnly")
    for error in _validator(schema).iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required":
            # One error per missing name, whose message starts with the name's repr: quotes in a name
            # change which quotes the repr uses, so find the name rather than cut the message at "'".
            names = [n for n in error.validator_value if f"{n!r} is a required property" == error.message]
            fail(_pointer([*path, names[0] if names else ""]), "is required", "required")
        elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            for extra in sorted(set(error.instance) - allowed):
                fail(_pointer([*path, extra]), "is not a field of this form", "additionalProperties")
        else:
            fail(_pointer(path), error.message, str(error.validator), error.validator_value)
    if isinstance(data, dict) and document_fields.has_fields(schema):
        for pointer, messages in document_fields.check(schema, data, documents or (), assignee).items():
            for message in messages:
                fail(pointer, message, "x-document")
    if isinstance(data, dict):
        for pointer, message, keyword, bound in date_bounds(schema, data, case or {}, today):
            fail(pointer, message, keyword, bound)
    if fields:
        raise InvalidData("the submitted data does not fit the form", fields=fields, failures=tuple(failures))


#: Date fields may say when the event they record can have happened (a clock starts from it):
#: ``"x-not-after": "today"`` and ``"x-not-before": "<case data key>"`` (e.g. ``referral_date``).
NOT_AFTER, NOT_BEFORE = "x-not-after", "x-not-before"


def date_bounds(
    schema: dict[str, Any], data: dict[str, Any], case: dict[str, Any], today: date | None
) -> list[tuple[str, str, str, str]]:
    """(pointer, message, keyword, bound) for each top-level date field outside the bounds its form
    declares (the bound as an ISO date, for the wording people read)."""
    found: list[tuple[str, str, str, str]] = []
    properties = schema.get("properties")
    for key, field in (properties or {}).items() if isinstance(properties, dict) else ():
        given = expressions.day_of(data.get(key)) if isinstance(field, dict) else None
        if given is None:
            continue
        if field.get(NOT_AFTER) == "today" and today is not None and given > today:
            found.append((_pointer([key]), "must be today or in the past", NOT_AFTER, today.isoformat()))
        earliest_key = field.get(NOT_BEFORE)
        earliest = (
            expressions.day_of(data.get(earliest_key, case.get(earliest_key)))
            if isinstance(earliest_key, str)
            else None
        )
        if earliest is not None and given < earliest:
            message = f"must be on or after {earliest_key} ({earliest.isoformat()})"
            found.append((_pointer([key]), message, NOT_BEFORE, earliest.isoformat()))
    return found


#: A date field may open with today's date in it (``"x-default": "today"``): the day something is
#: recorded is mostly the day it happened, and people change it when it happened earlier.
DEFAULT = "x-default"


def prefilled(schema: dict[str, Any], data: dict[str, Any], today: date) -> dict[str, Any]:
    """``data`` as a form opens with it: each top-level field saying ``"x-default": "today"`` that has
    no value yet holds ``today`` (what the person sends is checked as any answer is)."""
    properties = schema.get("properties")
    missing = [
        key
        for key, field in (properties.items() if isinstance(properties, dict) else ())
        if isinstance(field, dict) and field.get(DEFAULT) == "today" and data.get(key) in (None, "")
    ]
    return {**data, **{key: today.isoformat() for key in missing}} if missing else data


def default_problems(schema: dict[str, Any]) -> list[str]:
    """What the deploy check says of ``x-default``: only a top-level date field opens as ``today``."""
    properties = schema.get("properties")
    return [
        f'/properties/{key}: {DEFAULT} may only be "today", on a date field ("format": "date")'
        for key, field in (properties.items() if isinstance(properties, dict) else ())
        if isinstance(field, dict) and DEFAULT in field and (field[DEFAULT] != "today" or field.get("format") != "date")
    ]


def check_reserved(data: Any) -> None:
    """For data that has no form (start data, message payloads): refuse reserved keys only."""
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", fields={"/": ["must be an object"]})
    found = reserved_keys(data)
    if found:
        raise InvalidData(
            "data uses a reserved key", fields={p: [f"'{RESERVED_KEY}' is a reserved key"] for p in found}
        )


#: A form's (or a message schema's) cross-field rules: each an expression over the submitted data and
#: the facts the task shows (its read-only fields), the field it is about and what to tell the person.
RULES_KEY = "x-rules"
RULE_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["rule", "field", "message", "message_cy"],
        "additionalProperties": False,
        "properties": {
            "rule": {"type": "string", "minLength": 1},
            "field": {"type": "string", "pattern": "^/"},
            "message": {"type": "string", "minLength": 1},
            "message_cy": {"type": "string", "minLength": 1},
        },
    },
}


def shown_facts(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The facts a form shows: its read-only fields, valued from the task's data."""
    declared = schema.get("properties", {})
    return {
        key: values[key]
        for key, spec in declared.items()
        if isinstance(spec, dict) and spec.get("readOnly") and key in values
    }


def rule_problems(schema: dict[str, Any]) -> list[str]:
    """What is wrong with a schema's rules (for the deploy check): shape, and code that cannot compile."""
    rules = schema.get(RULES_KEY)
    if rules is None:
        return []
    found = [
        f"{RULES_KEY}/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in Draft202012Validator(RULE_SCHEMA).iter_errors(rules)
    ]
    if found:
        return found
    for index, rule in enumerate(rules):
        try:
            expressions.check_expression(rule["rule"])
        except ExpressionError as err:
            found.append(f"{RULES_KEY}/{index}/rule: {err}")
    return found


def check_rules(schema: dict[str, Any], data: dict[str, Any], facts: dict[str, Any]) -> None:
    """Raise InvalidData naming the field of every rule the data breaks. Call it inside the engine's
    clock (``expressions.engine_context``): rules are diagram code and run in its sandbox. A rule
    that cannot be worked out on this data (a name missing, a wrong type) counts as broken: bad input
    is refused here rather than failing the diagram later. Every field of the form is a name in the
    rules, None when left out."""
    fields: dict[str, list[str]] = {}
    failures: list[Failure] = []
    # Every field of the form is a name in the rules: None when left out.
    names = {**dict.fromkeys(schema.get("properties", {})), **facts, **data}
    for rule in schema.get(RULES_KEY) or []:
        try:
            holds = bool(expressions.evaluate(rule["rule"], names))
        except Exception:
            holds = False
        if not holds:
            fields.setdefault(rule["field"], []).append(rule["message"])
            failures.append(Failure(rule["field"], RULES_KEY, {"en": rule["message"], "cy": rule["message_cy"]}))
    if fields:
        raise InvalidData("the submitted data breaks a rule of the form", fields=fields, failures=tuple(failures))


def prefill(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values a form opens with: the task's data for the form's fields, leaving out any answer a
    field would refuse (a diagram's ``""`` default for a date or a choice), so the form sent back
    unchanged is never refused for what it was given.

    Inside a list or group only the refused answers are left out: a list of actions whose new
    columns are still to be filled in (``required`` answers missing) opens with every action in it,
    for the person to complete, not as an empty list to type out again."""
    declared = schema.get("properties", {})
    shown = {}
    for key, value in values.items():
        spec = declared.get(key) if isinstance(declared, dict) else None
        if not isinstance(spec, dict):
            continue
        if spec.get("readOnly"):
            shown[key] = value
            continue
        kept = _without_refused(spec, value)
        if kept is not _REFUSED:
            shown[key] = kept
    return shown


_REFUSED = object()


def _without_refused(spec: dict[str, Any], value: Any) -> Any:
    """``value`` less the answers inside it that ``spec`` refuses (answers still to be given are no
    fault here); ``_REFUSED`` when the value as a whole is refused."""
    value = json.loads(json.dumps(value, default=str))
    for _ in range(10):  # each pass removes at least one answer; forms are shallow
        faults = [e for e in _validator(spec).iter_errors(value) if e.validator != "required"]
        if not faults:
            return value
        paths = sorted({tuple(e.absolute_path) for e in faults}, key=lambda p: (len(p), p), reverse=True)
        if any(not path for path in paths):
            return _REFUSED
        for path in paths:
            parent = value
            try:
                for step in path[:-1]:
                    parent = parent[step]
                del parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                return _REFUSED
    return _REFUSED


def fields(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, field schema) of every field declared anywhere in a form schema, or in a list of them
    (nested objects and array items included), in document order."""
    if isinstance(node, list):
        for item in node:
            yield from fields(item)
    if not isinstance(node, dict):
        return
    for key, field in (node.get("properties") or {}).items():
        if isinstance(field, dict):
            yield key, field
    for child in node.values():
        yield from fields(child)


def marked(node: Any, mark: str, value: str, pointer: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(pointer, node) for every node of a form schema that carries ``mark: value`` (for example the
    fields whose choices come from a data file: ``"x-choices": "agencies"``)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get(mark) == value:
            found.append((pointer or "/", node))
        for key, child in node.items():
            found.extend(marked(child, mark, value, f"{pointer}/{key}"))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.extend(marked(child, mark, value, f"{pointer}/{index}"))
    return found
