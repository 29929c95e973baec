"""Settings: defaults for the demo, refusal of unsafe production keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestory.config import ConfigurationError, Settings


def test_default_database_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert (
        settings.effective_database_url
        == f"sqlite:///{(tmp_path / 'd').resolve()}/onestory.sqlite3"
    )


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", "postgresql://x@h/db")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.effective_database_url == "postgresql://x@h/db"


def test_demo_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = settings.resolve_secret_key()
    assert len(key) >= 32
    assert Settings(data_dir=tmp_path).resolve_secret_key() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("key", [None, "change-me", "secret"])
def test_production_refuses_missing_or_example_key(tmp_path: Path, key: str | None) -> None:
    settings = Settings(env="production", data_dir=tmp_path, secret_key=key)
    with pytest.raises(ConfigurationError, match="ONESTORY_SECRET_KEY must be set"):
        settings.resolve_secret_key()
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_short_key(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, secret_key="x" * 20)
    with pytest.raises(ConfigurationError, match="at least 32"):
        settings.resolve_secret_key()


def test_production_accepts_a_long_random_key(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, secret_key="k" * 48)
    assert settings.resolve_secret_key() == "k" * 48


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="not a directory"):
        Settings(data_dir=path).ensure_data_dir()
