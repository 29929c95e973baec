"""Tampering with a real database: `verify` catches each change and names it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_helpers import fill
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.checkpoints import cut_checkpoint
from onestory.ledger.entries import canonical_json
from onestory.ledger.log import entry_json, node_key
from onestory.ledger.note import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint
from onestory.ledger.tables import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerPayload,
)
from onestory.ledger.verify import verify_ledger


@pytest.fixture
def ledger(session: Session, signer: NoteSigner) -> Session:
    fill(session, 9)
    cut_checkpoint(session, signer)
    session.commit()
    fill(session, 8, start=9)
    cut_checkpoint(session, signer)
    session.commit()
    return session


def change_payload(s: Session) -> None:
    row = s.get(LedgerPayload, 5)
    assert row is not None
    row.payload = {"field": "statement", "n": 999}


def change_entry(s: Session) -> None:
    s.execute(update(LedgerEntry).where(LedgerEntry.seq == 7).values(purpose="prosecution"))


def change_node(s: Session) -> None:
    s.execute(update(LedgerNode).where(LedgerNode.key == node_key((2, 1))).values(hash=bytes(32)))


def delete_entry(s: Session) -> None:
    s.execute(delete(LedgerPayload).where(LedgerPayload.seq == 3))
    s.execute(delete(LedgerEntry).where(LedgerEntry.seq == 3))


def reorder_entries(s: Session) -> None:
    first, second = s.get(LedgerEntry, 2), s.get(LedgerEntry, 6)
    assert first is not None and second is not None
    a = (first.actor, first.subjects, first.digest)
    first.actor, first.subjects, first.digest = second.actor, second.subjects, second.digest
    second.actor, second.subjects, second.digest = a
    pa, pb = s.get(LedgerPayload, 2), s.get(LedgerPayload, 6)
    assert pa is not None and pb is not None
    pa.salt, pb.salt, pa.payload, pb.payload = pb.salt, pa.salt, pb.payload, pa.payload


def replace_checkpoint(s: Session) -> None:
    forger = NoteSigner.generate("onestory.test/ledger")
    row = s.get(LedgerCheckpoint, 9)
    assert row is not None
    row.note = sign_checkpoint(forger, Checkpoint("onestory.test/ledger", 9, bytes(row.root_hash)))


def truncate_head(s: Session) -> None:
    s.execute(update(LedgerHead).values(size=16))


CASES: dict[str, tuple[Callable[[Session], None], str]] = {
    "payload": (change_payload, "entry 5: its payload does not match its digest"),
    "entry": (change_entry, "entry 7: its leaf hash"),
    "node": (change_node, "node (level 2, index 1) is different"),
    "deleted entry": (delete_entry, "entry 3 is missing"),
    "reordered entries": (reorder_entries, "entry 2: its leaf hash"),
    "replaced checkpoint": (replace_checkpoint, "checkpoint 9: its signature does not verify"),
    "head": (truncate_head, "head says 16 entries but 17 are stored"),
}


def test_an_untouched_ledger_verifies(ledger: Session, verifier: NoteVerifier) -> None:
    report = verify_ledger(ledger, verifier)
    assert report.ok, report.problems
    assert (report.entries, report.payloads, report.checkpoints) == (17, 17, 2)
    assert report.nodes == 17 + 8 + 4 + 2 + 1


@pytest.mark.parametrize("case", list(CASES))
def test_verify_names_the_tampering(ledger: Session, verifier: NoteVerifier, case: str) -> None:
    tamper, expected = CASES[case]
    tamper(ledger)
    ledger.commit()
    report = verify_ledger(ledger, verifier)
    assert not report.ok
    assert expected in report.problems[0], report.problems


def test_a_node_removed_is_reported_missing(ledger: Session, verifier: NoteVerifier) -> None:
    ledger.execute(delete(LedgerNode).where(LedgerNode.key == node_key((0, 12))))
    ledger.commit()
    report = verify_ledger(ledger, verifier)
    assert "entry 12: its leaf hash" in report.problems[0]
    assert "stored leaf missing" in report.problems[0]
    assert any("nodes;" in p for p in report.problems)


def test_history_rewritten_with_the_real_key_is_still_caught(
    ledger: Session, signer: NoteSigner, verifier: NoteVerifier
) -> None:
    # An operator with the signing key rewrites entry 7, rebuilds every node to match, and
    # re-signs the newest checkpoint: the older checkpoint, already published, exposes it.
    change_entry(ledger)
    entries = ledger.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    leaves = [merkle.hash_leaf(canonical_json(entry_json(e))) for e in entries]
    ledger.execute(delete(LedgerNode))
    for node, digest in merkle.append_nodes(0, {}, leaves).items():
        ledger.add(LedgerNode(key=node_key(node), hash=digest))
    newest = ledger.get(LedgerCheckpoint, 17)
    assert newest is not None
    root = merkle.root_from_leaf_hashes(leaves)
    newest.root_hash = root
    newest.note = sign_checkpoint(signer, Checkpoint(signer.name, 17, root))
    ledger.commit()
    report = verify_ledger(ledger, verifier)
    assert report.problems[0] == (
        "checkpoint 9: its signed root differs from the root recomputed from the entries"
    )
