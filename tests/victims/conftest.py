"""Fixtures for the victims tests: the application on the test database, and the web tests'
page-checking client and helpers (``tests/web`` is put on the import path for them)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient

from onestory.config import Settings
from onestory.web.app import create_app


@pytest.fixture
def victims_settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path, secret_key="v" * 48, notify_interval=0, webhook_interval=0
    )


@pytest.fixture
def victims_app(engine: Engine, victims_settings: Settings) -> FastAPI:
    """The whole application on the test database (SQLite and PostgreSQL)."""
    return create_app(victims_settings, engine=engine)


@pytest.fixture
def victims_client(victims_app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(victims_app) as client:
        yield client
