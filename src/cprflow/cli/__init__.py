"""The ``cprflow`` command: set up, deploy, drive and inspect instances from a shell."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import click

from cprflow import bootstrap, services
from cprflow.cli import notifications as notify_commands
from cprflow.cli.common import (
    Context,
    at_time,
    handles_errors,
    instance_lines,
    json_arg,
    now,
    out,
    pass_ctx,
    stop_on_term,
    task_line,
)
from cprflow.cli.serve import children, gunicorn_installed, supervise, web_workers
from cprflow.config import MailSettings, Settings
from cprflow.core.errors import InvalidData
from cprflow.db import audit
from cprflow.db.models import ROLES
from cprflow.demo import cases as demo_data
from cprflow.diagrams import diagram_set, versions
from cprflow.features import documents, notifications
from cprflow.features.extraction import Bounds
from cprflow.services import datafix, deployments, modeling, timers, users
from cprflow.web import create_app


@click.group()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def main(click_ctx: click.Context, as_json: bool) -> None:
    """cprflow: Child Practice Reviews as executable diagrams."""
    bootstrap.install()
    click_ctx.obj = Context(Settings.from_env(), as_json)


@main.command()
@pass_ctx
@handles_errors
def init(ctx: Context) -> None:
    """Create or upgrade the database schema."""
    ctx.db.upgrade()
    out(ctx, {"database": ctx.settings.database_url.split("@")[-1]}, ["database is up to date"])


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), help="Folder of diagrams (default: processes/).")
@click.option("--forms", "forms_dir", type=click.Path(path_type=Path), help="Folder of forms (default: forms/).")
@click.option("--as", "actor", default="cli", show_default=True)
@click.option("--note", default=None, help="Why: kept with the version and shown in its changes.")
@pass_ctx
@handles_errors
def deploy(ctx: Context, directory: Path | None, forms_dir: Path | None, actor: str, note: str | None) -> None:
    """Check and deploy the diagram set as a new version (unchanged files: no-op)."""
    diagrams = diagram_set.read_directories(
        directory or ctx.settings.processes_dir, forms_dir or ctx.settings.forms_dir
    )
    result = services.deploy(ctx.db, diagrams, actor=actor, now=now(), note=(note or "").strip() or None)
    lines = [result.message, *(f"  {p['id']}: {p['name']}" for p in result.processes)]
    out(ctx, result, [*lines, *(f"warning: {w}" for w in result.warnings)])


@main.command("make-current")
@click.argument("version_id", type=int)
@click.option("--as", "actor", default="cli", show_default=True)
@click.option("--note", default=None, help="Why: recorded with the change.")
@pass_ctx
@handles_errors
def make_current(ctx: Context, version_id: int, actor: str, note: str | None) -> None:
    """Make a deployed version current: new reviews start on it (running ones stay where they are)."""
    result = deployments.make_current(ctx.db, version_id, actor=actor, now=now(), note=(note or "").strip() or None)
    out(ctx, result, [result.message])


@main.command("processes")
@pass_ctx
@handles_errors
def list_processes(ctx: Context) -> None:
    """List deployed versions and their processes, newest first."""
    versions = services.list_versions(ctx.db)
    lines = []
    for v in versions:
        lines.append(
            f"version {v['id']}  {v['deployed_at'].isoformat()}  by {v['deployed_by']}  {v['content_hash'][:12]}"
            + ("  [current]" if v.get("current") else "")
            + (f"  ({v['note']})" if v.get("note") else "")
        )
        lines.extend(f"  {p['id']}: {p['name']}" for p in v["processes"])
    out(ctx, versions, lines or ["nothing deployed yet"])


@main.command()
@click.argument("process")
@click.option("--data", default="{}", help="Initial data as a JSON object.")
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def start(ctx: Context, process: str, data: str, actor: str) -> None:
    """Start an instance of PROCESS."""
    view = services.start_instance(
        ctx.db, process, json_arg(data, "--data"), actor=actor, now=now(), step_seconds=ctx.settings.step_seconds
    )
    out(ctx, view, instance_lines(view))


@main.command()
@click.option("--lane")
@click.option("--instance", "instance_id", type=int)
@pass_ctx
@handles_errors
def tasks(ctx: Context, lane: str | None, instance_id: int | None) -> None:
    """List ready user tasks."""
    found = services.list_tasks(ctx.db, lane=lane, instance_id=instance_id)
    out(ctx, found, [task_line(t) for t in found] or ["no ready tasks"])


@main.command()
@click.argument("task")
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--as", "actor", required=True, help="Who is completing the task.")
@pass_ctx
@handles_errors
def complete(ctx: Context, task: str, data: str, actor: str) -> None:
    """Complete a ready user task with form data."""
    view = services.complete_task(
        ctx.db, task, json_arg(data, "--data"), actor=actor, now=now(), step_seconds=ctx.settings.step_seconds
    )
    out(ctx, view, instance_lines(view))


@main.command()
@click.argument("instance_id", type=int)
@click.argument("name")
@click.option("--data", default="{}", help="Payload as a JSON object.")
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def send(ctx: Context, instance_id: int, name: str, data: str, actor: str) -> None:
    """Send message or signal NAME with a payload to an instance."""
    view = services.send_message(
        ctx.db,
        instance_id,
        name,
        json_arg(data, "--data"),
        actor=actor,
        now=now(),
        step_seconds=ctx.settings.step_seconds,
    )
    out(ctx, view, instance_lines(view))


@main.group("timers")
def timers_group() -> None:
    """Fire due timers."""


@timers_group.command("run")
@click.option("--at", "at", help="Fire timers due at this ISO time instead of now (time travel).")
@pass_ctx
@handles_errors
def timers_run(ctx: Context, at: str | None) -> None:
    """Fire every timer that is due, once."""
    run = timers.run_due(ctx.db, now=at_time(at), step_seconds=ctx.settings.step_seconds)
    out(ctx, run, [f"fired {len(run.fired)}, failed {len(run.failed)}, conflicts {len(run.conflicts)}"])


@timers_group.command("worker")
@pass_ctx
def timers_worker(ctx: Context) -> None:
    """Keep firing timers as they fall due (Ctrl-C to stop)."""
    click.echo(f"timer worker polling at most every {ctx.settings.timer_poll_seconds}s")
    try:
        timers.work(
            ctx.db,
            poll_seconds=ctx.settings.timer_poll_seconds,
            step_seconds=ctx.settings.step_seconds,
            stop=stop_on_term(),
        )
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--status")
@click.option("--process", "process_id")
@click.option("--page", default=1, type=click.IntRange(min=1))
@pass_ctx
@handles_errors
def instances(ctx: Context, status: str | None, process_id: str | None, page: int) -> None:
    """List instances, newest first."""
    found, total = services.list_instances(
        ctx.db, status=status, process_id=process_id, limit=50, offset=(page - 1) * 50
    )
    lines = [f"{i.id}  {i.process_id}  v{i.version_id}  {i.status}  updated {i.updated_at.isoformat()}" for i in found]
    out(ctx, {"instances": found, "total": total}, lines or ["no instances"])


@main.command()
@click.argument("instance_id", type=int)
@click.option("--events", "with_events", is_flag=True, help="Also print the event trace.")
@pass_ctx
@handles_errors
def show(ctx: Context, instance_id: int, with_events: bool) -> None:
    """Show one instance: status, open tasks, timers, data."""
    view = services.get_instance(ctx.db, instance_id)
    events = services.list_events(ctx.db, instance_id) if with_events else []
    lines = instance_lines(view) + [f"  data: {json.dumps(view.data, default=str, sort_keys=True)}"]
    lines += [f"  event {e.id} {e.at.isoformat()} {e.kind} by {e.actor}" for e in events]
    out(ctx, {"instance": view, "events": events} if with_events else view, lines)


for _action in ("suspend", "resume", "terminate", "retry"):

    def _make(action: str) -> Any:
        @click.argument("instance_id", type=int)
        @click.option("--reason", required=True, help="Why; recorded in the trace.")
        @click.option("--as", "actor", default="cli", show_default=True)
        @pass_ctx
        @handles_errors
        def command(ctx: Context, instance_id: int, reason: str, actor: str) -> None:
            view = services.set_status(ctx.db, instance_id, action, reason=reason, actor=actor, now=now())
            out(ctx, view, instance_lines(view))

        command.__doc__ = f"{action.capitalize()} an instance (admins), with a recorded reason."
        return main.command(action)(command)

    _make(_action)


@main.group("users")
def users_group() -> None:
    """Manage accounts: add, passwd, roles, disable, list, link and unlink provider identities."""


def _password(given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_line(u: users.UserView) -> str:
    agency = f" ({u.agency})" if u.agency else ""
    state = "  DISABLED" if u.disabled else ""
    return f"{u.username}{agency}  roles: {', '.join(u.roles)}  language: {u.language}{state}"


@users_group.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help=f"One of: {', '.join(ROLES)}. Repeat for several.")
@click.option("--agency", help="The agency an agency user acts for.")
@click.option("--name", "display_name", help="Full name shown on pages.")
@click.option("--language", default="en", type=click.Choice(["en", "cy"]))
@click.option("--password", help="Prefer stdin or the prompt: a password here lands in shell history.")
@pass_ctx
@handles_errors
def users_add(
    ctx: Context,
    username: str,
    roles: tuple[str, ...],
    agency: str | None,
    display_name: str | None,
    language: str,
    password: str | None,
) -> None:
    """Add an account (the password is read from stdin or prompted for)."""
    user = users.add_user(
        ctx.db,
        username,
        password=_password(password),
        roles=list(roles),
        agency=agency,
        display_name=display_name,
        language=language,
        now=now(),
    )
    out(ctx, user, [f"added {_user_line(user)}"])


@users_group.command("passwd")
@click.argument("username")
@click.option("--password", help="Prefer stdin or the prompt.")
@pass_ctx
@handles_errors
def users_passwd(ctx: Context, username: str, password: str | None) -> None:
    """Set a new password; every token issued before stops working."""
    user = users.set_password(ctx.db, username, _password(password))
    out(ctx, user, [f"password changed for {user.username}"])


@users_group.command("roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--agency")
@pass_ctx
@handles_errors
def users_roles(ctx: Context, username: str, roles: tuple[str, ...], agency: str | None) -> None:
    """Replace an account's roles."""
    user = users.set_roles(ctx.db, username, list(roles), agency)
    out(ctx, user, [_user_line(user)])


@users_group.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@pass_ctx
@handles_errors
def users_disable(ctx: Context, username: str, enable: bool) -> None:
    """Disable an account (its tokens stop working at once)."""
    user = users.set_disabled(ctx.db, username, not enable)
    out(ctx, user, [_user_line(user)])


@users_group.command("link")
@click.argument("username")
@click.option("--issuer", required=True, help="The identity provider's issuer URL, as in its ID tokens.")
@click.option("--subject", required=True, help="The person's subject ('sub') at that provider.")
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def users_link(ctx: Context, username: str, issuer: str, subject: str, actor: str) -> None:
    """Let a provider identity sign in as an existing account (it keeps its roles); recorded as an event."""
    user = users.link_identity(ctx.db, username, issuer, subject, actor=actor, now=now())
    out(ctx, user, [f"{issuer} {subject} now signs in as {user.username}"])


@users_group.command("unlink")
@click.option("--issuer", required=True)
@click.option("--subject", required=True)
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def users_unlink(ctx: Context, issuer: str, subject: str, actor: str) -> None:
    """Stop a provider identity signing in as the account it is linked to; recorded as an event."""
    users.unlink_identity(ctx.db, issuer, subject, actor=actor, now=now())
    out(ctx, {"issuer": issuer, "subject": subject}, [f"{issuer} {subject} is no longer linked"])


@users_group.command("list")
@pass_ctx
@handles_errors
def users_list(ctx: Context) -> None:
    """List accounts."""
    found = users.list_users(ctx.db)
    out(ctx, found, [_user_line(u) for u in found] or ["no accounts"])


@main.group("documents")
def documents_group() -> None:
    """Case documents kept in the store."""


@documents_group.command("read-text")
@pass_ctx
@handles_errors
def documents_read_text(ctx: Context) -> None:
    """Read the text of documents left unread (their upload's process stopped first), within the bounds."""
    bounds = Bounds(seconds=ctx.settings.extract_seconds, memory_mb=int(ctx.settings.extract_memory_mb))
    found = documents.read_pending(ctx.db, bounds)
    out(ctx, found, [f"document {d.id} ({d.slot} v{d.version}): {d.text_status}" for d in found] or ["none unread"])


@main.command()
@pass_ctx
@handles_errors
def demo(ctx: Context) -> None:
    """Create demo accounts (fresh passwords each time) and demo reviews; print how to sign in."""

    accounts = demo_data.ensure_accounts(ctx.db, now=now())
    started = demo_data.ensure_reviews(
        ctx.db,
        now=now(),
        step_seconds=ctx.settings.step_seconds,
        script=ctx.settings.processes_dir / "demo" / "cases.json",
    )
    lines = ["Demo accounts (passwords are new on every start; demo use only):"]
    lines += [f"  {name:<12} {password}   {role}" for name, password, role in accounts]
    if started:
        lines.append(f"Demo cases started: {', '.join(f'#{i}' for i in started)}")
    out(
        ctx,
        {"accounts": [{"username": a, "password": p, "roles": r} for a, p, r in accounts], "instances": started},
        lines,
    )


@main.command()
@click.option("--dev", is_flag=True, help="Flask's development server in this one process (threads), not gunicorn.")
@click.option(
    "--workers", type=click.IntRange(min=1), help=f"gunicorn web workers (default: one per core, here {web_workers()})."
)
@click.option("--no-timers", is_flag=True, help="Do not run a timer worker (run `cprflow timers worker` apart).")
@click.option("--no-notify", is_flag=True, help="Do not run a notification worker (run `cprflow notify worker` apart).")
@pass_ctx
def serve(ctx: Context, dev: bool, workers: int | None, no_timers: bool, no_notify: bool) -> None:
    """Serve the web app with gunicorn, and the timer and notification workers as processes of their
    own, restarted if they die; Ctrl-C stops them all."""
    host, port = ctx.settings.host, ctx.settings.port
    if dev:
        _serve_dev(ctx, with_timers=not no_timers, with_notify=not no_notify)
        return
    if not gunicorn_installed():
        raise click.ClickException("gunicorn is not installed: pip install -e '.[serve]', or serve with --dev")
    create_app(ctx.settings, db=ctx.db)  # refuse here, with the reason, what the web workers would refuse
    count = workers or web_workers()
    extras = [name for name, on in (("a timer worker", not no_timers), ("a notification worker", not no_notify)) if on]
    click.echo(
        f"cprflow serving on http://{host}:{port}/ (gunicorn, {count} web worker{'s' if count > 1 else ''}"
        + (f"; {' and '.join(extras)}" if extras else "")
        + "); Ctrl-C stops"
    )
    sys.exit(supervise(children(host, port, count, timers=not no_timers, notify=not no_notify)))


def _serve_dev(ctx: Context, *, with_timers: bool, with_notify: bool) -> None:
    """Flask's development server, the workers as threads beside it."""
    stop = threading.Event()
    if with_notify:
        threading.Thread(
            target=notifications.work,
            name="notify",
            daemon=True,
            kwargs={"db": ctx.db, "settings": MailSettings.from_env(), "stop": stop},
        ).start()
    if with_timers:
        threading.Thread(
            target=timers.work,
            name="timers",
            daemon=True,
            kwargs={
                "db": ctx.db,
                "poll_seconds": ctx.settings.timer_poll_seconds,
                "step_seconds": ctx.settings.step_seconds,
                "stop": stop,
            },
        ).start()
    app = create_app(ctx.settings, db=ctx.db)
    click.echo(f"cprflow serving on http://{ctx.settings.host}:{ctx.settings.port}/ (development server)")
    try:
        app.run(host=ctx.settings.host, port=ctx.settings.port, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


# ---------------------------------------------------------------------------------------------
# Process owners: versions back to files, and migrating running instances


@main.command("export")
@click.argument("version_id", type=int)
@click.argument("target", type=click.Path(path_type=Path, file_okay=False))
@pass_ctx
@handles_errors
def export_version(ctx: Context, version_id: int, target: Path) -> None:
    """Write a deployed version into TARGET/processes and TARGET/forms (e.g. '.' to commit it to git)."""

    touched = versions.export(modeling.version_files(ctx.db, version_id), target)
    out(
        ctx,
        {"version_id": version_id, "written_or_removed": touched},
        [f"version {version_id} exported to {target}", *(f"  {name}" for name in touched)]
        if touched
        else [f"{target} already holds version {version_id}"],
    )


@main.command("migrate")
@click.argument("instance_ids", type=int, nargs=-1)
@click.option("--to", "to_version", type=int, required=True, help="The version to move to.")
@click.option("--reason", default="", help="Recorded with each move (required unless --preview).")
@click.option("--preview", is_flag=True, help="Only say which can move and what changes for them.")
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def migrate(
    ctx: Context, instance_ids: tuple[int, ...], to_version: int, reason: str, preview: bool, actor: str
) -> None:
    """Move running instances (all that can, if none are named) to a newer version."""

    previews = modeling.preview_migrations(
        ctx.db,
        to_version,
        actor=actor,
        now=now(),
        step_seconds=ctx.settings.step_seconds,
        instance_ids=list(instance_ids) or None,
    )
    if preview:
        out(
            ctx,
            previews,
            [
                f"instance {p.instance_id} (version {p.from_version}): "
                + ("can move" if p.movable else "cannot move: " + "; ".join(p.reasons))
                + "".join(
                    f"; will not run {', '.join(ids)} ({process}), added behind where it is"
                    for process, ids in p.changes.get("behind", {}).items()
                )
                for p in previews
            ]
            or ["no running instance on an older version"],
        )
        return
    moved = [
        modeling.migrate_instance(
            ctx.db,
            p.instance_id,
            to_version,
            reason=reason,
            actor=actor,
            now=now(),
            step_seconds=ctx.settings.step_seconds,
        )
        for p in previews
        if p.movable
    ]
    refused = [p for p in previews if not p.movable]
    out(
        ctx,
        {"moved": [m.id for m in moved], "refused": [vars(p) for p in refused]},
        [f"instance {m.id} moved to version {to_version}" for m in moved]
        + [f"instance {p.instance_id} not moved: {'; '.join(p.reasons)}" for p in refused],
    )


main.add_command(notify_commands.notify_group)


@main.group("audit")
def audit_group() -> None:
    """Check the tamper-evident event log."""


@audit_group.command("verify")
@click.option("--instance", "instance_id", type=int, help="Check only this instance's chain.")
@pass_ctx
@handles_errors
def audit_verify(ctx: Context, instance_id: int | None) -> None:
    """Walk every event chain; name the first bad event of each (exit 1 if any is broken)."""

    report = audit.verify_log(ctx.db, instance_id=instance_id)
    lines = [f"{report['chains']} chains, {report['events']} events: " + ("intact" if report["ok"] else "BROKEN")]
    lines += [f"{b['chain']}: {b['problem']}: {b['message']}" for b in report["broken"]]
    lines += [f"head {chain} {digest}" for chain, digest in report["heads"].items()]
    out(ctx, report, lines)
    if not report["ok"]:
        sys.exit(1)


@main.command("fix-data")
@click.argument("instance_id", type=int)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    required=True,
    metavar="KEY=JSON",
    help="A data key and its new value as JSON, e.g. --set completion_due='\"2026-08-01\"'.",
)
@click.option("--reason", required=True, help="Why; recorded in the trace with the values before and after.")
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@handles_errors
def fix_data(ctx: Context, instance_id: int, assignments: tuple[str, ...], reason: str, actor: str) -> None:
    """Set named data keys of a case (admins), checked against its forms, with a recorded reason."""

    values: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key:
            raise InvalidData(f"--set {assignment!r} must be KEY=JSON")
        try:
            values[key] = json.loads(text)
        except ValueError as err:
            raise InvalidData(f"--set {key}: the value is not valid JSON: {err}") from None
    view = datafix.fix_data(ctx.db, instance_id, values, reason=reason, actor=actor, now=now())
    out(ctx, view, instance_lines(view))
