"""``cprflow notify``: run the notification worker, see and retry failed emails, set a person's email."""

from __future__ import annotations

import click

from cprflow.cli.common import Context, at_time, handles_errors, now, out, pass_ctx, stop_on_term
from cprflow.config import MailSettings
from cprflow.features import notifications


@click.group("notify")
def notify_group() -> None:
    """Email notifications: the outbox worker and its failures."""


@notify_group.command("run")
@click.option("--at", "at", help="Act as at this ISO time instead of now (reminders, digests, retries).")
@pass_ctx
@handles_errors
def notify_run(ctx: Context, at: str | None) -> None:
    """Queue due reminders, gather digests and send what is due, once."""
    run = notifications.run_once(ctx.db, now=at_time(at), settings=MailSettings.from_env())
    d = run.delivery
    out(
        ctx,
        run,
        [
            f"reminders {len(run.reminders)}, digests {len(run.digests)}, sent {len(d.sent)}, "
            f"retrying {len(d.retrying)}, failed {len(d.failed)}"
        ],
    )


@notify_group.command("worker")
@pass_ctx
def notify_worker(ctx: Context) -> None:
    """Keep sending (Ctrl-C to stop)."""
    settings = MailSettings.from_env()
    click.echo(
        f"notification worker polling every {settings.poll_seconds}s, SMTP {settings.smtp_host}:{settings.smtp_port}"
    )
    try:
        notifications.work(ctx.db, settings=settings, stop=stop_on_term())
    except KeyboardInterrupt:
        pass


@notify_group.command("failed")
@pass_ctx
@handles_errors
def notify_failed(ctx: Context) -> None:
    """Failed and in-doubt emails."""
    found = notifications.problems(ctx.db, now=now(), settings=MailSettings.from_env())
    out(
        ctx,
        found,
        [
            f"{v.id}  {v.status:9} {v.recipient}  {v.template}  attempts {v.attempts}  {v.last_error or ''}"
            for v in found
        ]
        or ["none"],
    )


@notify_group.command("retry")
@click.argument("outbox_id", type=int)
@click.option("--actor", default="admin")
@pass_ctx
@handles_errors
def notify_retry(ctx: Context, outbox_id: int, actor: str) -> None:
    """Send a failed or in-doubt email again (recorded as an event)."""
    view = notifications.retry(ctx.db, outbox_id, actor=actor, now=now(), settings=MailSettings.from_env())
    out(ctx, view, [f"{view.id} queued again"])


@notify_group.command("settings")
@click.argument("username")
@click.option("--email")
@click.option("--digest/--no-digest", default=False, help="One email a day instead of one per notification.")
@pass_ctx
@handles_errors
def notify_settings(ctx: Context, username: str, email: str | None, digest: bool) -> None:
    """Set a person's email address and digest choice."""
    view = notifications.set_setting(ctx.db, username, email=email, daily_digest=digest)
    out(ctx, view, [f"{view.username}: {view.email or '(no address)'}, digest {'on' if view.daily_digest else 'off'}"])
