"""``onestory ledger verify``: recompute the whole ledger from its entries and check everything.

Every leaf is recomputed from its entry, every payload still held is checked against its
digest, every stored node is recomputed from the leaves, every checkpoint's signature is
checked and its root compared with the recomputed tree, and each checkpoint is checked to be
consistent with the one before. Problems are reported in log order, the first one first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.entries import canonical_json, commitment
from onestory.ledger.log import (
    LedgerError,
    consistency_proof,
    entry_json,
    load_nodes,
    tree_size,
)
from onestory.ledger.note import NoteVerifier, open_checkpoint
from onestory.ledger.tables import LedgerCheckpoint, LedgerEntry, LedgerNode, LedgerPayload

CHUNK = 2_000
MAX_PROBLEMS = 20


@dataclass
class VerifyReport:
    """What verification checked and what it found wrong."""

    entries: int = 0
    payloads: int = 0
    nodes: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was wrong."""
        return not self.problems


class _Stop(Exception):
    pass


def verify_ledger(
    session: Session,
    verifier: NoteVerifier,
    *,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Check the whole ledger; see the module docstring."""
    started = time.perf_counter()
    report = VerifyReport()

    def problem(message: str, *, fatal: bool = False) -> None:
        report.problems.append(message)
        if fatal or len(report.problems) >= MAX_PROBLEMS:
            raise _Stop

    head = tree_size(session)
    checkpoints = list(session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)))
    wanted_roots = {c.size for c in checkpoints}
    roots: dict[int, bytes] = {}
    frontier: dict[merkle.NodeId, bytes] = {}
    size = 0
    try:
        while True:
            entries = list(
                session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.seq >= size)
                    .order_by(LedgerEntry.seq)
                    .limit(CHUNK)
                )
            )
            if not entries:
                break
            payloads = {
                p.seq: p
                for p in session.scalars(
                    select(LedgerPayload).where(
                        LedgerPayload.seq.between(entries[0].seq, entries[-1].seq)
                    )
                )
            }
            leaves: list[bytes] = []
            for entry in entries:
                expected = size + len(leaves)
                if entry.seq != expected:
                    problem(
                        f"entry {expected} is missing (the next stored entry is {entry.seq})",
                        fatal=True,
                    )
                leaves.append(merkle.hash_leaf(canonical_json(entry_json(entry))))
                held = payloads.get(entry.seq)
                if held is not None:
                    report.payloads += 1
                    if entry.digest is None:
                        problem(
                            f"entry {entry.seq}: a payload is stored but the entry has no digest"
                        )
                    elif commitment(bytes(held.salt), held.payload) != entry.digest:
                        problem(f"entry {entry.seq}: its payload does not match its digest")
            # Extend the recomputed tree leaf run by leaf run, stopping at checkpoint sizes.
            position = 0
            while position < len(leaves):
                stop = len(leaves)
                for cp_size in wanted_roots:
                    if size < cp_size < size + stop - position:
                        stop = min(stop, position + cp_size - size)
                run = leaves[position:stop]
                computed = merkle.append_nodes(size, frontier, run)
                stored = load_nodes(session, computed)
                for node, digest in sorted(computed.items(), key=_log_order):
                    report.nodes += 1
                    level, index = node
                    if stored.get(node) == digest:
                        continue
                    what = "missing" if node not in stored else "different"
                    if level == 0:
                        problem(
                            f"entry {index}: its leaf hash, recomputed from the entry, differs "
                            f"from the stored tree (stored leaf {what}): the entry or its leaf "
                            "was changed"
                        )
                    else:
                        problem(f"node (level {level}, index {index}) is {what} in the stored tree")
                size += len(run)
                position = stop
                everything = {**frontier, **computed}
                frontier = {n: everything[n] for n in merkle.root_plan(size)}
                if size in wanted_roots:
                    roots[size] = merkle.range_hash([frontier[n] for n in merkle.root_plan(size)])
            report.entries = size
            if progress:
                progress(len(entries))
        if size != head:
            problem(f"the ledger's head says {head} entries but {size} are stored")
        expected_nodes = sum(size >> level for level in range(size.bit_length()))
        stored_nodes = session.scalar(select(func.count()).select_from(LedgerNode)) or 0
        if stored_nodes != expected_nodes:
            problem(f"the stored tree has {stored_nodes} nodes; {expected_nodes} expected")
        _check_checkpoints(session, checkpoints, roots, verifier, report, problem)
    except _Stop:
        pass
    report.seconds = time.perf_counter() - started
    return report


def _log_order(item: tuple[merkle.NodeId, bytes]) -> tuple[int, int]:
    # A node is reported where its last leaf is, after the leaf itself: the first problem named
    # is then the earliest entry affected.
    (level, index), _ = item
    return ((index + 1) << level, level)


def _check_checkpoints(
    session: Session,
    checkpoints: list[LedgerCheckpoint],
    roots: dict[int, bytes],
    verifier: NoteVerifier,
    report: VerifyReport,
    problem: Callable[[str], None],
) -> None:
    previous: tuple[int, bytes] | None = None
    for stored in checkpoints:
        report.checkpoints += 1
        try:
            signed = open_checkpoint(verifier, stored.note)
        except (merkle.VerificationError, ValueError) as exc:
            problem(f"checkpoint {stored.size}: its signature does not verify ({exc})")
            continue
        if signed.size != stored.size or signed.root_hash != bytes(stored.root_hash):
            problem(
                f"checkpoint {stored.size}: the signed note says size {signed.size} "
                "with a different root from the stored checkpoint row"
            )
            continue
        recomputed = roots.get(stored.size)
        if recomputed is None:
            problem(f"checkpoint {stored.size}: the ledger holds fewer entries than it signed")
            continue
        if recomputed != signed.root_hash:
            problem(
                f"checkpoint {stored.size}: its signed root differs from the root recomputed "
                "from the entries"
            )
            continue
        # Both roots were recomputed from one pass over the entries, so the earlier tree is a
        # prefix of the later one; proving it from the stored nodes checks what auditors get.
        if previous is not None:
            old_size, old_root = previous
            try:
                proof = consistency_proof(session, old_size, signed.size)
                merkle.verify_consistency(old_size, signed.size, old_root, signed.root_hash, proof)
            except (merkle.VerificationError, LedgerError) as exc:
                problem(f"checkpoint {stored.size} is not consistent with {old_size} ({exc})")
        previous = (signed.size, signed.root_hash)
