"""Settings from CPRFLOW_* variables: defaults, numbers read as numbers, and a bad value stopping the
service at start with the variable named, rather than running with a bound quietly gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from cprflow.config import MailSettings, Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CPRFLOW_"):
            monkeypatch.delenv(name)


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env()
    assert settings == Settings()
    assert (settings.database_url, settings.step_seconds, settings.secret_key, settings.secure_cookies) == (
        "sqlite:///var/cprflow.db",
        5.0,
        None,
        False,
    )
    assert MailSettings.from_env() == MailSettings()


def test_variables_are_read_with_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CPRFLOW_DATABASE_URL": "postgresql+psycopg://cpr@db/cpr",
        "CPRFLOW_PROCESSES_DIR": "/srv/processes",
        "CPRFLOW_STEP_SECONDS": "2.5",
        "CPRFLOW_PORT": "8080",
        "CPRFLOW_LOCKOUT_ATTEMPTS": "0",
        "CPRFLOW_SECRET_KEY": "",
        "CPRFLOW_SECURE_COOKIES": "yes",
        "CPRFLOW_BASE_URL": "https://cpr.example.wales/",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.database_url == "postgresql+psycopg://cpr@db/cpr"
    assert settings.processes_dir == Path("/srv/processes")
    assert (settings.step_seconds, settings.port, settings.lockout_attempts) == (2.5, 8080, 0)
    assert settings.secret_key is None  # empty is unset, never an empty signing key
    assert settings.secure_cookies is True
    assert MailSettings.from_env().base_url == "https://cpr.example.wales"


@pytest.mark.parametrize("value", ["five", "5s", "1,5"])
def test_a_value_that_is_not_a_number_stops_the_service_naming_it(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CPRFLOW_STEP_SECONDS", value)
    with pytest.raises(SystemExit, match=f"CPRFLOW_STEP_SECONDS must be a number, got '{value}'"):
        Settings.from_env()


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_a_number_without_a_bound_stops_the_service(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CPRFLOW_STEP_SECONDS", value)
    with pytest.raises(SystemExit, match="CPRFLOW_STEP_SECONDS must be a number"):
        Settings.from_env()
    monkeypatch.delenv("CPRFLOW_STEP_SECONDS")
    monkeypatch.setenv("CPRFLOW_PORT", value)  # an int setting: not a crash of int(nan) either
    with pytest.raises(SystemExit, match="CPRFLOW_PORT must be a number"):
        Settings.from_env()


@pytest.mark.parametrize(("value", "on"), [("True", True), ("YES", True), (" 1 ", True), ("no", False), ("", False)])
def test_switches_read_as_people_write_them(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("CPRFLOW_SECURE_COOKIES", value)
    monkeypatch.setenv("CPRFLOW_SMTP_STARTTLS", value)
    assert (Settings.from_env().secure_cookies, MailSettings.from_env().smtp_starttls) == (on, on)
