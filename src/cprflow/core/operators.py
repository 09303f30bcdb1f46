"""Service-task operators: what a diagram's service task may ask the system to do.

A process owner writes a service task in the Spiff modeler's format, naming an operator and
giving its parameters as expressions::

    <bpmn:serviceTask id="tell_subgroup" name="Tell the Sub-Group">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify" resultVariable="notified">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="template" type="str" value="'referral_received'"/>

The diagram decides *when* and *with what*; the operator (Python, registered here) only does the
work: queue an email, file findings, check a document. Operators run inside the engine step, in the
same transaction as the step, so their writes commit or roll back with it. An operator may answer at
once (its return value, plain JSON, lands in ``resultVariable``) and may defer writes that need the
instance's row until the step is saved (``StepContext.defer``): at a start the row does not exist yet.

The deploy check refuses a service task naming an operator that is not registered, or giving a
parameter it does not take, or leaving out one it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cprflow.core.errors import CprflowError, Text

#: The step's database session. Typed loosely on purpose: the core knows no SQLAlchemy; the features
#: that register operators (``cprflow.bootstrap``) are the ones that use it.
Session = Any
Deferred = Callable[[Session, int], None]


@dataclass
class StepContext:
    """What an operator may use: the step's transaction, its instance (None while starting), who
    caused the step and the engine's clock; and a list of writes to make once the step is saved."""

    session: Session
    instance_id: int | None
    actor: str
    now: datetime
    deferred: list[Deferred] = field(default_factory=list)

    def defer(self, write: Deferred) -> None:
        self.deferred.append(write)

    def apply(self, instance_id: int) -> None:
        """Run the deferred writes; called by the service once the step's state is written."""
        self.instance_id = instance_id
        pending, self.deferred = self.deferred, []
        for write in pending:
            write(self.session, instance_id)


@dataclass(frozen=True)
class Operator:
    name: str
    run: Callable[[StepContext, dict[str, Any]], Any]
    required: frozenset[str]
    optional: frozenset[str]
    doc: str


_REGISTRY: dict[str, Operator] = {}
_CURRENT: ContextVar[StepContext | None] = ContextVar("cprflow_step", default=None)


class OperatorFailed(CprflowError):
    """An operator refused its parameters or could not do its work; the step fails as a whole."""

    code = "operator_failed"


def register(name: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    def decorate(run: Callable[[StepContext, dict[str, Any]], Any]) -> Callable[[StepContext, dict[str, Any]], Any]:
        _REGISTRY[name] = Operator(name, run, frozenset(required), frozenset(optional), (run.__doc__ or "").strip())
        return run

    return decorate


def registry() -> dict[str, Operator]:
    """The operators registered so far: the features' ones once ``cprflow.bootstrap.install()`` ran."""
    return dict(_REGISTRY)


def problems_with(name: str, params: set[str]) -> list[str]:
    """What is wrong with a service task calling ``name`` with these parameter names (deploy check)."""
    operator = registry().get(name)
    if operator is None:
        known = ", ".join(sorted(registry())) or "none"
        return [Text("no operator '%(name)s' (known: %(known)s)", name=name, known=known)]
    found: list[str] = [
        Text("'%(name)s' has no parameter '%(param)s'", name=name, param=p)
        for p in sorted(params - operator.required - operator.optional)
    ]
    found += [
        Text("'%(name)s' needs parameter '%(param)s'", name=name, param=p) for p in sorted(operator.required - params)
    ]
    return found


@contextmanager
def step(session: Session, instance_id: int | None, actor: str, now: datetime) -> Iterator[StepContext]:
    """Frame one engine step so the service tasks it runs can reach the transaction."""
    context = StepContext(session, instance_id, actor, now)
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


def call(name: str, params: dict[str, Any]) -> Any:
    """Run an operator for the engine; its answer must be plain JSON."""
    operator = registry().get(name)
    if operator is None:
        raise OperatorFailed(f"no operator '{name}'")
    context = _CURRENT.get()
    if context is None:
        raise OperatorFailed(f"operator '{name}' ran outside a service step")
    problems = problems_with(name, set(params))
    if problems:
        raise OperatorFailed("; ".join(problems))
    return operator.run(context, params)
