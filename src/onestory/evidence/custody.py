"""The chain of custody: every action on an item is a ledger entry, in the caller's transaction.

An entry's type is ``evidence.custody.<action>``; its subject is the item; its payload (the part
the entry commits to) names the item, the case, the exhibit and the item's SHA-256, plus what is
particular to the action. ``history`` reads an item's entries back with their payloads and salts,
which is everything a disclosure bundle needs for anyone to recompute each entry's commitment
and leaf hash offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.evidence.tables import CustodyAction, CustodyEntry, EvidenceItem
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_many, entry_json
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.vocabulary import RecordKind
from onestory.store.base import utcnow

ENTRY_TYPE_PREFIX = "evidence.custody."


def entry_type(action: str) -> str:
    """The ledger entry type of a custody action."""
    return ENTRY_TYPE_PREFIX + str(action)


def base_payload(item: EvidenceItem, action: str) -> dict[str, Any]:
    """What every custody entry commits to about its item."""
    return {
        "item": item.id,
        "action": str(action),
        "caseUrn": item.case_urn,
        "exhibitReference": item.exhibit_reference,
        "sha256": item.sha256,
    }


def acquisition_details(item: EvidenceItem) -> dict[str, Any]:
    """What an ``acquired`` entry records: the ACPO / ISO/IEC 27037 facts of acquisition."""
    return {
        "description": item.description,
        "seizedBy": item.seized_by,
        "seizedAt": item.seized_at.isoformat(),
        "seizedFrom": item.seized_from,
        "device": item.device,
        "method": item.method,
        "sizeBytes": item.size_bytes,
        "mediaType": item.media_type,
        "filename": item.filename,
        "organisation": item.organisation,
        "derivedFrom": item.derived_from_id,
        "derivation": item.derivation,
    }


def record(
    session: Session,
    item: EvidenceItem,
    action: CustodyAction,
    *,
    actor: str,
    actor_org: str | None,
    purpose: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> CustodyEntry:
    """Append the custody entry for ``action`` on ``item`` and keep its sequence number."""
    moment = at or utcnow()
    payload = base_payload(item, action)
    if details:
        payload.update(details)
    appended = append_many(
        session,
        [
            NewEntry(
                entry_type(action),
                actor,
                actor_org,
                purpose,
                (Subject(RecordKind.EVIDENCE, item.id),),
                payload,
                at=moment,
            )
        ],
    )[0]
    entry = CustodyEntry(
        item_id=item.id,
        action=str(action),
        ledger_seq=appended.seq,
        at=moment,
        actor=actor,
        actor_org=actor_org,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class CustodyRecord:
    """One custody entry as the log holds it: the entry document, and its payload and salt
    (None once erased at the end of retention)."""

    seq: int
    action: str
    at: datetime
    actor: str
    actor_org: str | None
    entry: dict[str, Any]
    payload: dict[str, Any] | None
    salt: bytes | None


def history(session: Session, item_ids: list[str]) -> dict[str, list[CustodyRecord]]:
    """Every custody entry of the given items, oldest first, keyed by item id."""
    found: dict[str, list[CustodyRecord]] = {item_id: [] for item_id in item_ids}
    if not item_ids:
        return found
    rows = session.execute(
        select(CustodyEntry, LedgerEntry, LedgerPayload)
        .join(LedgerEntry, LedgerEntry.seq == CustodyEntry.ledger_seq)
        .outerjoin(LedgerPayload, LedgerPayload.seq == CustodyEntry.ledger_seq)
        .where(CustodyEntry.item_id.in_(item_ids))
        .order_by(CustodyEntry.ledger_seq)
    )
    for custody, ledger_entry, payload in rows:
        found[custody.item_id].append(
            CustodyRecord(
                seq=custody.ledger_seq,
                action=custody.action,
                at=ledger_entry.recorded_at,
                actor=custody.actor,
                actor_org=custody.actor_org,
                entry=entry_json(ledger_entry),
                payload=dict(payload.payload) if payload is not None else None,
                salt=bytes(payload.salt) if payload is not None else None,
            )
        )
    return found
