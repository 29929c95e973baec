"""Appending, proofs, checkpoints and erasure on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from ledger_helpers import fill
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.checkpoints import cut_checkpoint, latest_checkpoint
from onestory.ledger.entries import canonical_json, commitment
from onestory.ledger.log import (
    LedgerError,
    append,
    consistency_proof,
    entry_json,
    erase_payload,
    inclusion_proof,
    leaf_hash,
    root_hash,
    tree_size,
)
from onestory.ledger.note import NoteSigner, NoteVerifier, open_checkpoint
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.ledger.verify import verify_ledger
from onestory.sharing.tables import Organisation


def all_leaves(session: Session) -> list[bytes]:
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    return [merkle.hash_leaf(canonical_json(entry_json(e))) for e in entries]


def test_appends_build_the_rfc_9162_tree(session: Session) -> None:
    for batch in (1, 2, 5, 13, 1, 40):
        fill(session, batch, start=tree_size(session))
    leaves = all_leaves(session)
    assert tree_size(session) == len(leaves) == 62
    for size in (1, 2, 3, 31, 32, 33, 62):
        assert root_hash(session, size) == merkle.root_from_leaf_hashes(leaves[:size])
    for seq in (0, 1, 30, 61):
        assert leaf_hash(session, seq) == leaves[seq]
        proof = inclusion_proof(session, seq, 62)
        merkle.verify_inclusion(leaves[seq], seq, 62, proof, root_hash(session, 62))
    for old, new in ((1, 62), (7, 33), (32, 62), (62, 62)):
        proof = consistency_proof(session, old, new)
        merkle.verify_consistency(old, new, root_hash(session, old), root_hash(session, new), proof)


def test_the_entry_commits_to_its_payload_without_holding_it(session: Session) -> None:
    appended = append(
        session,
        entry_type="victim.story.recorded",
        actor="user:42",
        subjects=[],
        payload={"story": "what happened to me"},
    )
    session.commit()
    entry = session.get(LedgerEntry, appended.seq)
    stored = session.get(LedgerPayload, appended.seq)
    assert entry is not None and stored is not None
    assert "what happened" not in canonical_json(entry_json(entry)).decode()
    assert entry.digest == commitment(bytes(stored.salt), {"story": "what happened to me"})
    assert entry.digest != commitment(b"\0" * 32, {"story": "what happened to me"})


def test_a_rolled_back_change_leaves_no_entry_and_no_gap(session: Session) -> None:
    fill(session, 3)
    session.add(Organisation(code="X1", name="Change that fails", kind="police"))
    append(session, entry_type="organisation.added", actor="user:1")
    session.rollback()
    assert tree_size(session) == 3
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 3
    session.add(Organisation(code="X1", name="Change that sticks", kind="police"))
    appended = append(session, entry_type="organisation.added", actor="user:1")
    session.commit()
    assert appended.seq == 3
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_checkpoints_are_signed_and_kept(
    session: Session, signer: NoteSigner, verifier: NoteVerifier
) -> None:
    with pytest.raises(LedgerError, match="empty"):
        cut_checkpoint(session, signer)
    fill(session, 5)
    first = cut_checkpoint(session, signer)
    session.commit()
    assert cut_checkpoint(session, signer).size == 5  # nothing new: the same checkpoint
    fill(session, 6, start=5)
    second = cut_checkpoint(session, signer)
    session.commit()
    signed = open_checkpoint(verifier, second.note)
    assert (signed.size, signed.root_hash) == (11, root_hash(session, 11))
    assert open_checkpoint(verifier, first.note).size == 5
    latest = latest_checkpoint(session)
    assert latest is not None and latest.size == 11


def test_checkpoint_refused_when_tree_is_inconsistent_with_the_last(
    session: Session, signer: NoteSigner
) -> None:
    fill(session, 4)
    cut_checkpoint(session, signer)
    session.commit()
    fill(session, 4, start=4)
    # Rewrite a leaf the checkpoint covers and rebuild every node above it to match, as an
    # operator changing history would: the new tree no longer extends the signed one.
    from onestory.ledger.log import node_key
    from onestory.ledger.tables import LedgerNode

    leaves = all_leaves(session)
    leaves[1] = bytes(32)
    for node, digest in merkle.append_nodes(0, {}, leaves).items():
        row = session.get(LedgerNode, node_key(node))
        assert row is not None
        row.hash = digest
    session.commit()
    with pytest.raises(LedgerError, match="refusing to publish"):
        cut_checkpoint(session, signer)


def test_erasure_leaves_the_log_verifiable(
    session: Session, signer: NoteSigner, verifier: NoteVerifier
) -> None:
    fill(session, 10)
    cut_checkpoint(session, signer)
    session.commit()
    before = root_hash(session, 10)
    erased = erase_payload(session, seq=4, actor="system:retention", reason="retention ended")
    session.commit()
    assert session.get(LedgerPayload, 4) is None
    assert session.get(LedgerEntry, 4) is not None
    assert erased.seq == 10
    erasure = session.get(LedgerPayload, 10)
    assert erasure is not None and erasure.payload == {"erasedSeq": 4, "reason": "retention ended"}
    cut_checkpoint(session, signer)
    session.commit()
    assert root_hash(session, 10) == before
    report = verify_ledger(session, verifier)
    assert report.ok, report.problems
    assert (report.entries, report.payloads, report.checkpoints) == (11, 10, 2)
    with pytest.raises(LedgerError, match="no payload"):
        erase_payload(session, seq=4, actor="system:retention", reason="again")


def test_proofs_refuse_impossible_requests(session: Session) -> None:
    fill(session, 3)
    with pytest.raises(LedgerError, match="not in a tree of 3"):
        inclusion_proof(session, 3, 3)
    with pytest.raises(LedgerError, match="empty tree proves nothing"):
        consistency_proof(session, 0, 3)
    with pytest.raises(LedgerError, match="0 < old <= new"):
        consistency_proof(session, 3, 2)
