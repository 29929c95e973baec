"""Every request body is capped as it arrives: a declared length over the limit is refused before
it is read, and a body that streams past it is cut off, both with 413 and nothing kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from onestory.config import Settings
from onestory.web.app import create_app

LIMIT = 10_000


def small_app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="s" * 48,
        notify_interval=0,
        webhook_interval=0,
        max_upload_bytes=LIMIT,
    )
    return create_app(settings, engine=engine)


def test_a_declared_length_over_the_limit_is_refused_before_it_is_read(
    engine: Engine, tmp_path: Path
) -> None:
    with TestClient(small_app(engine, tmp_path)) as client:
        response = client.post(
            "/ingest",
            files={"extract": ("big.csv", b"x" * (LIMIT + 1), "text/csv")},
        )
    assert response.status_code == 413
    assert "10,000 bytes" in response.text


def test_a_streamed_body_that_grows_past_the_limit_is_cut_off(
    engine: Engine, tmp_path: Path
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 1000

    with TestClient(small_app(engine, tmp_path)) as client:
        response = client.post(
            "/ingest",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=zzz"},
        )
        assert response.status_code == 413
        assert client.get("/healthz").status_code == 200


def test_a_body_within_the_limit_reaches_the_application(engine: Engine, tmp_path: Path) -> None:
    with TestClient(small_app(engine, tmp_path)) as client:
        response = client.post("/ingest", files={"extract": ("s.csv", b"a,b\n", "text/csv")})
    # Not signed in and no form token: the application's own answer, not the size limit's.
    assert response.status_code in {303, 403}
