"""Disclosure bundles end to end on SQLite and PostgreSQL: made by the operator, by an API client
and by a grantee's form post; refused (and recorded) for anyone else; refused for evidence that
failed its integrity check; and checked by ``onestory evidence verify``."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
from evidence_bundle_case import (
    CASE,
    EXHIBITS,
    OFFICER,
    ORIGIN,
    PROSECUTOR,
    SHARED,
    STRANGER,
    Case,
    build_case,
    officer_disposes,
    operator_bundle,
    policies,
    verifier_key,
)
from fastapi import FastAPI
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, csrf_token_from
from web_helpers import sign_in

from onestory.cli import main
from onestory.clitools import open_database
from onestory.config import Settings, get_settings
from onestory.evidence import service
from onestory.evidence.blobs import store_for
from onestory.evidence.bundle import (
    IntegrityRefusal,
    ItemsChanged,
    bundles_dir,
    sweep_stale_bundles,
)
from onestory.evidence.bundle_api import ZIP, OneShotFileResponse
from onestory.evidence.custody import history
from onestory.evidence.tables import CustodyAction, CustodyEntry, EvidenceItem, ItemStatus
from onestory.evidence.verify_bundle import CONTENTS, MANIFEST, verify_bundle
from onestory.ledger import log
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.store import session_factory
from onestory.web.app import create_app

ADMIN = Actor("user:0", "administrator", None, None)


def manifest_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(MANIFEST))


def custody_actions(sessions: sessionmaker[Session], item_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(CustodyEntry.action)
                .where(CustodyEntry.item_id == item_id)
                .order_by(CustodyEntry.ledger_seq)
            )
        )


# --- the bundle itself, as the operator makes it --------------------------------------------------


def test_a_bundle_lists_disposed_items_without_content_and_verifies(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    case = build_case(sessions, tmp_path, policies())
    disposed = case.items["JS/3"]
    officer_disposes(sessions, tmp_path, case, disposed)

    bundle = operator_bundle(sessions, tmp_path)

    assert bundle.path.parent == bundles_dir(tmp_path) and bundle.path.suffix == ".zip"
    report = verify_bundle(bundle.path, verifier_key(tmp_path))
    assert report.ok, report.failures
    assert report.files == 2
    manifest = manifest_of(bundle.path)
    assert manifest["caseUrn"] == CASE and manifest["log"] == ORIGIN
    assert manifest["createdBy"] == "cli:test"
    gone = next(i for i in manifest["items"] if i["id"] == disposed)
    assert gone["path"] is None and gone["status"] == ItemStatus.DISPOSED
    assert gone["sha256"] == hashlib.sha256(EXHIBITS[2][3]).hexdigest()
    for item_id in case.items.values():
        assert custody_actions(sessions, item_id)[-1] == CustodyAction.EXPORTED
    with sessions() as session:
        entry = session.get_one(LedgerEntry, bundle.checkpoint_size - 1)
        assert entry.entry_type == "evidence.bundle.exported"


def test_an_item_that_failed_its_integrity_check_stops_the_bundle(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    case = build_case(sessions, tmp_path, policies())
    with sessions() as session:
        item = session.get_one(EvidenceItem, case.items["JS/1"])
        service.mark_failed(session, item.sha256, "0" * 64, detected_by="test")
        session.commit()
    with pytest.raises(IntegrityRefusal, match="exhibit JS/1 failed an integrity check"):
        operator_bundle(sessions, tmp_path)
    assert list(bundles_dir(tmp_path).iterdir()) == []
    assert CustodyAction.EXPORTED not in custody_actions(sessions, case.items["JS/2"])


def test_a_blob_altered_in_the_store_aborts_the_bundle_and_is_recorded(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    case = build_case(sessions, tmp_path, policies())
    with sessions() as session:
        sha256 = session.get_one(EvidenceItem, case.items["JS/3"]).sha256
    blob = store_for(tmp_path).path(sha256)
    blob.chmod(0o640)
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")

    with pytest.raises(service.IntegrityFailure, match="hashes to"):
        operator_bundle(sessions, tmp_path)

    assert list(bundles_dir(tmp_path).iterdir()) == []
    actions = custody_actions(sessions, case.items["JS/3"])
    assert CustodyAction.EXPORTED not in actions
    assert actions[-1] == CustodyAction.INTEGRITY_FAILED
    with sessions() as session:
        assert session.get_one(EvidenceItem, case.items["JS/3"]).integrity_failed_at is not None


def test_the_ledger_is_not_locked_while_the_files_are_copied(
    engine: Engine, tmp_path: Path
) -> None:
    """Another request appends to the ledger mid-copy: it must not wait for the bundle."""
    sessions = session_factory(engine)
    build_case(sessions, tmp_path, policies())
    meanwhile: list[int] = []

    def append_elsewhere(_: int) -> None:
        if meanwhile:
            return
        with sessions() as other:
            if engine.dialect.name == "postgresql":  # fail, not hang, if the lock were held
                other.execute(text("SET LOCAL lock_timeout = '5s'"))
            meanwhile.append(log.append(other, entry_type="test.meanwhile", actor="test").seq)
            other.commit()

    bundle = operator_bundle(sessions, tmp_path, progress=append_elsewhere)

    assert meanwhile, "no file was copied"
    assert meanwhile[0] < bundle.checkpoint_size - len(EXHIBITS) - 1  # before the bundle's own
    assert verify_bundle(bundle.path, verifier_key(tmp_path)).ok


@pytest.mark.parametrize(
    ("change", "expected"),
    [("dispose", "exhibit JS/1 became disposed"), ("fail", "exhibit JS/1 failed an integrity")],
)
def test_an_item_changed_while_the_files_are_copied_stops_the_bundle(
    engine: Engine, tmp_path: Path, change: str, expected: str
) -> None:
    """JS/1 is copied first; once it is, it is disposed of (or marked failed) elsewhere."""
    sessions = session_factory(engine)
    case = build_case(sessions, tmp_path, policies())
    changed: list[bool] = []

    def change_js1(_: int) -> None:
        if changed:
            return
        changed.append(True)
        if change == "dispose":
            officer_disposes(sessions, tmp_path, case, case.items["JS/1"])
            return
        with sessions() as other:
            sha256 = other.get_one(EvidenceItem, case.items["JS/1"]).sha256
            service.mark_failed(other, sha256, "0" * 64, detected_by="test")
            other.commit()

    with pytest.raises(ItemsChanged, match=expected) as raised:
        operator_bundle(sessions, tmp_path, progress=change_js1)

    assert "while the bundle's files were being copied" in str(raised.value)
    assert list(bundles_dir(tmp_path).iterdir()) == []
    for item_id in case.items.values():
        assert CustodyAction.EXPORTED not in custody_actions(sessions, item_id)
    with sessions() as session:
        bundles = select(LedgerEntry).where(LedgerEntry.entry_type == "evidence.bundle.exported")
        assert session.scalars(bundles).all() == []


def test_stale_bundles_are_swept_and_fresh_ones_kept(tmp_path: Path) -> None:
    folder = bundles_dir(tmp_path)
    old_zip, old_part = stale(folder / "a.zip"), stale(folder / "b.zip.part")
    other = stale(folder / "notes.txt")
    fresh_zip, fresh_part = folder / "c.zip", folder / "d.zip.part"
    fresh_zip.write_bytes(b"being sent")
    fresh_part.write_bytes(b"being written")

    removed = sweep_stale_bundles(tmp_path)

    assert sorted(removed) == [old_zip, old_part]
    assert not old_zip.exists() and not old_part.exists()
    assert fresh_zip.exists() and fresh_part.exists() and other.exists()
    assert sweep_stale_bundles(tmp_path, older_than=timedelta(0)) == [fresh_zip, fresh_part]


def test_a_bundle_is_deleted_when_the_client_goes_mid_download(tmp_path: Path) -> None:
    """An ASGI 2.4 server raises OSError from send() once the client has gone; Starlette then
    skips background tasks, so the deletion must not be one."""
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"z" * (OneShotFileResponse.chunk_size * 3))
    started: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client disconnected")
        started.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "headers": [(b"range", b"bytes=0-9")],
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "extensions": {"http.response.pathsend": {}},
    }
    response = OneShotFileResponse(path, media_type=ZIP, filename="bundle.zip")
    with pytest.raises(OSError, match="disconnected"):
        anyio.run(response, scope, receive, send)
    assert started and started[0]["status"] == 200  # the whole file, not a range
    assert not path.exists()


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="b" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_origin=ORIGIN,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def case(app: FastAPI, tmp_path: Path) -> Case:
    return build_case(app.state.sessions, tmp_path, app.state.policies)


@pytest.fixture
def client(app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(app) as test_client:
        yield test_client


def api_key(app: FastAPI, org: str, role: str, scopes: list[str]) -> dict[str, str]:
    with app.state.sessions() as session:
        _, key = issue_key(
            session, actor=ADMIN, organisation_code=org, name="system", role=role, scopes=scopes
        )
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def saved(response_bytes: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "downloaded.zip"
    path.write_bytes(response_bytes)
    return path


def stale(path: Path) -> Path:
    """A file as a crashed or abandoned bundle leaves it: two hours old."""
    path.write_bytes(b"left behind")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(path, (two_hours_ago, two_hours_ago))
    return path


def test_a_police_system_downloads_the_bundle_by_api(
    app: FastAPI, case: Case, client: PageCheckingClient, tmp_path: Path
) -> None:
    leftover = stale(bundles_dir(tmp_path) / "0123abcd.zip.part")
    headers = api_key(app, "POL01", "police_officer", ["export:evidence"])
    response = client.get(
        f"/api/evidence/cases/{CASE}/bundle", headers=headers | {"Range": "bytes=0-9"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["accept-ranges"] == "none"
    assert not leftover.exists()
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    assert "61GD7528225_2" in response.headers["content-disposition"]
    path = saved(response.content, tmp_path)
    report = verify_bundle(path, app.state.ledger_verifier_key)
    assert report.ok, report.failures
    assert report.files == len(EXHIBITS)
    assert response.headers["x-manifest-sha256"]
    assert list(bundles_dir(tmp_path).iterdir()) == []  # the temporary archive went after sending
    for item_id in case.items.values():  # the holder's bundle has every item: nothing refused
        assert CustodyAction.ACCESS_REFUSED not in custody_actions(app.state.sessions, item_id)

    encoded = client.get(f"/api/evidence/cases/{quote(CASE, safe='')}/bundle", headers=headers)
    assert encoded.status_code == 200


def test_the_api_refuses_other_systems_and_keys_without_the_scope(
    app: FastAPI, case: Case, client: PageCheckingClient
) -> None:
    cps = api_key(app, "CPS-LN", "cps_prosecutor", ["export:evidence"])
    refused = client.get(f"/api/evidence/cases/{CASE}/bundle", headers=cps)
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert custody_actions(app.state.sessions, case.items["JS/1"])[-1] == (
        CustodyAction.ACCESS_REFUSED
    )

    no_scope = api_key(app, "POL01", "police_officer", ["read:evidence"])
    assert client.get(f"/api/evidence/cases/{CASE}/bundle", headers=no_scope).status_code == 403
    unknown = api_key(app, "POL01", "police_officer", ["export:evidence"])
    missing = client.get("/api/evidence/cases/01AB1234567/bundle", headers=unknown)
    assert missing.status_code == 404
    assert client.get("/api/evidence/cases/not-a-urn/bundle", headers=unknown).status_code == 404


def _post_bundle(client: PageCheckingClient, email: str, case_path: str) -> object:
    sign_in(client, email)
    token = csrf_token_from(client.get("/"))
    return client.post(f"/evidence/cases/{case_path}/bundle", data={"csrf_token": token})


def test_a_prosecutor_with_a_grant_gets_only_the_granted_items(
    app: FastAPI, case: Case, client: PageCheckingClient, tmp_path: Path
) -> None:
    response = _post_bundle(client, PROSECUTOR, quote(CASE, safe=""))
    assert response.status_code == 200, response.text
    path = saved(response.content, tmp_path)
    report = verify_bundle(path, app.state.ledger_verifier_key)
    assert report.ok, report.failures
    assert [i["exhibitReference"] for i in manifest_of(path)["items"]] == [SHARED]
    assert manifest_of(path)["createdBy"] == f"user:{case.users[PROSECUTOR]}"
    assert custody_actions(app.state.sessions, case.items[SHARED])[-1] == CustodyAction.EXPORTED
    assert CustodyAction.EXPORTED not in custody_actions(app.state.sessions, case.items["JS/1"])


def test_items_left_out_of_a_grantees_bundle_are_recorded_as_refused(
    app: FastAPI, case: Case, client: PageCheckingClient
) -> None:
    assert _post_bundle(client, PROSECUTOR, CASE).status_code == 200
    prosecutor = f"user:{case.users[PROSECUTOR]}"
    with app.state.sessions() as session:
        records = history(session, list(case.items.values()))
    for exhibit, item_id in case.items.items():
        last = records[item_id][-1]
        assert last.actor == prosecutor
        if exhibit == SHARED:
            assert last.action == CustodyAction.EXPORTED
            continue
        assert last.action == CustodyAction.ACCESS_REFUSED, exhibit
        assert last.payload is not None
        assert last.payload["attempted"] == CustodyAction.EXPORTED
        assert last.payload["reason"] == "no live grant covers this item"


def test_a_user_with_no_grant_gets_page_not_found_and_the_attempt_is_ledgered(
    app: FastAPI, case: Case, client: PageCheckingClient
) -> None:
    response = _post_bundle(client, STRANGER, CASE)
    assert response.status_code == 404
    assert "Page not found" in response.text
    stranger = f"user:{case.users[STRANGER]}"
    with app.state.sessions() as session:
        refusals = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.entry_type == "evidence.custody.access_refused",
                LedgerEntry.actor == stranger,
            )
        ).all()
    assert {s["id"] for r in refusals for s in r.subjects} == set(case.items.values())


def test_the_form_needs_its_csrf_token(
    app: FastAPI, case: Case, client: PageCheckingClient
) -> None:
    sign_in(client, OFFICER)
    assert client.post(f"/evidence/cases/{CASE}/bundle").status_code == 403


# --- the commands ---------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    monkeypatch.setenv("ONESTORY_LEDGER_ORIGIN", ORIGIN)
    monkeypatch.setenv("COLUMNS", "250")
    engine = open_database(get_settings())
    try:
        build_case(session_factory(engine), tmp_path, policies())
    finally:
        engine.dispose()
    return tmp_path


def test_the_commands_bundle_and_verify(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leftover = stale(bundles_dir(cli_env) / "0123abcd.zip")
    out = tmp_path / "out" / "case.zip"
    assert main(["evidence", "bundle", CASE, "--output", str(out)]) == 0
    assert not leftover.exists()
    printed = " ".join(capsys.readouterr().out.split())
    key = verifier_key(cli_env)
    assert f"onestory evidence verify {out} --key {shlex.quote(key)}" in printed
    assert out.is_file() and list(bundles_dir(cli_env).iterdir()) == []
    assert manifest_of(out)["createdBy"].startswith("cli:")

    key_file = tmp_path / "key.txt"
    key_file.write_text(key + "\n")
    assert main(["evidence", "verify", str(out), "--key", str(key_file)]) == 0
    shown = capsys.readouterr().out
    assert "Verified" in shown and "file contents" in shown
    assert main(["evidence", "verify", str(out), "--key", key]) == 0
    capsys.readouterr()

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(tampered, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == manifest_of(out)["items"][0]["path"]:
                data = b"Y" + data[1:]
            new.writestr(info, data)
    assert main(["evidence", "verify", str(tampered), "--key", key]) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert "NOT VERIFIED" in error
    assert f"{CONTENTS} [files/0001-JS_1/doorbell_camera.mp4]" in error

    (tmp_path / "junk.zip").write_bytes(b"junk")
    assert main(["evidence", "verify", str(tmp_path / "junk.zip"), "--key", key]) == 1
    assert "not a zip archive" in capsys.readouterr().err
    assert main(["evidence", "bundle", "01AB1234567"]) == 2
    assert "has no evidence items" in capsys.readouterr().err
