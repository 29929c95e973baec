"""The ledger commands end to end: verify, checkpoint, prove, and the offline check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import update

from onestory.cli import main
from onestory.config import Settings
from onestory.ledger.tables import LedgerPayload
from onestory.store import create_engine_for, session_factory
from onestory.store.migrate import upgrade


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    wide = Console(width=400, soft_wrap=True)
    for module in ("onestory.cli", "onestory.ledger.cli"):
        monkeypatch.setattr(f"{module}.console", wide)
    return tmp_path


def add_entries(data_dir: Path, count: int) -> None:
    from ledger_helpers import fill

    engine = create_engine_for(Settings(data_dir=data_dir).effective_database_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        from onestory.ledger.log import tree_size

        fill(session, count, start=tree_size(session))
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_offline_check_needs_only_checkpoint_key_and_proof(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    add_entries(data_dir, 6)
    code, old_note = run(capsys, "ledger", "checkpoint")
    assert code == 0 and old_note.splitlines()[1] == "6"
    add_entries(data_dir, 5)
    code, note = run(capsys, "ledger", "checkpoint")
    assert code == 0 and note.splitlines()[1] == "11"
    code, key = run(capsys, "ledger", "key")
    assert code == 0 and key.startswith("onestory.localhost/ledger+")

    (tmp_path / "old.checkpoint").write_text(old_note)
    (tmp_path / "new.checkpoint").write_text(note)
    (tmp_path / "key.txt").write_text(key)
    code, proof = run(capsys, "ledger", "prove", "inclusion", "4")
    assert code == 0
    assert json.loads(proof)["entry"]["seq"] == 4
    (tmp_path / "inclusion.json").write_text(proof)
    code, proof = run(capsys, "ledger", "prove", "consistency", "6", "11")
    assert code == 0
    (tmp_path / "consistency.json").write_text(proof)

    # The auditor's side: move the database away entirely.
    (data_dir / "onestory.sqlite3").rename(tmp_path / "elsewhere.sqlite3")
    args = ["--checkpoint", str(tmp_path / "new.checkpoint"), "--key", str(tmp_path / "key.txt")]
    code, out = run(capsys, "ledger", "check", *args, "--proof", str(tmp_path / "inclusion.json"))
    assert code == 0, out
    assert "entry 4 is in the log onestory.localhost/ledger of 11 entries" in out
    code, out = run(
        capsys,
        "ledger",
        "check",
        *args,
        "--proof",
        str(tmp_path / "consistency.json"),
        "--old-checkpoint",
        str(tmp_path / "old.checkpoint"),
    )
    assert code == 0, out
    assert "extends the tree of 6 entries (old root from the old checkpoint)" in out
    assert not (data_dir / "onestory.sqlite3").exists()

    tampered = json.loads((tmp_path / "inclusion.json").read_text())
    tampered["entry"]["purpose"] = "prosecution"
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    code, out = run(capsys, "ledger", "check", *args, "--proof", str(tmp_path / "tampered.json"))
    assert code == 2
    assert "does not hash to leafHash" in out
    forged = note.replace("\n11\n", "\n12\n")
    (tmp_path / "forged.checkpoint").write_text(forged)
    code, out = run(
        capsys,
        "ledger",
        "check",
        "--checkpoint",
        str(tmp_path / "forged.checkpoint"),
        "--key",
        str(tmp_path / "key.txt"),
        "--proof",
        str(tmp_path / "inclusion.json"),
    )
    assert code == 2
    assert "Error:" in out


def test_verify_passes_then_names_a_changed_payload(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_entries(data_dir, 4)
    assert run(capsys, "ledger", "checkpoint")[0] == 0
    code, out = run(capsys, "ledger", "verify")
    assert code == 0, out
    assert "Checked 4 entries, 4 payloads" in out and "The ledger verifies." in out
    engine = create_engine_for(Settings(data_dir=data_dir).effective_database_url)
    with engine.begin() as conn:
        conn.execute(update(LedgerPayload).where(LedgerPayload.seq == 2).values(payload={}))
    engine.dispose()
    code, out = run(capsys, "ledger", "verify")
    assert code == 2
    assert "Error: the ledger does not verify: entry 2: its payload does not match" in out


def test_prove_without_a_checkpoint_says_how_to_cut_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_entries(data_dir, 2)
    code, out = run(capsys, "ledger", "prove", "inclusion", "0")
    assert code == 2
    assert "cut one with `onestory ledger checkpoint`" in out
