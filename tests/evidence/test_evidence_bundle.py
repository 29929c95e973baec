"""Disclosure bundles end to end on SQLite and PostgreSQL: made by the operator, by an API client
and by a grantee's form post; refused (and recorded) for anyone else; refused for evidence that
failed its integrity check; and checked by ``onestory evidence verify``."""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

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
    operator_bundle,
    policies,
    verifier_key,
)
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, csrf_token_from
from web_helpers import sign_in

from onestory.cli import main
from onestory.clitools import open_database
from onestory.config import Settings, get_settings
from onestory.evidence import service
from onestory.evidence.blobs import store_for
from onestory.evidence.bundle import IntegrityRefusal, bundles_dir
from onestory.evidence.tables import CustodyAction, CustodyEntry, EvidenceItem, ItemStatus
from onestory.evidence.verify_bundle import CONTENTS, MANIFEST, verify_bundle
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import UserAccount
from onestory.store import session_factory
from onestory.store.base import utcnow
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
    with sessions() as session:
        item = session.get_one(EvidenceItem, disposed)
        officer = account_actor(session.get_one(UserAccount, case.users[OFFICER]))
        service.change_retention(
            session,
            policies=policies(),
            actor=officer,
            item=item,
            until=utcnow() - timedelta(minutes=1),
            reason="case closed; no appeal",
        )
        service.dispose_by(
            session,
            policies=policies(),
            store=store_for(tmp_path),
            actor=officer,
            item=item,
            reason="end of retention",
        )
        session.commit()

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


def test_a_police_system_downloads_the_bundle_by_api(
    app: FastAPI, case: Case, client: PageCheckingClient, tmp_path: Path
) -> None:
    headers = api_key(app, "POL01", "police_officer", ["export:evidence"])
    response = client.get(f"/api/evidence/cases/{CASE}/bundle", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    assert "61GD7528225_2" in response.headers["content-disposition"]
    path = saved(response.content, tmp_path)
    report = verify_bundle(path, app.state.ledger_verifier_key)
    assert report.ok, report.failures
    assert report.files == len(EXHIBITS)
    assert response.headers["x-manifest-sha256"]
    assert list(bundles_dir(tmp_path).iterdir()) == []  # the temporary archive went after sending

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
    out = tmp_path / "out" / "case.zip"
    assert main(["evidence", "bundle", CASE, "--output", str(out)]) == 0
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
