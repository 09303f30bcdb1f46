"""Task forms: validate submitted data against the JSON Schema the diagram names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from cprflow.core import document_fields
from cprflow.core.errors import Failure, InvalidData

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
            missing = error.message.split("'")[1] if "'" in error.message else ""
            fail(_pointer([*path, missing]), "is required", "required")
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
    if fields:
        raise InvalidData("the submitted data does not fit the form", fields=fields, failures=tuple(failures))


def check_reserved(data: Any) -> None:
    """For data that has no form (start data, message payloads): refuse reserved keys only."""
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object", fields={"/": ["must be an object"]})
    found = reserved_keys(data)
    if found:
        raise InvalidData(
            "data uses a reserved key", fields={p: [f"'{RESERVED_KEY}' is a reserved key"] for p in found}
        )
