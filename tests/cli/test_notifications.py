"""``cprflow notify``: email settings, one worker pass, failed emails and retrying them, from the shell."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import insert

from cprflow.db.database import Database
from cprflow.db.models import OutboxMessage
from tests.cli.test_cli import Cli
from tests.conftest import T0


def test_settings_a_pass_and_failed_emails_from_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cli.db")
    cli.ok("init")
    cli.ok("users", "add", "alice", "--role", "business_unit", "--password", "long enough password")
    assert cli.ok("notify", "settings", "alice", "--email", "alice@example.wales", "--digest") == {
        "username": "alice",
        "email": "alice@example.wales",
        "daily_digest": True,
    }
    assert cli.fails("notify", "settings", "alice", "--email", "alice") == [
        "error: not an email address",
        "error: /email: is not an email address",
    ]
    assert cli.fails("notify", "settings", "nobody", "--email", "n@example.wales") == ["error: user nobody not found"]
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    with db.transaction() as session:
        session.connection().execute(
            insert(OutboxMessage.__table__),
            {
                "kind": "event",
                "template": "referral_received",
                "recipient": "alice",
                "address": "alice@example.wales",
                "language": "en",
                "subject": "s",
                "body": "b",
                "message_id": "<1@example.wales>",
                "status": "failed",
                "attempts": 5,
                "last_error": "SMTP 550",
                "created_at": T0,
            },
        )
    db.dispose()
    failed = cli.ok("notify", "failed")
    assert [(f["status"], f["recipient"], f["last_error"]) for f in failed] == [("failed", "alice", "SMTP 550")]
    assert cli.ok("notify", "retry", str(failed[0]["id"]))["status"] == "pending"
    assert cli.ok("notify", "failed") == []
    assert cli.fails("notify", "retry", str(failed[0]["id"]))[0].startswith("error: notification 1 is pending")
    cli.env["CPRFLOW_SMTP_PORT"] = str(_closed_port())
    ran = cli.ok("notify", "run", "--at", "2099-01-01T09:00:00")  # the server is down: tried, kept for later
    assert ran["delivery"] == {"sent": [], "retrying": [], "failed": [failed[0]["id"]]}  # a retry is one more try
    again = cli.ok("notify", "failed")
    assert [(f["status"], f["attempts"], f["last_error"]) for f in again] == [("failed", 5, "ConnectionRefusedError")]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
