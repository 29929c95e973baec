"""``onestory evidence add`` as an operator runs it, on SQLite and PostgreSQL: the table it prints,
exhibit numbering, the sender's hash checked, identical content stored once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory import clitools
from onestory.cli import main
from onestory.clitools import open_database
from onestory.config import get_settings
from onestory.evidence.blobs import store_for
from onestory.evidence.intake_cli import initials, next_references
from onestory.evidence.tables import CustodyEntry, EvidenceItem
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.tables import Organisation
from onestory.store import session_factory

CASE = "61GD7528225"


@pytest.fixture
def data_dir(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory on the test database, holding a police force and a CPS area."""
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    monkeypatch.setattr(clitools.console, "_width", 250)  # made at import: COLUMNS is too late
    engine = open_database(get_settings())
    with session_factory(engine)() as session:
        session.add(Organisation(code="POL-01", name="Wessex Police", kind="police"))
        session.add(Organisation(code="CPS-01", name="CPS Wessex", kind="cps"))
        session.commit()
    engine.dispose()
    return tmp_path


@pytest.fixture
def db(data_dir: Path) -> Iterator[Session]:
    engine = open_database(get_settings())
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def add(*args: str) -> int:
    return main(["evidence", "add", *args])


def test_files_become_numbered_items_with_their_hashes(
    data_dir: Path, tmp_path: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = write(tmp_path / "scene.jpg", os.urandom(70_000))
    video = write(tmp_path / "doorbell.mp4", os.urandom(3 * 1024 * 1024 + 5))
    status = add(
        CASE,
        str(photo),
        str(video),
        "--organisation",
        "POL-01",
        "--seized-by",
        "PC 4521 Jo Smith",
        "--seized-at",
        "2026-11-01T10:30:00+01:00",
        "--from",
        "12 High Street",
        "--device",
        "Ring doorbell",
        "--method",
        "Exported by the owner",
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"Evidence added to case {CASE}" in out
    items = {i.exhibit_reference: i for i in db.scalars(select(EvidenceItem))}
    assert sorted(items) == ["PJS/1", "PJS/2"]
    first, second = items["PJS/1"], items["PJS/2"]
    assert first.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert (first.media_type, first.filename, first.size_bytes) == (
        "image/jpeg",
        "scene.jpg",
        70_000,
    )
    assert second.media_type == "video/mp4"
    assert second.device == "Ring doorbell" and second.seized_from == "12 High Street"
    assert second.created_by.startswith("cli:")
    for item in (first, second):
        assert item.sha256 in out and item.id in out
    actions = db.scalars(select(CustodyEntry.action).where(CustodyEntry.item_id == first.id))
    assert list(actions) == ["acquired", "uploaded"]
    store = store_for(data_dir)
    assert store.path(second.sha256).read_bytes() == video.read_bytes()
    assert list((data_dir / "evidence" / "staging").iterdir()) == []


def test_an_identical_file_is_stored_once_and_numbering_skips_used_references(
    data_dir: Path, tmp_path: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    data = os.urandom(10_000)
    original = write(tmp_path / "a.bin", data)
    copy = write(tmp_path / "copy-of-a.bin", data)
    common = ["--organisation", "POL-01", "--seized-by", "Jo Smith"]
    assert add(CASE, str(original), "--exhibit-ref", "JS/2", *common) == 0
    capsys.readouterr()
    assert add(CASE, str(copy), *common) == 0
    out = capsys.readouterr().out
    assert "JS/1: the same content was already held; it is stored once" in out
    refs = sorted(db.scalars(select(EvidenceItem.exhibit_reference)))
    assert refs == ["JS/1", "JS/2"]
    hashes = set(db.scalars(select(EvidenceItem.sha256)))
    assert hashes == {hashlib.sha256(data).hexdigest()}
    assert list(store_for(data_dir).iter_hashes()) == list(hashes)


def test_a_wrong_sha256_exits_1_and_stores_nothing(
    data_dir: Path, tmp_path: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "clip.mov", os.urandom(5_000))
    given = hashlib.sha256(b"not it").hexdigest()
    before = db.scalar(select(func.count()).select_from(LedgerEntry))
    status = add(
        CASE, str(path), "--organisation", "POL-01", "--seized-by", "Jo Smith", "--sha256", given
    )
    err = capsys.readouterr().err
    assert status == 1
    assert given in err and hashlib.sha256(path.read_bytes()).hexdigest() in err
    assert "nothing was stored" in err
    assert db.scalar(select(func.count()).select_from(EvidenceItem)) == 0
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == before
    assert list(store_for(data_dir).iter_hashes()) == []
    assert list((data_dir / "evidence" / "staging").iterdir()) == []


def test_the_right_sha256_is_accepted(
    data_dir: Path, tmp_path: Path, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "clip.mov", os.urandom(5_000))
    given = hashlib.sha256(path.read_bytes()).hexdigest()
    status = add(
        CASE,
        str(path),
        "--organisation",
        "POL-01",
        "--seized-by",
        "Jo Smith",
        "--sha256",
        given.upper(),
    )
    assert status == 0, capsys.readouterr().err
    assert db.scalars(select(EvidenceItem.sha256)).one() == given


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--organisation", "NOPE"], "--organisation NOPE: no organisation has that code"),
        (["--organisation", "CPS-01"], "CPS Wessex is a cps organisation"),
        (["--organisation", "POL-01", "--seized-at", "2026-11-01T10:30"], "give the offset"),
        (["--organisation", "POL-01", "--sha256", "abc"], "--sha256: 'abc' is not a SHA-256"),
        (["--organisation", "POL-01", "--retention", "forever"], "no retention schedule"),
        (
            ["--organisation", "POL-01", "--exhibit-ref", "A/1", "--exhibit-prefix", "A"],
            "not both",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(
    data_dir: Path,
    tmp_path: Path,
    db: Session,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    path = write(tmp_path / "x.bin", b"x")
    status = add(CASE, str(path), "--seized-by", "Jo Smith", *extra)
    err = capsys.readouterr().err
    assert status == 2
    assert message in " ".join(err.split())
    assert db.scalar(select(func.count()).select_from(EvidenceItem)) == 0


def test_several_files_need_a_prefix_not_one_reference(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = write(tmp_path / "1.bin", b"1"), write(tmp_path / "2.bin", b"2")
    common = ["--organisation", "POL-01", "--seized-by", "Jo Smith"]
    assert add(CASE, str(one), str(two), "--exhibit-ref", "A/1", *common) == 2
    assert "use --exhibit-prefix" in capsys.readouterr().err
    assert add(CASE, str(one), str(two), "--sha256", "0" * 64, *common) == 2
    assert "hash of one file" in capsys.readouterr().err
    assert add("BAD", str(one), *common) == 2
    assert "CASE 'BAD'" in capsys.readouterr().err


def test_reference_helpers() -> None:
    assert initials("Jo Smith") == "JS"
    assert initials("PC 4521 jo smith") == "PJS"
    assert initials("4521") == "EX"
    assert next_references({"JS/1", "JS/3"}, "JS", 3) == ["JS/2", "JS/4", "JS/5"]
