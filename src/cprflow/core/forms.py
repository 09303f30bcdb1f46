"""Task forms: validate submitted data against the JSON Schema the diagram names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from cprflow.core import document_fields, expressions
from cprflow.core.errors import ExpressionError, InvalidData

_FORMAT_CHECKER = FormatChecker()
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


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Schemas come from immutable deployed versions, so one validator per schema object serves.
    key = id(schema)
    cached = _validators.get(key)
    if cached is None or cached.schema is not schema:
        cached = _validators[key] = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    return cached


_validators: dict[int, Draft202012Validator] = {}


def validate(
    schema: dict[str, Any], data: Any, *, documents: Iterable[Any] | None = None, assignee: str | None = None
) -> None:
    """Raise InvalidData naming every field at fault (JSON pointer -> messages).

    ``documents`` (the instance's, from the document store) are what document fields may name; see
    ``docfields``. Without them a form with document fields cannot be checked, so none may be given."""
    if not isinstance(data, dict):
        raise InvalidData("form data must be a JSON object", fields={"/": ["must be an object"]})
    fields: dict[str, list[str]] = {}
    for pointer in reserved_keys(data):
        fields.setdefault(pointer, []).append(f"'{RESERVED_KEY}' is a reserved key")
    # A form is the whole of what its task may change: a key it does not declare, or one it
    # shows read-only, would otherwise overwrite case data the diagram relies on.
    declared = schema.get("properties", {})
    if isinstance(declared, dict) and schema.get("additionalProperties", False) is False:
        for key in data:
            if key not in declared:
                fields.setdefault(_pointer([key]), []).append("is not a field of this form")
            elif isinstance(declared[key], dict) and declared[key].get("readOnly"):
                fields.setdefault(_pointer([key]), []).append("is read-only")
    for error in _validator(schema).iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path.append(missing)
            message = "is required"
        elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            for extra in sorted(set(error.instance) - allowed):
                fields.setdefault(_pointer([*path, extra]), []).append("is not a field of this form")
            continue
        else:
            message = error.message
        fields.setdefault(_pointer(path), []).append(message)
    if isinstance(data, dict) and document_fields.has_fields(schema):
        for pointer, messages in document_fields.check(schema, data, documents or (), assignee).items():
            fields.setdefault(pointer, []).extend(messages)
    if fields:
        raise InvalidData("the submitted data does not fit the form", fields=fields)


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
    # Every field of the form is a name in the rules: None when left out.
    names = {**dict.fromkeys(schema.get("properties", {})), **facts, **data}
    for rule in schema.get(RULES_KEY) or []:
        try:
            holds = bool(expressions.evaluate(rule["rule"], names))
        except Exception:
            holds = False
        if not holds:
            fields.setdefault(rule["field"], []).append(rule["message"])
    if fields:
        raise InvalidData("the submitted data breaks a rule of the form", fields=fields)


def prefill(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values a form opens with: the task's data for the form's fields, leaving out any a field
    would refuse (a diagram's ``""`` default for a date or a choice), so the form sent back unchanged
    is never refused for what it was given."""
    declared = schema.get("properties", {})
    shown = {}
    for key, value in values.items():
        spec = declared.get(key) if isinstance(declared, dict) else None
        if not isinstance(spec, dict):
            continue
        if spec.get("readOnly") or not any(True for _ in _validator(spec).iter_errors(value)):
            shown[key] = value
    return shown
