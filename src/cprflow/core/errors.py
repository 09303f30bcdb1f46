"""Domain errors: one root, a stable code each, no HTTP in sight (the web layer maps codes)."""

from __future__ import annotations

from dataclasses import dataclass, field


class CprflowError(Exception):
    """Root of every error cprflow reports to a person or a client."""

    code = "error"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(CprflowError):
    code = "not_found"


class Conflict(CprflowError):
    """The thing changed under the caller: a task no longer ready, a lost race."""

    code = "conflict"


class TaskNotReady(Conflict):
    code = "task_not_ready"


class TaskClosed(TaskNotReady):
    """Someone (or the process) closed the task first: who, when, and in which case, to say so."""

    def __init__(self, message: str, *, instance_id: int, by: str | None, by_name: str | None, at: object) -> None:
        super().__init__(message)
        self.instance_id, self.by, self.by_name, self.at = instance_id, by, by_name, at


class InstanceNotActive(Conflict):
    code = "instance_not_active"


@dataclass(frozen=True)
class Failure:
    """One field that failed its form, as data: the JSON pointer, the schema keyword that failed and
    that keyword's value in the schema (``maxLength`` -> 200), so each edge can word it for people."""

    pointer: str
    keyword: str
    value: object = None


class InvalidData(CprflowError):
    """Submitted data does not fit its form or contract; ``fields`` maps JSON pointers to messages.

    ``failures`` says the same as data, where a form was checked (see ``cprflow.core.form_messages``)."""

    code = "invalid_data"

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, failures: tuple[Failure, ...] = ()
    ) -> None:
        super().__init__(message, fields=fields)
        self.failures = failures


class NotWaiting(CprflowError):
    """A message or signal was sent that nothing in the instance is waiting for."""

    code = "not_waiting"


class ExpressionError(CprflowError):
    """A diagram expression that will not compile or is refused."""

    code = "expression_refused"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class StepTimeout(CprflowError):
    code = "step_timeout"


class ScriptFailed(CprflowError):
    """A diagram script, condition or decision failed while the engine ran; nothing was saved."""

    code = "script_failed"


class Text(str):
    """An English message that keeps its template and parameters, so that a page can say it in the
    reader's language: the template is a msgid of the page catalogue (``%(name)s`` placeholders),
    translated at display time (``web.common.say``). Everywhere else it is the English string it
    equals: the API, the command line, the logs. A parameter may itself be a ``Text``.

        Text("form '%(form)s' not found in forms/", form="referral.schema.json")
    """

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, **params: object) -> Text:
        made = super().__new__(cls, template % params if params else template)
        made.template, made.params = template, params
        return made


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram set, located as precisely as we can (``message`` is a ``Text``
    where the check words it for people, so the process owners' pages can show it in Welsh)."""

    file: str
    message: str
    element: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"


@dataclass
class DeployRefused(CprflowError):
    """A diagram set that failed its checks; nothing was stored."""

    problems: list[Problem] = field(default_factory=list)
    code = "deploy_refused"

    def __post_init__(self) -> None:
        summary = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        CprflowError.__init__(self, f"diagram set refused: {summary}{more}")


class Unauthenticated(CprflowError):
    """No valid credentials: a missing, forged or expired token, or a wrong password."""

    code = "unauthenticated"


class Forbidden(CprflowError):
    """Signed in, but this role or assignment does not allow it."""

    code = "forbidden"


class MigrationRefused(Conflict):
    """A running instance cannot move to the chosen version; the reasons say why."""

    code = "migration_refused"
