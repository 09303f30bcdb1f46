"""Diagram sets: read them, refuse what is unsafe or broken, and fingerprint them for versioning.

A diagram set is every ``.bpmn`` and ``.dmn`` file plus every form, keyed by relative path
(``processes/x.bpmn``, ``forms/y.schema.json``). Checking it finds at deploy what the engine
would otherwise only find at run time, and names the file, element and line of each problem.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from cprflow import engine
from cprflow.core import access, document_fields, expressions, operators, patterns
from cprflow.core import forms as forms_rules
from cprflow.core.errors import DeployRefused, ExpressionError, InvalidData, Problem, Text

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 500
DIAGRAM_SUFFIXES = (".bpmn", ".dmn")
FORM_SUFFIX = ".json"
#: A message's payload schema (JSON Schema 2020-12, with optional ``x-rules``), named on the element
#: that receives it by this property.
MESSAGE_SUFFIX = ".message.json"
MESSAGE_SCHEMA_PROPERTY = "messageJsonSchemaFilename"
#: A process's start form: named on its start event by the same properties a user task names its form by.
FORM_PROPERTY, UI_FORM_PROPERTY = "formJsonSchemaFilename", "formUiSchemaFilename"
#: Data files are JSON files at the top of processes/ (who may do what, the theme taxonomy, the
#: anonymisation rules...), deployed with the diagrams; each is read and checked by the part of cprflow
#: that registered it (``register_check``), and one that nothing reads is refused.
DATA_FILE = re.compile(r"processes/[A-Za-z0-9_-]+\.json")
#: The review's durations, statutory and local, edited as fields by process owners.
TIMESCALES_FILE = "processes/timescales.json"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

# Where diagram code lives, and whether it is an expression (eval) or a script (exec).
_BPMN_CODE = (
    (".//bpmn:scriptTask/bpmn:script", "exec"),
    (".//spiffworkflow:preScript", "exec"),
    (".//spiffworkflow:postScript", "exec"),
    (".//bpmn:conditionExpression", "eval"),
    (".//bpmn:completionCondition", "eval"),
    (".//bpmn:loopCardinality", "eval"),
    (".//bpmn:loopCondition", "eval"),
    (".//bpmn:timeDuration", "eval"),
    (".//bpmn:timeDate", "eval"),
    (".//bpmn:timeCycle", "eval"),
    (".//spiffworkflow:messagePayload", "eval"),
    (".//spiffworkflow:property[@name='dueDate']/@value", "eval"),
    (".//spiffworkflow:property[@name='assignee']/@value", "eval"),
    (".//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter/@value", "eval"),
)


@dataclass(frozen=True)
class DiagramSet:
    files: dict[str, bytes]

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()

    def forms(self) -> dict[str, bytes]:
        return {n.removeprefix("forms/"): c for n, c in self.files.items() if n.startswith("forms/")}


@dataclass(frozen=True)
class SetView:
    """What a registered check may look at: the files, the parsed diagrams and forms, the permissions."""

    files: dict[str, bytes]
    trees: dict[str, Any]
    forms: dict[str, Any]
    permissions: dict[str, Any] | None


@dataclass(frozen=True)
class SetCheck:
    check: Callable[[SetView], list[Problem]]
    files: tuple[str, ...] = ()


_CHECKS: dict[str, SetCheck] = {}


def register_check(name: str, check: Callable[[SetView], list[Problem]], *, files: tuple[str, ...] = ()) -> None:
    """Let a feature check every set before it is deployed; ``files`` are the data files it reads.

    Features register at start (``cprflow.bootstrap.install``), so the diagrams layer never imports
    them."""
    _CHECKS[name] = SetCheck(check, files)


def is_data_file(name: str) -> bool:
    return bool(DATA_FILE.fullmatch(name))


@dataclass(frozen=True)
class CheckedSet:
    diagrams: DiagramSet
    processes: list[engine.ProcessInfo]
    specs_json: str


def read_directories(processes_dir: Path, forms_dir: Path) -> DiagramSet:
    files: dict[str, bytes] = {}
    for folder, prefix, suffixes in (
        (processes_dir, "processes", DIAGRAM_SUFFIXES),
        (forms_dir, "forms", (FORM_SUFFIX,)),
    ):
        if not folder.is_dir():
            raise DeployRefused([Problem(str(folder), Text("folder not found"))])
        for path in sorted(folder.rglob("*")):
            name = f"{prefix}/{path.relative_to(folder).as_posix()}"
            if path.is_file() and (path.suffix in suffixes or is_data_file(name)):
                files[name] = path.read_bytes()
    return DiagramSet(files)


def upload_path(filename: str) -> str:
    """Where an uploaded file belongs in the set: diagrams and permissions in processes/, forms in forms/."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,150}", name):
        raise InvalidData(
            f"unusable file name {filename!r}", fields={"/files": ["names are letters, digits, '.', '_' and '-'"]}
        )
    if name.endswith(DIAGRAM_SUFFIXES) or is_data_file(f"processes/{name}"):
        return f"processes/{name}"
    if name.endswith(FORM_SUFFIX):
        return f"forms/{name}"
    raise InvalidData(
        f"'{name}' is neither a diagram (.bpmn, .dmn) nor a form (.json)",
        fields={"/files": [f"{name}: unsupported type"]},
    )


def check(diagrams: DiagramSet) -> CheckedSet:
    """Return the parsed set, or raise DeployRefused listing every problem found."""
    problems = _check_sizes(diagrams)
    if problems:
        raise DeployRefused(problems)
    trees: dict[str, Any] = {}
    for name, content in diagrams.files.items():
        if name.endswith(DIAGRAM_SUFFIXES):
            root = _safe_xml(name, content, problems)
            if root is not None:
                trees[name] = root
    problems.extend(_check_call_targets(trees))
    problems.extend(_check_operators(trees))
    problems.extend(_check_event_subprocesses(trees))
    for name, root in trees.items():
        problems.extend(_check_code(name, root))
        problems.extend(_check_cardinality(name, root))
        if name.endswith(".dmn"):
            problems.extend(_check_decision_tables(name, root))
    forms = _load_forms(diagrams, problems)
    permissions = _load_permissions(diagrams, problems)
    problems.extend(_check_document_fields(forms))
    problems.extend(_check_rules(forms))
    problems.extend(_check_message_schemas(trees, forms))
    problems.extend(_check_start_forms(trees, forms))
    problems.extend(_check_facts(forms))
    problems.extend(_check_form_patterns(forms))
    problems.extend(_registered_checks(SetView(diagrams.files, trees, forms, permissions)))
    if problems:
        raise DeployRefused(problems)
    try:
        parsed = engine.parse_set(
            {n: r for n, r in trees.items() if n.endswith(".bpmn")},
            {n: r for n, r in trees.items() if n.endswith(".dmn")},
        )
    except Exception as err:
        file, element, line = engine.parse_error_location(err)
        raise DeployRefused([Problem(file or "(diagram set)", str(err).splitlines()[0], element, line)]) from None
    problems.extend(_check_user_task_forms(parsed, forms, trees))
    if permissions is not None:
        problems.extend(_check_lanes(parsed, permissions, trees))
    if not parsed.processes:
        problems.append(Problem("processes/", Text("no executable process found")))
    if problems:
        raise DeployRefused(problems)
    return CheckedSet(diagrams, parsed.processes, parsed.specs_json)


def _check_document_fields(forms: dict[str, Any]) -> list[Problem]:
    """Upload fields name usable slots."""
    return [
        Problem(f"forms/{name}", message)
        for name, schema in forms.items()
        if name.endswith(".schema.json") and isinstance(schema, dict)
        for message in document_fields.template_problems(schema)
    ]


def _check_rules(forms: dict[str, Any]) -> list[Problem]:
    """Cross-field rules (``x-rules``) have the right shape and compile; ``x-default`` says "today"."""
    return [
        Problem(f"forms/{name}", message)
        for name, schema in forms.items()
        if name.endswith((".schema.json", MESSAGE_SUFFIX)) and isinstance(schema, dict)
        for message in [*forms_rules.rule_problems(schema), *forms_rules.default_problems(schema)]
    ]


def message_schemas(trees: dict[str, Any]) -> dict[str, tuple[str, str | None, int | None]]:
    """message name -> (schema file in forms/, diagram, element) for every element that receives a
    message and names the schema of its payload (property ``messageJsonSchemaFilename``)."""
    found: dict[str, tuple[str, str | None, int | None]] = {}
    for name, root in trees.items():
        if not name.endswith(".bpmn"):
            continue
        names = {m.get("id"): m.get("name") for m in root.iterfind(".//bpmn:message", NS)}
        for prop in root.iterfind(f".//spiffworkflow:property[@name='{MESSAGE_SCHEMA_PROPERTY}']", NS):
            element = _element_of(prop)
            ref = element.get("messageRef") or next(
                (d.get("messageRef") for d in element.iterfind("bpmn:messageEventDefinition", NS)), None
            )
            message = names.get(ref) or ""
            found.setdefault(message, (prop.get("value") or "", name, element.sourceline))
    return found


def read_message_schemas(files: dict[str, str]) -> dict[str, str]:
    """message name -> schema file, from a deployed version's files (already checked at deploy)."""
    trees = {n: etree.fromstring(c.encode(), safe_parser()) for n, c in files.items() if n.endswith(".bpmn")}
    return {message: file for message, (file, _, _) in message_schemas(trees).items()}


def _check_message_schemas(trees: dict[str, Any], forms: dict[str, Any]) -> list[Problem]:
    problems = []
    for message, (file, diagram, line) in message_schemas(trees).items():
        where = diagram or "(diagram set)"
        if not message:
            problems.append(
                Problem(
                    where,
                    Text("%(property)s on an element that receives no message", property=MESSAGE_SCHEMA_PROPERTY),
                    None,
                    line,
                )
            )
        elif not file.endswith(MESSAGE_SUFFIX):
            problems.append(
                Problem(
                    where,
                    Text("message schema '%(file)s' must end with %(suffix)s", file=file, suffix=MESSAGE_SUFFIX),
                    None,
                    line,
                )
            )
        elif file not in forms:
            problems.append(
                Problem(where, Text("message schema '%(file)s' not found in forms/", file=file), None, line)
            )
    return problems


@dataclass(frozen=True)
class StartForm:
    """The form a process's starter fills in: its schema and UI schema (files in forms/)."""

    schema: str
    ui_schema: str | None
    diagram: str
    line: int | None


def start_forms(trees: dict[str, Any]) -> dict[str, StartForm]:
    """process id -> its start form, for every process whose top-level start event names one
    (property ``formJsonSchemaFilename``, and ``formUiSchemaFilename`` if it has a UI schema)."""
    found: dict[str, StartForm] = {}
    for name, root in trees.items():
        if not name.endswith(".bpmn"):
            continue
        for process in root.iterfind("bpmn:process", NS):
            for event in process.iterfind("bpmn:startEvent", NS):
                props = {
                    p.get("name"): p.get("value") or ""
                    for p in event.iterfind(
                        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
                    )
                }
                if FORM_PROPERTY in props or UI_FORM_PROPERTY in props:
                    found.setdefault(
                        process.get("id") or "",
                        StartForm(props.get(FORM_PROPERTY, ""), props.get(UI_FORM_PROPERTY), name, event.sourceline),
                    )
    return found


def read_start_forms(files: dict[str, str]) -> dict[str, StartForm]:
    """process id -> start form, from a deployed version's files (already checked at deploy)."""
    trees = {n: etree.fromstring(c.encode(), safe_parser()) for n, c in files.items() if n.endswith(".bpmn")}
    return start_forms(trees)


def _check_start_forms(trees: dict[str, Any], forms: dict[str, Any]) -> list[Problem]:
    """A start form names a form schema (and a UI schema, if any) that the set holds."""
    problems = []
    for process, form in start_forms(trees).items():
        if not form.schema:
            problems.append(
                Problem(
                    form.diagram, f"start event names a UI schema but no form ({FORM_PROPERTY})", process, form.line
                )
            )
        elif not form.schema.endswith(".schema.json"):
            problems.append(
                Problem(form.diagram, f"start form '{form.schema}' must end with .schema.json", process, form.line)
            )
        elif form.schema not in forms:
            problems.append(
                Problem(form.diagram, f"start form '{form.schema}' not found in forms/", process, form.line)
            )
        if form.ui_schema and form.ui_schema not in forms:
            problems.append(
                Problem(form.diagram, f"UI schema '{form.ui_schema}' not found in forms/", process, form.line)
            )
    return problems


def _check_facts(forms: dict[str, Any]) -> list[Problem]:
    """A task's ``ui:facts`` (earlier answers shown read-only) name forms of the set and fields they ask."""
    problems = []
    for name, ui in forms.items():
        sections = ui.get("ui:facts") if isinstance(ui, dict) else None
        if sections is None:
            continue
        if not isinstance(sections, list):
            problems.append(Problem(f"forms/{name}", Text("ui:facts must be a list of sections")))
            continue
        for n, section in enumerate(sections):
            where = f"ui:facts/{n}"
            asking = forms.get(str(section.get("form"))) if isinstance(section, dict) else None
            if not isinstance(section, dict) or not isinstance(section.get("title"), str):
                problems.append(
                    Problem(f"forms/{name}", Text("%(where)s needs a title, a form and its fields", where=where))
                )
            elif not isinstance(asking, dict):
                problems.append(
                    Problem(
                        f"forms/{name}",
                        Text("%(where)s: form '%(form)s' not found in forms/", where=where, form=section.get("form")),
                    )
                )
            else:
                declared = asking.get("properties") or {}
                for key in section.get("fields") or []:
                    if key not in declared:
                        problems.append(
                            Problem(
                                f"forms/{name}",
                                Text(
                                    "%(where)s: '%(key)s' is not a field of %(form)s",
                                    where=where,
                                    key=key,
                                    form=section["form"],
                                ),
                            )
                        )
    return problems


def _check_form_patterns(forms: dict[str, Any]) -> list[Problem]:
    """Every ``pattern`` compiles and finishes in time on inputs that make backtracking blow up."""
    budget = patterns.Budget()
    problems = []
    for name, schema in sorted(forms.items()):
        for pointer, source in patterns.sources_in_schema(schema):
            _, problem = patterns.compile_checked(source, budget=budget)
            if problem:
                problems.append(Problem(f"forms/{name}", f"{pointer}: {problem}"))
    return problems


def _registered_checks(view: SetView) -> list[Problem]:
    """The features' own checks (templates, themes, anonymisation rules...), and no unread data file."""
    if not _CHECKS:
        raise RuntimeError("no feature has registered its deploy checks: call cprflow.bootstrap.install() first")
    problems = [problem for registered in _CHECKS.values() for problem in registered.check(view)]
    read = {access.PERMISSIONS_FILE, *(f for registered in _CHECKS.values() for f in registered.files)}
    problems += [
        Problem(name, Text("no part of cprflow reads this data file (is its name right?)"))
        for name in sorted(view.files)
        if is_data_file(name) and name not in read
    ]
    return problems


def _check_sizes(diagrams: DiagramSet) -> list[Problem]:
    problems = [
        Problem(name, Text("file is larger than %(kib)s KiB", kib=MAX_FILE_BYTES // 1024))
        for name, content in diagrams.files.items()
        if len(content) > MAX_FILE_BYTES
    ]
    for name, content in diagrams.files.items():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, Text("file is not UTF-8 text")))
    if len(diagrams.files) > MAX_FILES:
        problems.append(Problem("(diagram set)", Text("more than %(count)s files", count=MAX_FILES)))
    if not any(n.endswith(".bpmn") for n in diagrams.files):
        problems.append(Problem("processes/", Text("no .bpmn file in the set")))
    return problems


def safe_parser() -> etree.XMLParser:
    """An XML parser that resolves no entities, loads no DTD and reaches no network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _safe_xml(name: str, content: bytes, problems: list[Problem]) -> Any:
    """Parse with entities, DTDs and network off; refuse any DOCTYPE before anything else sees it."""
    head = content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in content.lower():
        problems.append(Problem(name, Text("DOCTYPE and entity declarations are not allowed in diagrams")))
        return None
    try:
        root = etree.fromstring(content, safe_parser())
    except etree.XMLSyntaxError as err:
        problems.append(Problem(name, Text("not well-formed XML: %(detail)s", detail=err.msg), line=err.lineno))
        return None
    if cast(Any, root.getroottree().docinfo).doctype:
        problems.append(Problem(name, Text("DOCTYPE is not allowed in diagrams")))
        return None
    return root


def _check_call_targets(trees: dict[str, Any]) -> list[Problem]:
    """Every call activity must call a process in the set (the parser only says which is missing)."""
    bpmn = {n: r for n, r in trees.items() if n.endswith(".bpmn")}
    known = {p.get("id") for root in bpmn.values() for p in root.xpath(".//bpmn:process", namespaces=NS)}
    return [
        Problem(
            name,
            Text("calls process '%(process)s', which is not in the diagram set", process=call.get("calledElement")),
            call.get("id"),
            call.sourceline,
        )
        for name, root in bpmn.items()
        for call in root.xpath(".//bpmn:callActivity", namespaces=NS)
        if call.get("calledElement") not in known
    ]


def _check_operators(trees: dict[str, Any]) -> list[Problem]:
    """Every service task must name a registered operator with the parameters it takes."""
    found = []
    for name, root in trees.items():
        if not name.endswith(".bpmn"):
            continue
        for task in root.xpath(".//bpmn:serviceTask", namespaces=NS):
            declared = task.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
            if not declared:
                found.append(
                    Problem(
                        name,
                        Text("a service task needs an operator (spiffworkflow:serviceTaskOperator)"),
                        task.get("id"),
                        task.sourceline,
                    )
                )
                continue
            params = {p.get("id") for p in declared[0].xpath(".//spiffworkflow:parameter", namespaces=NS)}
            found.extend(
                Problem(name, message, task.get("id"), declared[0].sourceline)
                for message in operators.problems_with(declared[0].get("id") or "", params)
            )
    return found


def _check_event_subprocesses(trees: dict[str, Any]) -> list[Problem]:
    """An event subprocess started by a message, signal, error or escalation would never start:
    SpiffWorkflow 3.2 forgets what it waits for when an instance is saved, and cprflow saves after
    every step. A timer start is kept and works."""
    found = []
    for name, root in trees.items():
        if not name.endswith(".bpmn"):
            continue
        for sub in root.xpath(".//bpmn:subProcess[@triggeredByEvent='true']", namespaces=NS):
            starts = sub.xpath(
                "./bpmn:startEvent/*[self::bpmn:messageEventDefinition or self::bpmn:signalEventDefinition"
                " or self::bpmn:errorEventDefinition or self::bpmn:escalationEventDefinition]",
                namespaces=NS,
            )
            if starts:
                found.append(
                    Problem(
                        name,
                        Text(
                            "an event subprocess started by a message, signal, error or escalation never starts "
                            "here: use a boundary event, or a receive task on a parallel branch"
                        ),
                        sub.get("id"),
                        sub.sourceline,
                    )
                )
    return found


def _is_extension(node: Any) -> bool:
    """Spiff's extension elements carry ids of their own (a service task's parameters) that name
    nothing a process owner clicks on."""
    return isinstance(node.tag, str) and etree.QName(node).namespace == NS["spiffworkflow"]


def _element_of(node: Any) -> Any:
    """The nearest ancestor with an id: the element a process owner would click on."""
    current = node
    while current is not None and (current.get("id") is None or _is_extension(current)):
        current = current.getparent()
    return current if current is not None else node


def _check_code(name: str, root: Any) -> list[Problem]:
    problems = []
    if name.endswith(".bpmn"):
        for path, mode in _BPMN_CODE:
            for found in root.xpath(path, namespaces=NS):
                if isinstance(found, str):  # attribute value
                    text, node = str(found), cast(Any, found).getparent()  # lxml's string results know their element
                else:
                    text, node = found.text or "", found
                problems.extend(_check_one(name, node, text.strip(), mode))
    return problems


def _check_cardinality(name: str, root: Any) -> list[Problem]:
    """A multi-instance activity may not be written to have more instances than the engine allows
    (a number from the case's data is checked when the activity starts)."""
    problems = []
    for found in root.xpath(".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", namespaces=NS):
        value = expressions.constant_value(found.text or "")
        if isinstance(value, int) and value > engine.MAX_INSTANCES:
            element = _element_of(found)
            problems.append(
                Problem(
                    name,
                    Text(
                        "a multi-instance activity may have at most %(most)s instances, not %(value)s",
                        most=f"{engine.MAX_INSTANCES:,}",
                        value=f"{value:,}",
                    ),
                    element.get("id"),
                    found.sourceline,
                )
            )
    return problems


def _check_one(name: str, node: Any, text: str, mode: str) -> list[Problem]:
    if not text:
        return []
    try:
        expressions.check_expression(text, mode)
    except ExpressionError as err:
        element = _element_of(node)
        line = node.sourceline + (err.line - 1 if err.line and mode == "exec" else 0)
        return [Problem(name, err.message, element.get("id"), line)]
    return []


# ---------------------------------------------------------------------------------------------
# DMN: the engine evaluates Python cells and, for UNIQUE tables, silently takes the first match.


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(node: Any, local: str) -> list[Any]:
    return [c for c in node if _local(c.tag) == local]


def _text_of(node: Any) -> str:
    texts = [c.text or "" for c in node if _local(c.tag) == "text"]
    return (texts[0] if texts else "").strip()


def _check_decision_tables(name: str, root: Any) -> list[Problem]:
    problems: list[Problem] = []
    for table in root.iter():
        if _local(table.tag) != "decisionTable":
            continue
        decision = _element_of(table.getparent())
        for clause in _children(table, "input"):
            for expr in _children(clause, "inputExpression"):
                problems.extend(_check_one(name, expr, _text_of(expr), "eval"))
        rules = _children(table, "rule")
        cells_by_rule = []
        for rule in rules:
            cells = []
            for entry in _children(rule, "inputEntry"):
                text = _text_of(entry)
                problems.extend(_check_input_cell(name, entry, text))
                cells.append(text)
            for entry in _children(rule, "outputEntry"):
                problems.extend(_check_one(name, entry, _text_of(entry), "eval"))
            cells_by_rule.append((rule, cells))
        if table.get("hitPolicy", "UNIQUE").upper() == "UNIQUE":
            problems.extend(_overlaps(name, decision, cells_by_rule))
    return problems


def _check_input_cell(name: str, entry: Any, text: str) -> list[Problem]:
    if text in ("", "-"):
        return []
    if re.match(r"^not\s*\(", text):
        element = _element_of(entry)
        return [
            Problem(
                name,
                Text("not(...) never matches in this engine: write '!= value' instead"),
                element.get("id"),
                entry.sourceline,
            )
        ]
    candidate = text.replace("?", "dmninput")
    try:
        ast.parse(candidate, mode="eval")
    except SyntaxError:
        candidate = f"dmninput {text}"  # an operator fragment such as '>= 8' or 'in [..]'
    return _check_one(name, entry, candidate, "eval")


def _cell_values(text: str) -> frozenset[Any] | None:
    """The finite set of values a cell matches, or None if it is '-' or not a plain literal."""
    if text in ("", "-"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        match = re.match(r"^(?:\?\s*)?in\s+(.+)$", text)
        if not match:
            return frozenset({("unknown", text)})
        try:
            value = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return frozenset({("unknown", text)})
        return frozenset(value) if isinstance(value, (list, tuple, set)) else frozenset({("unknown", text)})
    return frozenset({value}) if isinstance(value, (str, int, float, bool)) else frozenset({("unknown", text)})


#: Most overlapping pairs of rules reported for one decision table: the first are enough to act on.
MAX_OVERLAPS = 20


def _overlaps(name: str, decision: Any, rules: list[tuple[Any, list[str]]]) -> list[Problem]:
    """Pairs of rules that can both match, without comparing every pair (1,000 rules took 11-28 s).

    Two rules overlap when in every column one cell is '-' or their cells share a value (a cell that
    is not a plain literal, such as '>= 8', shares only its own text: only identical text is a sure
    overlap). Rules are taken in order;
    for each column an index maps each value to the earlier rules holding it, as a bitset, so the
    earlier rules a rule overlaps are the AND over its columns of (rules with '-' there | rules
    sharing one of its values there): a few big-integer operations a rule."""
    problems: list[Problem] = []
    by_width: dict[int, list[tuple[Any, list[str]]]] = {}
    for rule in rules:
        by_width.setdefault(len(rule[1]), []).append(rule)
    for width, members in by_width.items():
        wildcards = [0] * width
        index: list[dict[Any, int]] = [{} for _ in range(width)]
        for position, (rule_b, cells_b) in enumerate(members):
            values = [_cell_values(cell) for cell in cells_b]
            earlier = (1 << position) - 1
            for column, cell in enumerate(values):
                if not earlier:
                    break
                if cell is None:
                    continue
                matching = wildcards[column]
                for value in cell:
                    matching |= index[column].get(value, 0)
                earlier &= matching
            while earlier and len(problems) < MAX_OVERLAPS:
                lowest = earlier & -earlier
                earlier ^= lowest
                rule_a = members[lowest.bit_length() - 1][0]
                problems.append(
                    Problem(
                        name,
                        Text(
                            "rules '%(a)s' and '%(b)s' can both match, but the hit policy is UNIQUE",
                            a=rule_a.get("id"),
                            b=rule_b.get("id"),
                        ),
                        rule_b.get("id") or decision.get("id"),  # the row to mark in the table editor
                        rule_b.sourceline,
                    )
                )
            bit = 1 << position
            for column, cell in enumerate(values):
                if cell is None:
                    wildcards[column] |= bit
                else:
                    for value in cell:
                        index[column][value] = index[column].get(value, 0) | bit
    return problems


# ---------------------------------------------------------------------------------------------
# Forms


def _load_forms(diagrams: DiagramSet, problems: list[Problem]) -> dict[str, Any]:
    forms = {}
    for name, content in diagrams.forms().items():
        try:
            document = json.loads(content)
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(Problem(f"forms/{name}", Text("not valid JSON: %(detail)s", detail=str(err))))
            continue
        if name.endswith((".schema.json", MESSAGE_SUFFIX)):
            try:
                Draft202012Validator.check_schema(document)
            except SchemaError as err:
                pointer = "/" + "/".join(str(p) for p in err.path)
                problems.append(
                    Problem(
                        f"forms/{name}",
                        Text(
                            "not a valid JSON Schema (2020-12) at %(pointer)s: %(detail)s",
                            pointer=pointer,
                            detail=err.message,
                        ),
                    )
                )
                continue
        forms[name] = document
    return forms


def _check_user_task_forms(parsed: engine.ParsedSet, forms: dict[str, Any], trees: dict[str, Any]) -> list[Problem]:
    problems = []
    for task in parsed.user_tasks:
        file = task.file or "(diagram set)"
        line = _line_of(trees.get(file), task.bpmn_id)
        if not task.form:
            problems.append(
                Problem(file, Text("user task names no form (property formJsonSchemaFilename)"), task.bpmn_id, line)
            )
        elif task.form not in forms:
            problems.append(
                Problem(file, Text("form '%(form)s' not found in forms/", form=task.form), task.bpmn_id, line)
            )
        if task.ui_form and task.ui_form not in forms:
            problems.append(
                Problem(file, Text("UI schema '%(form)s' not found in forms/", form=task.ui_form), task.bpmn_id, line)
            )
    return problems


def _line_of(root: Any, element_id: str) -> int | None:
    if root is None:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


# ---------------------------------------------------------------------------------------------
# Permissions: which roles work which lane, kept beside the diagrams


def _load_permissions(diagrams: DiagramSet, problems: list[Problem]) -> dict[str, Any] | None:
    content = diagrams.files.get(access.PERMISSIONS_FILE)
    if content is None:
        return None
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        problems.append(Problem(access.PERMISSIONS_FILE, Text("not valid JSON: %(detail)s", detail=str(err))))
        return None
    for error in Draft202012Validator(access.PERMISSIONS_SCHEMA).iter_errors(document):
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        problems.append(Problem(access.PERMISSIONS_FILE, f"{pointer}: {error.message}"))
    return document if isinstance(document, dict) else None


def _check_lanes(parsed: engine.ParsedSet, permissions: dict[str, Any], trees: dict[str, Any]) -> list[Problem]:
    lanes = permissions.get("lanes", {})
    return [
        Problem(
            task.file or "(diagram set)",
            Text("lane '%(lane)s' has no roles in %(file)s", lane=task.lane, file=access.PERMISSIONS_FILE),
            task.bpmn_id,
            _line_of(trees.get(task.file or ""), task.bpmn_id),
        )
        for task in parsed.user_tasks
        if task.lane is not None and task.lane not in lanes
    ]
