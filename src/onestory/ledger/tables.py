"""The ledger's tables: entries, their payloads (erasable), the Merkle tree's nodes, checkpoints.

``ledger_entry`` holds commitments only; the personal data an entry commits to lives in
``ledger_payload`` with its salt, and erasing it there leaves every hash in the log intact.
``ledger_node`` holds every perfect subtree of the Merkle tree, so a proof is one indexed
lookup of O(log n) rows. ``ledger_head`` is a single row whose lock serialises appenders, which
is what makes sequence numbers gap-free.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, BigInteger, ForeignKey, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, JSONDocument


class LedgerHead(Base):
    """The one row that records how many entries the log holds."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


# The head row exists from the moment the table does, so that the first appenders have a row to
# lock (two of them inserting it at once would otherwise collide).
event.listen(
    LedgerHead.__table__,
    "after_create",
    DDL("INSERT INTO ledger_head (id, size) VALUES (1, 0)"),  # type: ignore[no-untyped-call]
)


class LedgerEntry(Base):
    """One entry: what happened, who did it and why, and a commitment to the details."""

    __tablename__ = "ledger_entry"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime]
    entry_type: Mapped[str] = mapped_column(String(100), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_org: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str | None] = mapped_column(String(64))
    subjects: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
    digest: Mapped[str | None] = mapped_column(String(64))


class LedgerPayload(Base):
    """The details an entry commits to, and the salt; deleted when retention ends."""

    __tablename__ = "ledger_payload"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_entry.seq"), primary_key=True, autoincrement=False
    )
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    payload: Mapped[dict[str, Any]]


class LedgerNode(Base):
    """A perfect subtree's hash; ``key`` packs (level, index) as index * 64 + level."""

    __tablename__ = "ledger_node"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """A signed tree head, in the C2SP signed-note checkpoint format."""

    __tablename__ = "ledger_checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
