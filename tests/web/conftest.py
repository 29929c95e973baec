"""Fixtures for the web layer: the application on the test database, and a client that checks
every page it receives (see ``page_checks``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import Engine

from onestory.config import Settings
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import UserAccount
from onestory.web.app import create_app

TEST_SECRET_KEY = "x" * 48


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings whose data directory is the test's own."""
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
        notify_interval=0,
        webhook_interval=0,
    )


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    """The application on the test database (SQLite and PostgreSQL)."""
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[PageCheckingClient]:
    """A test client that checks every HTML page it receives."""
    with PageCheckingClient(app) as test_client:
        yield test_client


AddAccount = Callable[..., UserAccount]


@pytest.fixture
def add_account(app: FastAPI) -> AddAccount:
    """Make an account: ``add_account(email=..., password=..., display_name=...)``."""

    def add(
        *,
        email: str = "sam.taylor@example.org",
        password: str = "correct horse battery staple",
        display_name: str = "Sam Taylor",
        failed_sign_ins: int = 0,
    ) -> UserAccount:
        with app.state.sessions() as session:
            account = UserAccount(
                email=email,
                display_name=display_name,
                role="victim",
                password_hash=hash_password(password),
                failed_sign_ins=failed_sign_ins,
            )
            session.add(account)
            session.commit()
            return account

    return add
