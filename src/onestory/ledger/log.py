"""Appending to the ledger inside the caller's transaction, and reading proofs back out.

``append`` joins the caller's database transaction: the change it records and its entry commit
or roll back together. Appenders serialise on the ``ledger_head`` row (an ``UPDATE`` of it row-locks
it on PostgreSQL and takes the database's single write lock on SQLite), so sequence
numbers are gap-free and every append extends the same tree.

On SQLite a transaction that only read before appending may be refused with "database is
locked" if another writer committed in between (SQLite cannot upgrade a stale read snapshot);
write first — record the change, or append the access decision — then read.

``append_at_commit`` is for the busy paths (access decisions, consent changes, queued
messages, received events): it takes the append lock at once, so the transaction is ordered and
on SQLite holds the write lock, but writes the entries in one batch when the transaction
commits -- one head update and one frontier read for all of a request's entries instead of one
each. A pending entry is written before anything reads the ledger in the same transaction (an
ORM query of a ledger table, or ``append``), so the transaction always sees its own entries; if
it cannot be written, the commit fails and the transaction's work is rolled back with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from onestory.ledger import merkle
from onestory.ledger.entries import (
    NewEntry,
    Subject,
    canonical_json,
    commitment,
    entry_document,
    new_salt,
)
from onestory.ledger.tables import LedgerEntry, LedgerHead, LedgerNode, LedgerPayload
from onestory.store.base import utcnow

HEAD_ID = 1
_ENTRY_TABLE = cast(Table, LedgerEntry.__table__)
_PAYLOAD_TABLE = cast(Table, LedgerPayload.__table__)
_NODE_TABLE = cast(Table, LedgerNode.__table__)
LEVEL_BITS = 64  # node key = index * 64 + level; levels never reach 64


class LedgerError(Exception):
    """A ledger operation that cannot be done as asked; the message says why."""


def node_key(node: merkle.NodeId) -> int:
    """The integer primary key of a node (level, index)."""
    level, index = node
    return index * LEVEL_BITS + level


def key_node(key: int) -> merkle.NodeId:
    """The (level, index) of a node key."""
    return (key % LEVEL_BITS, key // LEVEL_BITS)


def load_nodes(session: Session, nodes: Iterable[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
    """The stored hashes of ``nodes`` (one query); missing nodes are absent from the result."""
    keys = sorted({node_key(n) for n in nodes})
    if not keys:
        return {}
    rows = session.execute(select(LedgerNode.key, LedgerNode.hash).where(LedgerNode.key.in_(keys)))
    return {key_node(k): bytes(h) for k, h in rows}


def _require_nodes(session: Session, wanted: Iterable[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
    wanted = list(wanted)
    found = load_nodes(session, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        level, index = missing[0]
        raise LedgerError(
            f"the ledger's tree is missing node (level {level}, index {index}); "
            "run `onestory ledger verify`"
        )
    return found


# session.info key: the (transaction, savepoint) in which this session took the head lock.
_LOCKED_IN = "onestory.ledger.head_locked_in"


def _where_locked(session: Session) -> tuple[object, object]:
    return (session.get_transaction(), session.get_nested_transaction())


def _lock_head(session: Session, grow_by: int) -> int:
    """Lock the head row, add ``grow_by`` to the size, and return the size before.

    One ``UPDATE ... RETURNING`` does it on both databases: it row-locks the head on PostgreSQL
    and takes the single write lock on SQLite before anything is read, in one round trip.
    """
    after = session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == HEAD_ID)
        .values(size=LedgerHead.size + grow_by)
        .returning(LedgerHead.size)
    ).scalar()
    if after is None:
        raise LedgerError("the ledger_head row is missing; run `onestory db upgrade`")
    session.info[_LOCKED_IN] = _where_locked(session)
    return int(after) - grow_by


def lock_for_append(session: Session) -> None:
    """Take the ledger's append lock now, before this transaction reads what it will ledger.

    On SQLite this is what keeps a read-then-append transaction from failing under contention
    (see the module docstring); on PostgreSQL it orders this transaction's entry behind others.
    A transaction that already holds the lock (it appended, or asked before) does not ask
    again: the lock lasts until it commits or rolls back, and asking costs a round trip.
    """
    held = session.info.get(_LOCKED_IN)
    if held is not None and held == _where_locked(session) and held[0] is not None:
        return
    _lock_head(session, 0)


def tree_size(session: Session) -> int:
    """How many entries the ledger holds."""
    return int(session.scalar(select(LedgerHead.size).where(LedgerHead.id == HEAD_ID)) or 0)


@dataclass(frozen=True)
class Appended:
    """An entry as appended: its sequence number and leaf hash."""

    seq: int
    leaf_hash: bytes
    digest: str | None


# session.info key: entries waiting for the transaction's commit (see append_at_commit).
_PENDING = "onestory.ledger.pending"
_LEDGER_MAPPERS = frozenset({LedgerEntry, LedgerHead, LedgerNode, LedgerPayload})
_LEDGER_TABLES = frozenset(str(m.__tablename__) for m in _LEDGER_MAPPERS)


def append_at_commit(
    session: Session,
    *,
    entry_type: str,
    actor: str,
    actor_org: str | None = None,
    purpose: str | None = None,
    subjects: Sequence[Subject] = (),
    payload: dict[str, Any] | None = None,
) -> None:
    """Take the append lock now and write the entry with the transaction's others at commit."""
    lock_for_append(session)
    entry = NewEntry(entry_type, actor, actor_org, purpose, tuple(subjects), payload)
    session.info.setdefault(_PENDING, []).append(entry)


def write_pending(session: Session) -> list[Appended]:
    """Write the entries waiting for this transaction's commit, now, in the order given."""
    pending: list[NewEntry] = session.info.pop(_PENDING, [])
    return _append_now(session, pending) if pending else []


@event.listens_for(Session, "before_commit")
def _write_pending_before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # The transaction is over (committed, rolled back or closed): entries still waiting go
    # with the work they recorded, and so does the lock. Savepoints do not end it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_LOCKED_IN, None)


@event.listens_for(Session, "do_orm_execute")
def _write_pending_before_reading(state: ORMExecuteState) -> None:
    # A query of the ledger sees this transaction's own entries, as if they were written.
    if state.session.info.get(_PENDING) and _reads_ledger(state):
        write_pending(state.session)


def _reads_ledger(state: ORMExecuteState) -> bool:
    if any(mapper.class_ in _LEDGER_MAPPERS for mapper in state.all_mappers):
        return True
    statement = state.statement
    if not isinstance(statement, ClauseElement):
        return False
    return any(table.name in _LEDGER_TABLES for table in find_tables(statement))


def append_many(session: Session, entries: Sequence[NewEntry]) -> list[Appended]:
    """Append ``entries`` in order, inside the caller's transaction (which the caller commits).

    Entries waiting for the commit (``append_at_commit``) are written first, to keep the order.
    """
    write_pending(session)
    return _append_now(session, entries)


def _append_now(session: Session, entries: Sequence[NewEntry]) -> list[Appended]:
    if not entries:
        return []
    start = _lock_head(session, len(entries))
    frontier = _require_nodes(session, merkle.root_plan(start)) if start else {}
    now = utcnow()
    entry_rows: list[dict[str, Any]] = []
    payload_rows: list[dict[str, Any]] = []
    leaf_hashes: list[bytes] = []
    appended: list[Appended] = []
    for offset, entry in enumerate(entries):
        seq = start + offset
        subjects = [s.as_dict() for s in entry.subjects]
        digest = None
        if entry.payload is not None:
            salt = new_salt()
            payload = dict(entry.payload)
            digest = commitment(salt, payload)
            payload_rows.append({"seq": seq, "salt": salt, "payload": payload})
        row: dict[str, Any] = {
            "seq": seq,
            "recorded_at": entry.at or now,
            "entry_type": entry.entry_type,
            "actor": entry.actor,
            "actor_org": entry.actor_org,
            "purpose": entry.purpose,
            "subjects": subjects,
            "digest": digest,
        }
        leaf = merkle.hash_leaf(canonical_json(entry_document(**row)))
        entry_rows.append(row)
        leaf_hashes.append(leaf)
        appended.append(Appended(seq, leaf, digest))
    nodes = merkle.append_nodes(start, frontier, leaf_hashes)
    # Core inserts on the session's own connection (same transaction): the ORM's bulk path
    # costs more than the database does at these row counts.
    connection = session.connection()
    connection.execute(insert(_ENTRY_TABLE), entry_rows)
    if payload_rows:
        connection.execute(insert(_PAYLOAD_TABLE), payload_rows)
    node_rows = [{"key": node_key(n), "hash": h} for n, h in nodes.items()]
    connection.execute(insert(_NODE_TABLE), node_rows)
    return appended


def append(
    session: Session,
    *,
    entry_type: str,
    actor: str,
    actor_org: str | None = None,
    purpose: str | None = None,
    subjects: Sequence[Subject] = (),
    payload: dict[str, Any] | None = None,
) -> Appended:
    """Append one entry inside the caller's transaction."""
    entry = NewEntry(entry_type, actor, actor_org, purpose, tuple(subjects), payload)
    return append_many(session, [entry])[0]


def root_hash(session: Session, size: int) -> bytes:
    """The Merkle root of the first ``size`` entries, from stored nodes."""
    if size == 0:
        return merkle.EMPTY_ROOT
    plan = merkle.root_plan(size)
    nodes = _require_nodes(session, plan)
    return merkle.range_hash([nodes[n] for n in plan])


def inclusion_proof(session: Session, seq: int, size: int) -> list[bytes]:
    """The inclusion proof of entry ``seq`` in the tree of ``size`` entries."""
    if not 0 <= seq < size:
        raise LedgerError(f"entry {seq} is not in a tree of {size} entries")
    plan = merkle.inclusion_proof_plan(seq, size)
    return merkle.build_proof(plan, _require_nodes(session, (n for step in plan for n in step)))


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the tree of ``old_size`` entries is a prefix of that of ``new_size``."""
    if not 0 < old_size <= new_size:
        raise LedgerError(
            f"no consistency proof from {old_size} to {new_size}: sizes must satisfy "
            "0 < old <= new (a proof from an empty tree proves nothing)"
        )
    plan = merkle.consistency_proof_plan(old_size, new_size)
    return merkle.build_proof(plan, _require_nodes(session, (n for step in plan for n in step)))


def leaf_hash(session: Session, seq: int) -> bytes:
    """The stored leaf hash of entry ``seq``."""
    return _require_nodes(session, [(0, seq)])[(0, seq)]


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    """The document an entry's leaf hash is computed over."""
    return entry_document(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        entry_type=entry.entry_type,
        actor=entry.actor,
        actor_org=entry.actor_org,
        purpose=entry.purpose,
        subjects=entry.subjects,
        digest=entry.digest,
    )


def erase_payload(session: Session, *, seq: int, actor: str, reason: str) -> Appended:
    """Delete an entry's payload and salt (end of retention) and ledger that it happened.

    The entry and its digest stay, so the log still verifies; the details cannot be recovered.
    """
    payload = session.get(LedgerPayload, seq)
    if payload is None:
        raise LedgerError(f"entry {seq} has no payload to erase")
    session.delete(payload)
    session.flush()
    return append(
        session,
        entry_type="ledger.payload.erased",
        actor=actor,
        subjects=[Subject("ledger_entry", str(seq))],
        payload={"erasedSeq": seq, "reason": reason},
    )
