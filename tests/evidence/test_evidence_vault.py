"""The vault itself: identical files stored once, tampering caught at the next download and by the
``onestory evidence check`` sweep, retention and disposal, and the read API for agency systems.

Runs on SQLite and PostgreSQL against the real schema and a real blob store in the test's folder.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from onestory.cli import main
from onestory.config import Settings
from onestory.evidence import custody, service
from onestory.evidence.blobs import FileBlobStore, stage, store_for
from onestory.evidence.tables import CustodyAction, EvidenceItem, EvidenceUpload, ItemStatus
from onestory.ledger.note import NoteSigner, NoteVerifier
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.ledger.verify import verify_ledger
from onestory.sharing.accounts import account_actor, create_account
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key, scope
from onestory.sharing.policy import PolicySet, load_policies
from onestory.sharing.tables import Organisation
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store import session_factory
from onestory.store.migrate import upgrade
from onestory.web.app import create_app

CASE = "01YX1234526"
SEIZED = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """The schema as the migrations build it, so the commands (which migrate) find it current."""
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def policies() -> PolicySet:
    return load_policies(Settings().policies_dir)


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return store_for(tmp_path)


@pytest.fixture
def officer(session: Session) -> Actor:
    session.add(Organisation(code="01", name="Metropolitan Police", kind="police"))
    session.add(Organisation(code="02", name="City of London Police", kind="police"))
    session.flush()
    user = create_account(
        session,
        email="officer@met.example",
        display_name="PC Jo Smith",
        role="police_officer",
        password="a long enough password",
        organisation_code="01",
    )
    session.commit()
    return account_actor(user)


def details(exhibit: str, **changes: object) -> service.ItemDetails:
    fields: dict[str, object] = {
        "case_urn": CASE,
        "exhibit_reference": exhibit,
        "description": "CCTV from the shop's camera over the till",
        "seized_by": "PC Jo Smith",
        "seized_at": SEIZED,
        "seized_from": "Corner Shop, 1 High Street",
        "device": "Hikvision DVR, serial 1234",
        "method": "USB export by the shop owner, witnessed",
        "media_type": "video/mp4",
        "filename": "till.mp4",
    }
    fields.update(changes)
    return service.ItemDetails.model_validate(fields)


def add(
    session: Session,
    policies: PolicySet,
    store: FileBlobStore,
    actor: Actor,
    content: bytes,
    exhibit: str,
    **changes: object,
) -> EvidenceItem:
    item = service.add_item(
        session,
        policies=policies,
        store=store,
        actor=actor,
        staged=stage(store, io.BytesIO(content)),
        details=details(exhibit, **changes),
    )
    session.commit()
    return item


def tamper(store: FileBlobStore, sha256: str) -> None:
    path = store.path(sha256)
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def actions(session: Session, item: EvidenceItem) -> list[str]:
    return [r.action for r in custody.history(session, [item.id])[item.id]]


def test_identical_files_are_stored_once_and_each_item_keeps_its_own_custody(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    content = os.urandom(300_000)
    first = add(session, policies, store, officer, content, "JS/1")
    second = add(session, policies, store, officer, content, "JS/2")
    assert first.sha256 == second.sha256
    assert list(store.iter_hashes()) == [first.sha256]
    assert actions(session, first) == ["acquired", "uploaded"]
    assert actions(session, second) == ["acquired", "uploaded"]
    assert not list(store.staging_dir().iterdir()), "staging files are moved in or deleted"


def test_the_same_exhibit_reference_twice_on_a_case_is_refused_and_nothing_is_kept(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    add(session, policies, store, officer, b"first", "JS/1")
    with pytest.raises(service.EvidenceError, match="already has an exhibit 'JS/1'"):
        add(session, policies, store, officer, b"second", "JS/1")
    session.rollback()
    assert len(list(store.iter_hashes())) == 1
    assert not list(store.staging_dir().iterdir())


def test_a_sender_hash_that_does_not_match_stores_nothing(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    staged = stage(store, io.BytesIO(b"the footage"))
    wrong = "0" * 64
    with pytest.raises(service.HashMismatch, match=wrong) as caught:
        service.add_item(
            session,
            policies=policies,
            store=store,
            actor=officer,
            staged=staged,
            details=details("JS/1"),
            expected_sha256=wrong,
        )
    assert staged.sha256 in str(caught.value)
    session.rollback()
    assert session.scalar(select(EvidenceItem.id)) is None
    assert list(store.iter_hashes()) == []
    assert not staged.path.exists()


def test_someone_outside_policing_cannot_add_evidence(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    session.add(Organisation(code="CPS01", name="CPS London", kind="cps"))
    session.flush()
    prosecutor = create_account(
        session,
        email="cps@example.org",
        display_name="A Prosecutor",
        role="cps_prosecutor",
        password="a long enough password",
        organisation_code="CPS01",
    )
    session.commit()
    with pytest.raises(service.Refused):
        add(session, policies, store, account_actor(prosecutor), b"x", "JS/1")


def test_tampering_is_caught_at_the_next_download_and_the_item_is_then_withheld(
    engine: Engine, session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    item = add(session, policies, store, officer, os.urandom(3 * 1024 * 1024 + 17), "JS/1")
    tamper(store, item.sha256)
    failures: list[str] = []
    sessions = session_factory(engine)

    def on_failure(found: str) -> None:
        failures.append(found)
        service.record_integrity_failure(
            sessions, item.id, found, detected_by=officer.user_or_client_id
        )

    received = bytearray()
    with pytest.raises(service.IntegrityFailure, match="withheld"):
        for block in service.read_verified(store, item, on_failure, block=1024 * 1024):
            received += block
    assert len(received) < item.size_bytes, "the last block is held back when the hash fails"
    assert failures and failures[0] != item.sha256
    session.expire_all()
    assert session.get_one(EvidenceItem, item.id).integrity_failed_at is not None
    assert actions(session, item)[-1] == CustodyAction.INTEGRITY_FAILED
    with pytest.raises(service.Unavailable, match="failed its integrity check"):
        service.open_item(session, policies=policies, actor=officer, item=item)


def test_the_check_sweep_finds_a_tampered_blob_and_records_it(
    engine: Engine,
    session: Session,
    policies: PolicySet,
    store: FileBlobStore,
    officer: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    good = add(session, policies, store, officer, b"a photograph", "JS/1")
    bad = add(session, policies, store, officer, os.urandom(4096), "JS/2")
    abandoned = EvidenceUpload(
        id="abandoned-upload",
        length=10,
        details={},
        created_by="user:1",
        organisation="01",
        expires_at=datetime.now(UTC) - timedelta(hours=1),
    )
    session.add(abandoned)
    session.commit()
    staging = store.staging_dir() / "upload-abandoned-upload.part"
    staging.write_bytes(b"half")
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    assert main(["evidence", "check"]) == 0
    session.expire_all()
    assert session.get(EvidenceUpload, "abandoned-upload") is None and not staging.exists()
    tamper(store, bad.sha256)
    assert main(["evidence", "check"]) == 1
    session.expire_all()
    assert session.get_one(EvidenceItem, bad.id).integrity_failed_at is not None
    assert session.get_one(EvidenceItem, good.id).integrity_failed_at is None
    entry = session.scalars(
        select(LedgerPayload)
        .join(LedgerEntry, LedgerEntry.seq == LedgerPayload.seq)
        .where(LedgerEntry.entry_type == "evidence.custody.integrity_failed")
    ).one()
    assert entry.payload["item"] == bad.id
    assert entry.payload["foundSha256"] != bad.sha256
    # A second sweep reports it again but records it once.
    assert main(["evidence", "check"]) == 1
    assert actions(session, bad).count(CustodyAction.INTEGRITY_FAILED) == 1


def test_disposal_deletes_content_only_after_retention_and_keeps_hash_metadata_and_custody(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    content = os.urandom(5000)
    long_ago = datetime(2020, 6, 1, tzinfo=UTC)
    item = add(session, policies, store, officer, content, "JS/1", seized_at=long_ago)
    twin = add(session, policies, store, officer, content, "JS/2", seized_at=long_ago)
    with pytest.raises(service.retention.RetentionError, match="to be kept until"):
        service.dispose_by(session, policies=policies, actor=officer, item=item, reason="done")
    session.rollback()
    with pytest.raises(service.EvidenceError, match="cannot be in the past"):
        service.change_retention(
            session,
            policies=policies,
            actor=officer,
            item=session.get_one(EvidenceItem, item.id),
            until=datetime.now(UTC) - timedelta(days=1),
            reason="trying to skip the schedule",
        )
    session.rollback()
    for one in (item, twin):
        service.change_retention(
            session,
            policies=policies,
            actor=officer,
            item=session.get_one(EvidenceItem, one.id),
            schedule_id="no-further-action",
            reason="case ended: no further action",
        )
    session.commit()
    assert {i.id for i in service.due_for_disposal(session)} == {item.id, twin.id}
    # The first disposal leaves the bytes: the twin still needs them.
    assert (
        service.dispose_by(
            session, policies=policies, actor=officer, item=item, reason="retention ended"
        )
        is None
    )
    session.commit()
    assert store.has(item.sha256)
    release = service.dispose_by(
        session, policies=policies, actor=officer, item=twin, reason="retention ended"
    )
    session.commit()
    assert release == item.sha256 and store.has(item.sha256), "deleted only after the commit"
    assert service.release_content(session, store, release)
    assert not store.has(item.sha256)
    kept = session.get_one(EvidenceItem, item.id)
    assert kept.status == ItemStatus.DISPOSED
    assert kept.sha256 == item.sha256 and kept.description
    assert actions(session, kept) == ["acquired", "uploaded", "retention_changed", "disposed"]
    with pytest.raises(service.Unavailable, match="disposed of"):
        service.open_item(session, policies=policies, actor=officer, item=kept)
    session.commit()
    signer = NoteSigner.generate("test.example/ledger")
    report = verify_ledger(session, NoteVerifier.from_verifier_key(signer.verifier_key()))
    assert report.ok, report.problems


def test_the_dispose_command_takes_only_items_whose_retention_has_ended(
    session: Session,
    policies: PolicySet,
    store: FileBlobStore,
    officer: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    ended = add(
        session,
        policies,
        store,
        officer,
        b"old",
        "JS/1",
        seized_at=datetime(2023, 1, 5, tzinfo=UTC),
    )
    current = add(session, policies, store, officer, b"new", "JS/2")
    service.change_retention(
        session,
        policies=policies,
        actor=officer,
        item=session.get_one(EvidenceItem, ended.id),
        schedule_id="no-further-action",
        reason="no further action",
    )
    session.commit()
    assert session.get_one(EvidenceItem, ended.id).retain_until < datetime.now(UTC)
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    assert main(["evidence", "dispose"]) == 2
    assert main(["evidence", "dispose", "--due", "--dry-run"]) == 0
    assert store.has(ended.sha256)
    assert main(["evidence", "dispose", "--due"]) == 0
    session.expire_all()
    assert session.get_one(EvidenceItem, ended.id).status == ItemStatus.DISPOSED
    assert session.get_one(EvidenceItem, current.id).status == ItemStatus.HELD
    assert not store.has(ended.sha256) and store.has(current.sha256)


def test_the_read_api_gives_a_forces_own_items_their_custody_and_checked_content(
    engine: Engine, tmp_path: Path, policies: PolicySet
) -> None:
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="k" * 48, notify_interval=0, webhook_interval=0
    )
    app = create_app(settings, engine=engine)
    store = store_for(tmp_path)
    sessions = session_factory(engine)
    with sessions() as session:
        for code, name in (("01", "Metropolitan Police"), ("02", "City of London Police")):
            session.add(Organisation(code=code, name=name, kind="police"))
        session.flush()
        admin = Actor("user:0", "administrator", None, None)
        keys = {}
        for code in ("01", "02"):
            _, keys[code] = issue_key(
                session,
                actor=admin,
                organisation_code=code,
                name=f"{code} evidence system",
                role="police_officer",
                scopes=[scope(Action.READ, RecordKind.EVIDENCE)],
            )
        user = create_account(
            session,
            email="officer@met.example",
            display_name="PC Jo Smith",
            role="police_officer",
            password="a long enough password",
            organisation_code="01",
        )
        session.commit()
        content = os.urandom(70_000)
        item = add(session, policies, store, account_actor(user), content, "JS/1")
        item_id = item.id
    with TestClient(app) as client:
        own = {"Authorization": f"Bearer {keys['01']}"}
        other = {"Authorization": f"Bearer {keys['02']}"}
        listed = client.get(f"/api/evidence/cases/{CASE}/items", headers=own)
        assert listed.status_code == 200, listed.text
        assert [i["exhibitReference"] for i in listed.json()["items"]] == ["JS/1"]
        assert client.get(f"/api/evidence/cases/{CASE}/items", headers=other).status_code == 404
        got = client.get(f"/api/evidence/items/{item_id}", headers=own).json()
        assert got["item"]["sha256"] == item.sha256
        assert [e["action"] for e in got["custody"]] == ["acquired", "uploaded"]
        assert got["custody"][0]["details"]["seizedBy"] == "PC Jo Smith"
        body = client.get(f"/api/evidence/items/{item_id}/content", headers=own)
        assert body.status_code == 200 and body.content == content
        assert body.headers["repr-digest"].startswith("sha-256=:")
        assert (
            client.get(f"/api/evidence/items/{item_id}/content", headers=other).status_code == 404
        )
        tamper(store, item.sha256)
        with pytest.raises(Exception):  # noqa: B017 - the transfer is cut short
            client.get(f"/api/evidence/items/{item_id}/content", headers=own)
        gone = client.get(f"/api/evidence/items/{item_id}/content", headers=own)
        assert gone.status_code == 410 and "integrity" in gone.json()["detail"]
    with sessions() as session:
        recorded = [r.action for r in custody.history(session, [item_id])[item_id]]
    assert recorded[:2] == ["acquired", "uploaded"]
    assert "downloaded" in recorded and "integrity_failed" in recorded


def test_a_whole_case_grant_covers_only_the_granting_forces_items_including_later_ones(
    session: Session, policies: PolicySet, store: FileBlobStore, officer: Actor
) -> None:
    session.add(Organisation(code="CPS01", name="CPS London", kind="cps"))
    session.flush()
    other_force = account_actor(
        create_account(
            session,
            email="officer@city.example",
            display_name="PC Ali Khan",
            role="police_officer",
            password="a long enough password",
            organisation_code="02",
        )
    )
    prosecutor_account = create_account(
        session,
        email="cps@example.org",
        display_name="A Prosecutor",
        role="cps_prosecutor",
        password="a long enough password",
        organisation_code="CPS01",
    )
    session.commit()
    prosecutor = account_actor(prosecutor_account)
    ours = add(session, policies, store, officer, b"met footage", "JS/1")
    theirs = add(session, policies, store, other_force, b"city footage", "AK/1")
    grant = service.grant_access(
        session,
        policies=policies,
        actor=officer,
        case_urn=CASE,
        item=None,
        grantee=prosecutor_account,
        expires_at=datetime.now(UTC) + timedelta(days=7),
    )
    session.commit()
    service.open_item(session, policies=policies, actor=prosecutor, item=ours)
    session.commit()
    with pytest.raises(service.Refused, match="no grant"):
        service.open_item(session, policies=policies, actor=prosecutor, item=theirs)
    session.commit()
    assert "shared" not in actions(session, theirs)
    later = add(session, policies, store, officer, b"more met footage", "JS/2")
    assert actions(session, later)[-1] == "shared", "a live whole-case grant covers it"
    service.open_item(session, policies=policies, actor=prosecutor, item=later)
    session.commit()
    with pytest.raises(service.Refused, match="made the grant"):
        service.revoke_grant(session, policies=policies, actor=other_force, grant=grant)
    session.rollback()
    service.revoke_grant(
        session, policies=policies, actor=officer, grant=session.get_one(type(grant), grant.id)
    )
    session.commit()
    assert actions(session, ours)[-1] == "access_revoked"
    assert actions(session, later)[-1] == "access_revoked"
    assert actions(session, theirs)[-1] == "access_refused"
