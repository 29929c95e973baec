"""Shared fixtures for the evidence tests: the application on the test database (SQLite and
PostgreSQL), a page-checking client, the blob store the application uses, and the people of one
prosecution (see ``evidence_helpers``).

Fixture names start with ``evidence_`` so that a test module's own ``app`` or ``client`` is never
shadowed. ``tests/web`` is put on the import path for the page-checking client.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from evidence_helpers import People, add_people
from page_checks import PageCheckingClient

from onestory.config import Settings
from onestory.evidence.blobs import BlobStore, store_for
from onestory.web.app import create_app


@pytest.fixture
def evidence_settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="e" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
    )


@pytest.fixture
def evidence_app(engine: Engine, evidence_settings: Settings) -> FastAPI:
    """The whole application on the test database (SQLite and PostgreSQL)."""
    return create_app(evidence_settings, engine=engine)


@pytest.fixture
def evidence_client(evidence_app: FastAPI) -> Iterator[PageCheckingClient]:
    """A client that checks every page it receives."""
    with PageCheckingClient(evidence_app) as client:
        yield client


@pytest.fixture
def evidence_store(evidence_app: FastAPI, evidence_settings: Settings) -> BlobStore:
    """The application's blob store (the one the pages and the API use)."""
    store = store_for(evidence_settings.data_dir)
    evidence_app.state.evidence_store = store
    return store


@pytest.fixture
def evidence_people(evidence_app: FastAPI) -> People:
    """The people of one prosecution, in the application's database."""
    return add_people(evidence_app)
