"""``/healthz`` and what the application needs to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from page_checks import PageCheckingClient
from sqlalchemy import Engine

from onestory.config import ConfigurationError, Settings
from onestory.sharing.policy import PolicyError
from onestory.store import create_engine_for
from onestory.web.app import check_govuk_assets, create_app


def test_healthz_reports_the_database_ok(client: PageCheckingClient) -> None:
    # The `engine` fixture runs this on SQLite and on PostgreSQL.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(settings: Settings, tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'no such directory' / 'db.sqlite3'}")
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            response = client.get("/healthz")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def test_without_an_engine_the_app_uses_the_settings_database(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data", secret_key="y" * 48)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["database"] == "ok"
    assert (tmp_path / "data" / "onestory.sqlite3").exists()


def test_missing_govuk_assets_stop_start_up_with_directions(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="make demo") as caught:
        check_govuk_assets(tmp_path)
    assert "govuk-frontend.min.css" in str(caught.value)


def test_a_broken_policy_file_stops_start_up(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    settings = Settings(env="test", data_dir=tmp_path, secret_key="k" * 48, policies_dir=folder)
    with pytest.raises(PolicyError, match=r"broken\.yaml:3: not valid YAML"):
        create_app(settings, engine=engine)
