"""The SpiffWorkflow adapter: the only module that touches SpiffWorkflow objects.

Callers get small frozen dataclasses and plain dicts; a BpmnWorkflow never leaves this module.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Sized
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import SimpleBpmnTask, _EndJoin
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from cprflow.core import expressions, operators
from cprflow.core.errors import CprflowError, ExpressionError, NotWaiting, ScriptFailed, StepTimeout
from cprflow.core.operators import OperatorFailed

#: The longest one engine step may run (diagram code and the engine's own work), unless a caller
#: says otherwise (CPRFLOW_STEP_SECONDS).
DEFAULT_STEP_SECONDS = 5.0
#: Most instances one multi-instance activity may have. SpiffWorkflow's cost per instance grows with
#: the number of instances (every completion walks the whole task tree): 600 script instances took
#: 3 s, 3,000 took 80-100 s in one step. A review has a few dozen agencies or reviewers at most.
MAX_INSTANCES = 200

# SpiffWorkflow reads the wall clock inside its timer module and fixes naive datetimes to the
# local offset at import. We replace both once: timers read the injected engine clock, and a
# naive timer value means UTC whatever the host's TZ says.
_timer_module.datetime = expressions.EngineDatetime
_timer_module.LOCALTZ = UTC


# Duration and cycle timers count months the way the diagrams' helpers do (expressions.shift):
# SpiffWorkflow's own arithmetic takes 31 January + P1M to 3 March and P0.5M to no time at all.
def _parse_iso_duration(expression: str) -> dict[str, str]:
    expressions.shift(datetime(2000, 1, 1, tzinfo=UTC), expression)  # refuses what is not a duration
    return {"iso": expression}


def _timedelta_from_start(parsed: dict[str, str], start: datetime | None = None) -> timedelta:
    begin = start if start is not None else expressions.clock_now()
    return expressions.shift(begin, parsed["iso"]) - begin


def _timedelta_from_end(parsed: dict[str, str], end: datetime) -> timedelta:
    return end - expressions.shift(end, parsed["iso"], backwards=True)


_timer_module.TimerEventDefinition.parse_iso_duration = staticmethod(_parse_iso_duration)
_timer_module.TimerEventDefinition.get_timedelta_from_start = staticmethod(_timedelta_from_start)
_timer_module.TimerEventDefinition.get_timedelta_from_end = staticmethod(_timedelta_from_end)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs every script, condition, timer and DMN expression through RestrictedPython."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return expressions.evaluate(expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        expressions.execute(script, context, external_context)
        return True

    def call_service(self, context: Any, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        params = {name: param["value"] for name, param in (operation_params or {}).items()}
        return json.dumps(operators.call(operation_name, params))


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        # Our own errors (time bound, refused code) pass through unwrapped so callers see them.
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except CprflowError as err:
            err.task = task  # type: ignore[attr-defined]  # so the failure names its element
            raise
        except SpiffWorkflowException:
            raise
        except MemoryError:
            raise _out_of_memory(task) from None
        except Exception as err:
            raise WorkflowTaskException(f"error evaluating '{expression}': {err}", task=task, exception=err) from err
        spec = task.task_spec
        if isinstance(spec, MultiInstanceTask) and expression is spec.cardinality:
            # Refused before any instance is made (create_child also counts, for input collections).
            if isinstance(value, int) and value > MAX_INSTANCES:
                raise _too_many(task, value)
        return value

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # SpiffWorkflow's own version wraps failures using a name it never defines; ours names the task.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except CprflowError as err:
            err.task = task  # type: ignore[attr-defined]
            raise
        except (TypeError, ValueError) as err:
            failed = OperatorFailed(
                f"operator '{kwargs.get('operation_name')}' answered with something not JSON: {err}"
            )
            failed.task = task  # type: ignore[attr-defined]
            raise failed from None

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except CprflowError as err:
            err.task = task  # type: ignore[attr-defined]
            raise
        except MemoryError:
            raise _out_of_memory(task) from None
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err


_NO_MEMORY = "it needed more memory than an engine step may use"


def _out_of_memory(task: Any) -> ExpressionError:
    """The step's memory bound (expressions._memory_bound) was hit by diagram code."""
    err = ExpressionError(_NO_MEMORY)
    err.task = task  # type: ignore[attr-defined]
    return err


SCRIPT_ENGINE = RestrictedScriptEngine()


# ---------------------------------------------------------------------------------------------
# Bounding the engine's own work. Diagram code is stopped by the step's deadline from inside (see
# expressions._time_bound), but SpiffWorkflow's own loops run no diagram code: a multi-instance
# activity creating thousands of instances, or a loop with a huge maximum. Every task the engine
# completes (``_run``) and every instance it creates (below) checks the deadline, and no activity
# may have more than MAX_INSTANCES instances, whether the number is written in the diagram
# (refused at deploy) or comes from the case's data (the step fails, the instance goes to error).


class TooManyInstances(ExpressionError):
    """A multi-instance activity would have more instances than MAX_INSTANCES."""


def _too_many(task: Any, count: int) -> TooManyInstances:
    err = TooManyInstances(
        f"the multi-instance activity would have {count:,} instances, more than the {MAX_INSTANCES:,} allowed"
    )
    err.task = task  # type: ignore[attr-defined]
    return err


def _planned_instances(spec: Any, task: Any) -> int | None:
    """How many instances a multi-instance task is about to create, if its input says so."""
    if spec.data_input is not None:
        collection = spec.data_input.get(task) if spec.data_input.exists(task) else None
        return len(collection) if isinstance(collection, Sized) else None
    return None


_create_child = MultiInstanceTask.create_child


def _bounded_create_child(self: Any, my_task: Any, item: Any, key_or_index: Any = None) -> None:
    expressions.check_deadline()
    made = sum(1 for _ in self._instances(my_task))
    planned = _planned_instances(self, my_task) if made == 0 else None
    if planned is not None and planned > MAX_INSTANCES:
        raise _too_many(my_task, planned)  # refused before any instance is made
    if made >= MAX_INSTANCES:
        raise _too_many(my_task, made + 1)
    _create_child(self, my_task, item, key_or_index)


MultiInstanceTask.create_child = _bounded_create_child


# ---------------------------------------------------------------------------------------------
# Stored state without the process spec. SpiffWorkflow's serializer writes the whole parsed spec
# into every instance's state, so each load and save re-creates and re-encodes every task spec of
# the diagram: the largest single cost of a completion (measured: about a third of it). A deployed
# version never changes, so its spec objects are restored once per process and shared by every
# instance of that version; an instance's state holds only its own tasks and data.
#
# Sharing is safe only while nothing mutates a spec at run time. SpiffWorkflow does in two places:
# multi-instance and loop tasks connect a listener to their child spec on first use (done here up
# front, once, so running instances never race to do it), and an event subprocess's trigger
# connects the start task to it. A version containing an event subprocess therefore keeps the old
# format: its instances carry a spec of their own in their state.

_SHARING: ContextVar[tuple[Any, dict[str, Any]] | None] = ContextVar("cprflow_shared_spec", default=None)


class _StateConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's workflow converter, leaving out the specs of a workflow that shares them."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        if not getattr(workflow, "cprflow_shared_spec", False):
            whole: dict[str, Any] = super().to_dict(workflow)
            return whole
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["cprflow_shared_spec"] = True
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        if not dct.pop("cprflow_shared_spec", False):
            return super().from_dict(dct)
        shared = _SHARING.get()
        if shared is None:
            raise ValueError("this state needs its version's spec to load")
        spec, subprocess_specs = shared
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.cprflow_shared_spec = True
        return workflow


_CONFIG = dict(SPIFF_CONFIG)
_CONFIG[BpmnWorkflow] = _StateConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_CONFIG))


class _SharedSpecs:
    """Restored spec objects per stored spec JSON (one per process of a version), or None when the
    version must not share them: it has an event subprocess, or was deployed before sharing."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, dict[str, Any]] | None] = {}
        self._lock = threading.Lock()

    def get(self, spec_json: str) -> tuple[Any, dict[str, Any]] | None:
        try:
            return self._cache[spec_json]
        except KeyError:
            pass
        with self._lock:
            if spec_json not in self._cache:
                self._cache[spec_json] = self._restore(spec_json)
            return self._cache[spec_json]

    @staticmethod
    def _restore(spec_json: str) -> tuple[Any, dict[str, Any]] | None:
        stored = json.loads(spec_json)
        if not stored.get("shareable"):  # also every version deployed before specs were shared
            return None
        spec = _SERIALIZER.from_dict(stored["spec"])
        subprocesses = {k: _SERIALIZER.from_dict(v) for k, v in stored["subprocesses"].items()}
        for each in [spec, *subprocesses.values()]:
            for ts in each.task_specs.values():
                if isinstance(ts, (MultiInstanceTask, StandardLoopTask)):
                    child = each.task_specs[ts.task_spec]
                    if not child.completed_event.is_connected(ts.merge_child):
                        child.completed_event.connect(ts.merge_child)
        return spec, subprocesses


_SPECS = _SharedSpecs()
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
_DIAGRAM_ERRORS = (SpiffWorkflowException, ExpressionError, StepTimeout, OperatorFailed)


# ---------------------------------------------------------------------------------------------
# Parsing: a deployed version keeps its specs as JSON; each instance restores fresh spec objects.


@dataclass(frozen=True)
class ProcessInfo:
    id: str
    name: str
    file: str | None


@dataclass(frozen=True)
class UserTaskSpec:
    """What a user task declares in its diagram: read here and nowhere else."""

    process_id: str
    file: str | None
    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    due_expression: str | None
    assignee_expression: str | None


def _user_task_spec(process_id: str, file: str | None, task_spec: Any) -> UserTaskSpec:
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties", {})
    return UserTaskSpec(
        process_id=process_id,
        file=file,
        bpmn_id=task_spec.bpmn_id,
        name=task_spec.bpmn_name or task_spec.bpmn_id,
        lane=task_spec.lane,
        form=properties.get("formJsonSchemaFilename"),
        ui_form=properties.get("formUiSchemaFilename"),
        instructions=extensions.get("instructionsForEndUser"),
        due_expression=properties.get("dueDate"),
        assignee_expression=properties.get("assignee"),
    )


@dataclass
class ParsedSet:
    """The Spiff parse of one diagram set, ready to check and to store as a version."""

    processes: list[ProcessInfo]
    user_tasks: list[UserTaskSpec]
    specs_json: str


def parse_set(bpmn: dict[str, Any], dmn: dict[str, Any]) -> ParsedSet:
    """Parse safe lxml trees (name -> root element) with Spiff's parser and XSD validator.

    Raises SpiffWorkflow's ValidationException, which the caller turns into a located Problem.
    """
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, root in dmn.items():
        parser.add_dmn_xml(root, filename=name)
    for name, root in bpmn.items():
        parser.add_bpmn_xml(root.getroottree(), filename=name)
    processes: list[ProcessInfo] = []
    user_tasks: list[UserTaskSpec] = []
    stored: dict[str, Any] = {}
    for process_id in sorted(parser.get_process_ids()):
        spec = parser.get_spec(process_id)
        subprocesses = parser.get_subprocess_specs(process_id)
        processes.append(ProcessInfo(process_id, spec.description or process_id, spec.file))
        for each in [spec, *subprocesses.values()]:
            user_tasks.extend(
                _user_task_spec(each.name, each.file, ts)
                for ts in each.task_specs.values()
                if isinstance(ts, UserTaskMixin)
            )
        stored[process_id] = {
            # Whether instances may share this spec (see _SharedSpecs): not when an event subprocess
            # waits to be triggered, which only the parse tells (the serializer drops trigger_specs).
            "shareable": not any(getattr(each.start, "trigger_specs", None) for each in [spec, *subprocesses.values()]),
            "spec": _SERIALIZER.to_dict(spec),
            "subprocesses": {k: _SERIALIZER.to_dict(v) for k, v in subprocesses.items()},
        }
    unique = {(t.process_id, t.bpmn_id): t for t in user_tasks}
    return ParsedSet(processes, list(unique.values()), json.dumps(stored))


def parse_error_location(err: Exception) -> tuple[str | None, str | None, int | None]:
    """(file, element id, line) from a Spiff ValidationException, where it knows them."""
    line = getattr(err, "line_number", None)
    return getattr(err, "file_name", None), getattr(err, "id", None), int(line) if line else None


# ---------------------------------------------------------------------------------------------
# Running: what callers get back.


@dataclass(frozen=True)
class ReadyTask:
    id: str
    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    due_at: datetime | None
    assignee: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """Everything the service stores or indexes after an engine step."""

    state: str
    completed: bool
    ready_tasks: list[ReadyTask]
    next_timer_at: datetime | None
    waiting_for: list[str]
    data: dict[str, Any]


def _joins_ends(spec: Any) -> bool:
    """The engine's own end of a process (its end join and final task), which merges the copies of
    the data its branches carried, rather than changing any."""
    return isinstance(spec, _EndJoin) or (type(spec) is SimpleBpmnTask and spec.name == "End")


class Workflow:
    """One loaded instance. Construct with ``start`` or ``load``; mutate; ``snapshot``."""

    def __init__(self, workflow: BpmnWorkflow) -> None:
        self._wf = workflow
        self._completed: list[Any] = []  # tasks run in this step, whose data the frontier may lack
        self._wf.script_engine = SCRIPT_ENGINE  # deserialising restores the unrestricted default

    @classmethod
    def start(cls, spec_json: str, data: dict[str, Any], now: datetime, step_seconds: float) -> Workflow:
        """Start from one process's stored spec JSON (see ``parse_set``): with the version's shared
        spec objects, or with a fresh copy if the version cannot share them."""
        shared = _SPECS.get(spec_json)
        if shared is None:
            stored = json.loads(spec_json)
            spec = _SERIALIZER.from_dict(stored["spec"])
            subprocesses = {k: _SERIALIZER.from_dict(v) for k, v in stored["subprocesses"].items()}
        else:
            spec, subprocesses = shared
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=SCRIPT_ENGINE)
        workflow.cprflow_shared_spec = shared is not None
        instance = cls(workflow)
        instance._wf.task_tree.data.update(data)
        instance._completed.append(instance._wf.task_tree)  # so the start data counts as changed
        instance._run(now, step_seconds, lambda: None)
        return instance

    @classmethod
    def load(cls, state: str, spec_json: str) -> Workflow:
        """Restore an instance's state; ``spec_json`` is its version's stored spec for the process,
        used when the state does not carry a spec of its own."""
        token = _SHARING.set(_SPECS.get(spec_json))
        try:
            return cls(_SERIALIZER.deserialize_json(state))
        finally:
            _SHARING.reset(token)

    def continued(self) -> Workflow:
        """This live workflow, ready for its next step as restoring its saved state would leave it."""
        return type(self)(self._wf)

    def _run(self, now: datetime, step_seconds: float, action: Any) -> None:
        try:
            with expressions.engine_context(now, step_seconds):
                action()
                self._wf.do_engine_steps(did_complete_task=self._did_complete)
                self._prune()
        except _DIAGRAM_ERRORS as err:
            raise ScriptFailed(_describe_failure(err)) from err
        except MemoryError:
            # The step's memory bound (expressions._memory_bound) was hit before diagram code
            # could be blamed by name; the step is refused all the same and nothing is saved.
            raise ScriptFailed(f"diagram code failed: {_NO_MEMORY}") from None

    def _did_complete(self, task: Any) -> None:
        self._completed.append(task)
        expressions.check_deadline()  # the engine's own work counts against the step's time bound

    def _prune(self) -> None:
        """Keep state bounded for reviews whose loops run for years (the action-plan audit).

        SpiffWorkflow keeps every finished call-activity sub-workflow and every finished loop
        iteration, so state and step cost grow with each cycle (measured on the review diagrams:
        10x slower after 100 audit cycles). Nothing reads them again: their data has flowed on,
        and the event log keeps who did what. Dropping them kept 100 cycles within 1.2x of one.
        """
        wf = self._wf
        for task_id in list(wf.subprocesses):
            sub = wf.subprocesses.get(task_id)
            if sub is None or not sub.completed:
                continue
            owner = wf.get_task_from_id(task_id)
            if owner is not None and owner.has_state(TaskState.FINISHED_MASK):
                wf.delete_subprocess(owner)
        for loop in wf.get_tasks(state=TaskState.STARTED):
            if not isinstance(loop.task_spec, StandardLoopTask):
                continue
            merged = set(loop.internal_data.get("merged", ()))
            for child in list(loop.children):
                if child.state == TaskState.COMPLETED and str(child.id) in merged:
                    if child.id in wf.subprocesses:
                        wf.delete_subprocess(child)
                    child.workflow._remove_task(child.id)

    def ready_task(self, task_id: str) -> ReadyTask | None:
        """The ready user task with this id, or None if it is not one (any longer)."""
        task = self._find(task_id)
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, UserTaskMixin):
            return None
        return _ready_task(task, None, None)

    def has_task(self, task_id: str) -> bool:
        return self._find(task_id) is not None

    def complete(self, task_id: str, data: dict[str, Any], now: datetime, step_seconds: float) -> ReadyTask:
        task = self._find(task_id)
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, UserTaskMixin):
            raise LookupError(task_id)
        completed = _ready_task(task, None, None)

        def action() -> None:
            task.data.update(data)
            task.run()
            self._completed.append(task)

        self._run(now, step_seconds, action)
        return completed

    def send(self, name: str, payload: dict[str, Any], now: datetime, step_seconds: float) -> str:
        """Deliver a message or signal; returns which kind it was."""
        waiting = {(e.name, e.event_type) for e in self._wf.waiting_events()}
        if (name, "MessageEventDefinition") in waiting:
            kind, definition = "message", MessageEventDefinition(name)
        elif (name, "SignalEventDefinition") in waiting:
            kind, definition = "signal", SignalEventDefinition(name)
        else:
            raise NotWaiting(f"nothing in this instance is waiting for '{name}'")
        self._run(now, step_seconds, lambda: self._wf.send_event(BpmnEvent(definition, payload)))
        return kind

    def migrate(self, spec_json: str, now: datetime, step_seconds: float) -> Migration:
        """Move onto another version's spec, or say why not (see ``_migrate``)."""
        return _migrate(self, spec_json, now, step_seconds)

    def due_timers(self, now: datetime) -> list[str]:
        """Element ids of timers whose moment has come."""
        return [bpmn_id for bpmn_id, due in self._timers() if due <= now]

    def fire_timers(self, now: datetime, step_seconds: float) -> None:
        # SpiffWorkflow fires a timer only once its moment is strictly past; we call a timer due
        # at its moment, so the engine looks a microsecond later than the run.
        self._run(now + timedelta(microseconds=1), step_seconds, self._wf.refresh_timers)

    def snapshot(self, now: datetime, step_seconds: float, known: set[str] | frozenset[str] = frozenset()) -> Snapshot:
        """State and indexes after a step. Due dates and assignees are worked out once, when a
        task first becomes ready, so tasks already in ``known`` are not evaluated again."""
        ready = [
            t for t in self._wf.get_tasks(state=TaskState.READY, manual=True) if isinstance(t.task_spec, UserTaskMixin)
        ]
        try:
            with expressions.engine_context(now, step_seconds):
                tasks = [_ready_task(t, now, None if str(t.id) in known else SCRIPT_ENGINE) for t in ready]
        except _DIAGRAM_ERRORS as err:
            raise ScriptFailed(_describe_failure(err)) from err
        except MemoryError:
            raise ScriptFailed(f"diagram code failed: {_NO_MEMORY}") from None
        timers = [due for _, due in self._timers()]
        waiting = sorted(
            {
                e.name
                for e in self._wf.waiting_events()
                if e.event_type in ("MessageEventDefinition", "SignalEventDefinition")
            }
        )
        return Snapshot(
            state=_SERIALIZER.serialize_json(self._wf),
            completed=self._wf.completed,
            ready_tasks=tasks,
            next_timer_at=min(timers) if timers else None,
            waiting_for=waiting,
            data=self._current_data(ready, known),
        )

    def _current_data(self, ready: list[Any], known: set[str] | frozenset[str]) -> dict[str, Any]:
        """What this step changed in the case's data, for callers to merge over what they knew.

        Only each task's own changes count (its data against its parent's): a task that has been
        open for weeks carries a copy of the data from when it opened, and that stale copy must
        not overwrite what other branches have changed since. A loop iteration counts whole, as
        its loop has already merged it. Multi-instance children's item variables never count.
        """
        # Data objects are shared state the diagram keeps on purpose: they are the newest word,
        # also over what the last branch to end left in the workflow's data.
        objects = {k: v for k, v in (self._wf.data.get("data_objects") or {}).items() if v is not None}
        merged: dict[str, Any] = {}
        for task in [*self._completed, *(t for t in ready if str(t.id) not in known)]:
            if _joins_ends(task.task_spec):
                # The end of a process only merges its branches' copies, the last to end winning:
                # a chase withdrawn at closure would bring back the data of the day it opened.
                continue
            parent_spec = getattr(task.parent, "task_spec", None)
            if isinstance(parent_spec, MultiInstanceTask) and task.task_spec.name == parent_spec.task_spec:
                continue  # an instance of the activity; the task after it is the parent's child too, and counts
            if task.parent is None or isinstance(parent_spec, StandardLoopTask):
                merged.update(task.data)
            else:
                base = task.parent.data
                merged.update({k: v for k, v in task.data.items() if k not in base or base[k] != v})
        merged.update(objects)
        return merged

    def element_states(self) -> dict[str, str]:
        """Read-only, for the trace: each element of the top-level process that has a task now.

        ``completed``, ``active`` (a ready user task), ``waiting`` (a timer, message, signal or a
        call activity under way) or ``ready`` (an engine task about to run); an element with
        several tasks (loops, a path taken twice) reports its liveliest. Pruned sub-workflows and
        loop iterations are gone from here: the event log keeps that history.
        """
        rank = {"completed": 0, "ready": 1, "waiting": 2, "active": 3}
        states: dict[str, str] = {}
        for task in self._wf.get_tasks():
            if task.workflow is not self._wf:
                continue
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                state = "completed"
            elif task.state == TaskState.READY:
                state = "active" if isinstance(task.task_spec, UserTaskMixin) else "ready"
            elif task.state in (TaskState.WAITING, TaskState.STARTED):
                state = "waiting"
            else:
                continue
            if rank[state] >= rank.get(states.get(bpmn_id, ""), -1):
                states[bpmn_id] = state
        return states

    def waiting_on(self) -> dict[str, str]:
        """Read-only, for the trace: element id -> the message or signal name it waits for."""
        found: dict[str, str] = {}
        for task in self._wf.get_tasks(state=TaskState.WAITING):
            if task.workflow is not self._wf:
                continue
            definition = getattr(task.task_spec, "event_definition", None)
            name = getattr(definition, "name", None)
            if name and getattr(task.task_spec, "bpmn_id", None):
                found[task.task_spec.bpmn_id] = str(name)
        return found

    def fix_data(self, values: dict[str, Any]) -> None:
        """An administrator's correction: set these keys wherever the process will read them next
        (the workflow's data and every task not yet finished), without running anything."""
        self._wf.data.update(values)
        for task in self._wf.get_tasks(
            state=TaskState.READY
            | TaskState.WAITING
            | TaskState.STARTED
            | TaskState.FUTURE
            | TaskState.LIKELY
            | TaskState.MAYBE
        ):
            task.data.update(values)

    def _find(self, task_id: str) -> Any:
        try:
            return self._wf.get_task_from_id(UUID(task_id))
        except (ValueError, SpiffWorkflowException):
            return None

    def _timers(self) -> list[tuple[str, datetime]]:
        found = []
        for task in list(self._wf.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            if not isinstance(definition, _timer_module.TimerEventDefinition):
                continue
            value = task.internal_data.get("event_value")
            if isinstance(value, dict):
                if value.get("cycles", 0) == 0:
                    continue
                value = value["next"]
            if value is None:
                continue
            due = value if isinstance(value, datetime) else _timer_module.TimerEventDefinition.get_datetime(str(value))
            found.append((task.task_spec.bpmn_id or task.task_spec.name, due.astimezone(UTC)))
        return found


def _ready_task(task: Any, now: datetime | None, engine: RestrictedScriptEngine | None) -> ReadyTask:
    declared = _user_task_spec(task.workflow.spec.name, task.workflow.spec.file, task.task_spec)
    due_at, assignee = None, None
    if engine is not None:
        if declared.due_expression:
            due_at = _as_due(engine.evaluate(task, declared.due_expression))
        if declared.assignee_expression:
            found = engine.evaluate(task, declared.assignee_expression)
            assignee = None if found is None else str(found)
    return ReadyTask(
        id=str(task.id),
        bpmn_id=declared.bpmn_id,
        name=declared.name,
        lane=declared.lane,
        form=declared.form,
        ui_form=declared.ui_form,
        instructions=declared.instructions,
        due_at=due_at,
        assignee=assignee,
        data=task.data,
    )


def _as_due(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) == 10:
        value = expressions.timer_at(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ExpressionError(f"dueDate gave {value!r}, not a date")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _describe_failure(err: Exception) -> str:
    task = getattr(err, "task", None) or getattr(getattr(err, "__cause__", None), "task", None)
    where = f" at '{task.task_spec.bpmn_id}'" if task is not None and task.task_spec.bpmn_id else ""
    message = str(err).splitlines()[0] if str(err) else err.__class__.__name__
    return f"diagram code failed{where}: {message}"


# ---------------------------------------------------------------------------------------------
# Migration: move a running instance onto a newer version's specs, with SpiffWorkflow's own
# alignment (SpiffWorkflow.bpmn.util.diff): tasks keep their history; open and waiting tasks are
# reset onto the new specs and predicted again, which re-reads their timers from the data.

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Migration:
    """Whether an instance can move to a spec, why not, and what changes for it (plain JSON)."""

    movable: bool
    reasons: list[str]
    changes: dict[str, Any]


def _label(spec: Any) -> str:
    return str(spec.bpmn_id or spec.name)


def _shown(spec: Any) -> bool:
    """Elements a process owner drew; Spiff adds its own start, end and join specs."""
    return bool(spec.bpmn_id)


def _element_changes(spec_diff: Any) -> dict[str, Any]:
    return {
        "added": sorted(_label(s) for s in spec_diff.added if _shown(s)),
        "removed": sorted(_label(s) for s in spec_diff.removed if _shown(s)),
        "changed": {_label(s): sorted(c) for s, c in spec_diff.changed.items() if _shown(s)},
    }


def _refusals(workflow_diff: Any, spec_diff: Any, process: str) -> list[str]:
    reasons = []
    for task in workflow_diff.removed:
        spec = task.task_spec
        where = f"'{spec.bpmn_name or _label(spec)}' ({process})"
        if task.has_state(_ACTIVE):
            reasons.append(f"it is at {where}, which the new version removes")
        elif task.has_state(TaskState.COMPLETED) and _shown(spec):
            reasons.append(f"it has passed {where}, which the new version removes, so its history could not be kept")
    for task in workflow_diff.changed:
        if task.has_state(_ACTIVE) and "typename" in spec_diff.changed.get(task.task_spec, ()):
            reasons.append(
                f"it is at '{task.task_spec.bpmn_name or _label(task.task_spec)}' ({process}), "
                "which the new version makes a different kind of element"
            )
    return reasons


def _behind(wf: Any, spec_diff: Any) -> list[str]:
    """Elements the new version adds that this (moved) workflow will never run: nothing it still has
    to do leads to them, so they are behind where it is (or on a path it did not take). Whatever such
    an element would have set (a decision table's answer, a script's variable) the instance lacks."""
    ahead: set[str] = set()
    stack = [t.task_spec for t in wf.get_tasks(state=TaskState.NOT_FINISHED_MASK) if t.workflow is wf]
    while stack:
        spec = stack.pop()
        if spec.name not in ahead:
            ahead.add(spec.name)
            stack.extend(spec.outputs)
    return sorted(_label(s) for s in spec_diff.added if _shown(s) and s.name not in ahead)


def _open_user_tasks(wf: Any) -> list[str]:
    return sorted(
        str(t.task_spec.bpmn_id) for t in wf.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, UserTaskMixin)
    )


def _migrate(self: Workflow, spec_json: str, now: datetime, step_seconds: float) -> Migration:
    """Move this instance onto ``spec_json`` (one process's stored spec, see ``parse_set``).

    Refused, leaving the instance untouched, when an open or waiting element is removed or becomes
    a different kind of element, when a sub-process it is inside is gone, or when it has passed an
    element that is removed (SpiffWorkflow could not restore its history). On success the
    instance has run its engine steps on the new specs; the caller saves it as after any step.
    """
    from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff

    registry = _SERIALIZER.registry
    shared = _SPECS.get(spec_json)  # the new version's spec objects, if its instances share them
    if shared is not None:
        new_spec, new_deps = shared
    else:
        stored = json.loads(spec_json)
        new_spec = _SERIALIZER.from_dict(stored["spec"])
        new_deps = {k: _SERIALIZER.from_dict(v) for k, v in stored["subprocesses"].items()}
    wf = self._wf
    if new_spec.name != wf.spec.name:
        return Migration(False, [f"the new version's process is '{new_spec.name}', not '{wf.spec.name}'"], {})
    tasks_before, timers_before = _open_user_tasks(wf), self._timers()
    top_spec_diff = SpecDiff(registry, wf.spec, new_spec)
    top = WorkflowDiff(wf, top_spec_diff)
    reasons = _refusals(top, top_spec_diff, wf.spec.name)
    elements = {wf.spec.name: _element_changes(top_spec_diff)}
    subs = []
    spec_diffs = [(wf, top_spec_diff)]
    for sp in list(wf.subprocesses.values()):
        name = sp.spec.name
        if name not in new_deps:
            if not sp.completed:
                reasons.append(f"it is inside '{name}', which the new version no longer has")
            continue
        sp_spec_diff = SpecDiff(registry, sp.spec, new_deps[name])
        sp_diff = WorkflowDiff(sp, sp_spec_diff)
        reasons.extend(_refusals(sp_diff, sp_spec_diff, name))
        elements.setdefault(name, _element_changes(sp_spec_diff))
        subs.append((sp, sp_diff, new_deps[name]))
        spec_diffs.append((sp, sp_spec_diff))
    for name, dep in new_deps.items():
        if name not in elements and name in wf.subprocess_specs:
            elements[name] = _element_changes(SpecDiff(registry, wf.subprocess_specs[name], dep))
    elements = {k: v for k, v in elements.items() if v["added"] or v["removed"] or v["changed"]}
    changes: dict[str, Any] = {"elements": elements}
    if reasons:
        return Migration(False, sorted(set(reasons)), changes)

    def move() -> None:  # inside the step's clock: resetting a waiting timer reads "now"
        _move(top, wf, new_spec)
        for sp, sp_diff, dep in subs:
            _move(sp_diff, sp, dep)
        wf.subprocess_specs = new_deps
        wf.cprflow_shared_spec = shared is not None

    self._run(now, step_seconds, move)
    token = _SHARING.set(shared)
    try:  # the state must restore as it will be stored; anything else is a refusal
        _SERIALIZER.deserialize_json(_SERIALIZER.serialize_json(wf))
    except Exception as err:
        return Migration(
            False, [f"its state would not restore on the new version ({type(err).__name__}: {err})"], changes
        )
    finally:
        _SHARING.reset(token)
    timers_after = self._timers()
    changes.update(
        tasks={"before": tasks_before, "after": _open_user_tasks(wf)},
        timers={"before": _timer_list(timers_before), "after": _timer_list(timers_after)},
    )
    behind = {w.spec.name: _behind(w, d) for w, d in spec_diffs if not w.completed}
    behind = {k: v for k, v in behind.items() if v}
    if behind:
        changes["behind"] = behind  # added where it has passed: it will not run them
    return Migration(True, [], changes)


def _move(diff: Any, wf: Any, spec: Any) -> None:
    """SpiffWorkflow's ``migrate_workflow``, except that a reset task keeps its own data.

    The library resets open and waiting tasks to their parent's data, which drops what only the
    task holds: a multi-instance item (one agency's timeline task lost ``agency`` and its
    pre-script failed), or values a pre-script set."""
    wf.spec = spec
    for task in wf.tasks.values():
        aligned = diff.alignment.get(task)
        if aligned is not None:
            task.task_spec = aligned
    for task in list(wf.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True)):
        if task.id in wf.tasks:  # an earlier reset may have dropped it already
            task.reset_branch(copy.deepcopy(task.data))
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None


def _timer_list(timers: list[tuple[str, datetime]]) -> list[dict[str, str]]:
    return sorted(
        ({"element": bpmn_id, "due": due.isoformat()} for bpmn_id, due in timers),
        key=lambda t: (t["element"], t["due"]),
    )
