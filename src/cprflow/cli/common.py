"""What every ``cprflow`` command shares: its context (settings, database, output format), printing
results as text or JSON, and turning domain errors into a message and exit status 1."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from cprflow.config import Settings
from cprflow.core.errors import CprflowError, DeployRefused, InvalidData
from cprflow.core.views import InstanceView, TaskView
from cprflow.db.database import Database


@dataclasses.dataclass
class Context:
    settings: Settings
    as_json: bool
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.database_url)
        return self._db


def now() -> datetime:
    return datetime.now(UTC)


def at_time(at: str | None) -> datetime:
    """``--at``: act as at this ISO date or time (UTC unless it says otherwise), else now."""
    if not at:
        return now()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidData(f"--at is not an ISO date or datetime: {at!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def fail(err: CprflowError) -> NoReturn:
    if isinstance(err, DeployRefused):
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
    else:
        click.echo(f"error: {err.message}", err=True)
        for pointer, messages in err.fields.items():
            click.echo(f"error: {pointer}: {'; '.join(messages)}", err=True)
    sys.exit(1)


def json_arg(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as err:
        raise InvalidData(f"{what} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise InvalidData(f"{what} must be a JSON object")
    return value


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def out(ctx: Context, value: Any, lines: list[str]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(plain(value), indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


def task_line(t: TaskView) -> str:
    due = f" due {t.due_at.date().isoformat()}" if t.due_at else ""
    who = f" for {t.assignee}" if t.assignee else ""
    return f"{t.id}  #{t.instance_id}  [{t.lane or '-'}]  {t.name}{due}{who}"


def instance_lines(i: InstanceView) -> list[str]:
    lines = [f"instance {i.id}  {i.process_id} (version {i.version_id})  {i.status}"]
    if i.error:
        lines.append(f"  error: {i.error}")
    if i.next_timer_at:
        lines.append(f"  next timer: {i.next_timer_at.isoformat()}")
    if i.waiting_for:
        lines.append(f"  waiting for: {', '.join(i.waiting_for)}")
    lines.extend(f"  task {task_line(t)}" for t in i.open_tasks)
    return lines


pass_ctx = click.make_pass_decorator(Context)


def handles_errors(fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CprflowError as err:
            fail(err)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def stop_on_term() -> threading.Event:
    """An event set by SIGTERM, so a worker told to stop finishes what it is doing and returns."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    return stop
