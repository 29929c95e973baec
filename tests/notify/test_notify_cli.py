"""``onestory notify run --once`` and ``list`` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from notify_helpers import queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from conftest import SATURDAY_NOON
from onestory import clitools
from onestory.notify import cli


@pytest.fixture
def run_cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # The commands use the test's database (SQLite or PostgreSQL) instead of the configured one.
    monkeypatch.setattr(cli, "open_database", lambda settings: engine)
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_NOTIFY_CHANNEL", "file")
    # A wide terminal, so no column is cut (the console exists before CliRunner's environment).
    monkeypatch.setattr(clitools.console, "width", 250)
    return CliRunner()


def test_run_once_then_list(
    run_cli: CliRunner, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    message = queue(sessions, now=SATURDAY_NOON)
    result = run_cli.invoke(cli.app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 1 delivered, 0 failed, 0 waiting" in result.output
    assert (tmp_path / "outbox" / f"{message.id}.json").exists()
    listed = run_cli.invoke(cli.app, ["list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert message.id in listed.output and "delivered" in listed.output
    assert "person@example.org" not in listed.output
    shown = run_cli.invoke(cli.app, ["list", "--addresses"], env={"COLUMNS": "250"})
    assert "person@example.org" in shown.output
