"""``onestory passport ...`` as an operator or a verifier runs it, on SQLite and PostgreSQL:
``verify`` offline with files or this instance's database, ``issue``, ``revoke`` and ``did``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from passport_helpers import add_learner, add_organisations_and_staff
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory import clitools
from onestory.cli import main
from onestory.clitools import open_database
from onestory.config import get_settings
from onestory.ledger.tables import LedgerEntry
from onestory.passport import credentials
from onestory.passport.issuer import Issuer, load_issuer
from onestory.passport.tables import PassportCredential
from onestory.store import session_factory

BASE = "https://onestory.example.test"


@pytest.fixture
def data_dir(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory on the test database (migrated), holding one learner's records."""
    home = tmp_path / "data"
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(home))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    monkeypatch.setenv("ONESTORY_PUBLIC_BASE_URL", BASE)
    monkeypatch.setattr(clitools.console, "_width", 250)  # made at import: COLUMNS is too late
    engine = open_database(get_settings())
    with session_factory(engine)() as session:
        add_organisations_and_staff(session)
        add_learner(session)
        session.commit()
    engine.dispose()
    return home


@pytest.fixture
def db(data_dir: Path) -> Iterator[Session]:
    engine = open_database(get_settings())
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def _issue(db: Session, data_dir: Path) -> list[PassportCredential]:
    issuer = load_issuer(data_dir, BASE)
    credentials.issue_pending(db, issuer, actor="test", base_url=BASE)
    return list(db.scalars(select(PassportCredential).order_by(PassportCredential.achievement)))


def _export(
    db: Session, data_dir: Path, credential: PassportCredential, out: Path
) -> tuple[Path, Path]:
    """The credential and its status list as files, as a holder and a verifier would have them."""
    issuer = load_issuer(data_dir, BASE)
    status = credentials.status_list_document(db, issuer, credential.status_list, base_url=BASE)
    credential_file = out / "maths.json"
    credential_file.write_text(json.dumps(credential.rdfc, indent=2))
    status_file = out / "status.json"
    status_file.write_text(json.dumps(status))
    return credential_file, status_file


def test_issue_prints_what_it_did_and_ledgers_each_credential(
    data_dir: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["passport", "issue"]) == 0
    out = capsys.readouterr().out
    assert "Issuing credentials" in out
    for label, count in (("Issued", 2), ("Holders created", 1), ("Not achieved (yet)", 1)):
        assert any(
            label in line and line.rstrip(" │|").endswith(str(count)) for line in out.splitlines()
        ), (
            label,
            out,
        )
    entries = db.scalars(
        select(LedgerEntry).where(LedgerEntry.entry_type == credentials.ISSUED)
    ).all()
    assert len(entries) == 2
    assert {e.actor for e in entries} == {entries[0].actor}
    assert entries[0].actor.startswith("cli:")
    assert main(["passport", "issue"]) == 0
    assert db.scalar(select(PassportCredential.id).limit(1)) is not None


def test_verify_a_file_with_its_status_list_offline(
    data_dir: Path, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = _issue(db, data_dir)
    credential_file, status_file = _export(db, data_dir, issued[0], tmp_path)
    # Another machine: nothing of this instance's, only the issuer's DID document and files.
    did_file = tmp_path / "did.json"
    did_file.write_text(json.dumps(load_issuer(data_dir, BASE).did_document()))
    elsewhere = tmp_path / "elsewhere"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ONESTORY_DATA_DIR", str(elsewhere))
        patch.delenv("ONESTORY_DATABASE_URL")
        status = main(
            [
                "passport",
                "verify",
                str(credential_file),
                "--did-document",
                str(did_file),
                "--status-list",
                str(status_file),
            ]
        )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "This qualification is genuine and has not been revoked" in out
    for name in (
        "Format recognised",
        "Issuer recognised",
        "Signature matches",
        "Validity period",
        "Not revoked",
    ):
        assert f"✓ {name}" in out
    assert "Jordan Reece" in out
    assert not elsewhere.exists(), "verify must not create a data directory or key"


def test_verify_uses_this_instances_database_for_its_own_lists(
    data_dir: Path, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = _issue(db, data_dir)
    jwt_file = tmp_path / "construction.jwt"
    jwt_file.write_text(issued[1].jwt + "\n")
    assert main(["passport", "verify", str(jwt_file)]) == 0
    assert "✓ Not revoked" in capsys.readouterr().out
    assert main(["passport", "revoke", issued[1].id, "--reason", "issued in error"]) == 0
    assert f"Revoked {issued[1].id}" in capsys.readouterr().out
    assert main(["passport", "verify", str(jwt_file), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["outcome"] == "revoked"
    assert verdict["credentials"][0]["achievement"] == issued[1].achievement
    revoked = db.scalars(
        select(LedgerEntry).where(LedgerEntry.entry_type == credentials.REVOKED)
    ).all()
    assert len(revoked) == 1 and revoked[0].actor.startswith("cli:")


def test_verify_a_tampered_file_fails_and_says_so(
    data_dir: Path, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = _issue(db, data_dir)
    credential_file, status_file = _export(db, data_dir, issued[0], tmp_path)
    document = json.loads(credential_file.read_text())
    document["credentialSubject"]["achievement"]["name"] = "Level 3 Diploma in Plumbing"
    credential_file.write_text(json.dumps(document))
    status = main(["passport", "verify", str(credential_file), "--status-list", str(status_file)])
    out = capsys.readouterr().out
    assert status == 1
    assert "This has been changed since it was issued (tampered)" in out
    assert "✗ Signature matches" in out


def test_verify_refuses_an_unknown_issuer_and_garbage(
    data_dir: Path, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = _issue(db, data_dir)
    stranger = Issuer.generate_did_key("Someone else")
    document = {k: v for k, v in issued[0].rdfc.items() if k != "proof"}
    document["issuer"] = stranger.profile()
    signed = credentials.secure(document, stranger, created=issued[0].issued_at)
    token_file = tmp_path / "stranger.jwt"
    token_file.write_text(signed.jwt)
    assert main(["passport", "verify", str(token_file)]) == 1
    assert "(unknown_issuer)" in capsys.readouterr().out
    # Trusting it explicitly: the signature is good, but its status list is nowhere to be had.
    assert main(["passport", "verify", str(token_file), "--trust", stranger.did]) == 1
    assert "could not check revocation" in capsys.readouterr().out
    garbage = tmp_path / "notes.txt"
    garbage.write_bytes(base64.b64encode(b"just some text"))
    assert main(["passport", "verify", str(garbage)]) == 1
    assert "That is not a credential, presentation or JWT" in capsys.readouterr().out
    assert main(["passport", "verify", str(tmp_path / "missing.json")]) == 2
    assert main(["passport", "verify", str(garbage), "--trust", "did:web:nope"]) == 2


def test_revoke_an_unknown_credential_is_an_error(
    data_dir: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "passport",
                "revoke",
                "urn:uuid:00000000-0000-0000-0000-000000000000",
                "--reason",
                "test",
            ]
        )
        == 2
    )
    assert "no credential 00000000-0000-0000-0000-000000000000" in capsys.readouterr().err


def test_did_prints_the_did_and_its_document(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["passport", "did"]) == 0
    out = capsys.readouterr().out
    first, _, rest = out.partition("\n")
    assert first == "did:web:onestory.example.test"
    assert json.loads(rest)["verificationMethod"][0]["type"] == "Multikey"
