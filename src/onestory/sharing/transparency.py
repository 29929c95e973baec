"""Who has seen a person's data: their record's history, read back from the ledger.

Every consultation and disclosure is a ledger entry naming the records it was about (DPA 2018
s62), so a person's access history is the entries whose ``subjects`` include them. Finding
those is a query on a JSON list, which the two databases spell differently:

- PostgreSQL: ``subjects @> '[{"kind": ..., "id": ...}]'`` on the JSONB column, exact, and able
  to use a GIN index on ``subjects`` when the log grows large;
- SQLite: ``EXISTS (SELECT 1 FROM json_each(subjects) WHERE kind = ... AND id = ...)``, exact.

Both compare the kind and id as values, so an id containing quotes, ``%`` or non-ASCII letters
matches only itself, which a LIKE on the serialised JSON could not promise (the two databases
serialise JSON differently). Any other database falls back to checking every entry in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.authorize import DECISION
from onestory.sharing.consent import GRANTED, WITHDRAWN
from onestory.sharing.tables import Organisation

INCLUSION_PROOF_PATH = "/api/ledger/proofs/inclusion"
SUBJECT_ACCESS_EXPORTED = "sharing.subject_access.exported"

# Entry types in the words a person reading their own history would use.
ENTRY_TYPE_WORDS: dict[str, str] = {
    DECISION: "Asked to use your record",
    GRANTED: "Consent given",
    WITHDRAWN: "Consent withdrawn",
    "ledger.payload.erased": "Details deleted at the end of the retention period",
    SUBJECT_ACCESS_EXPORTED: "A copy of your records was produced for you",
    "sharing.accounts.listed": "An administrator looked at the list of accounts",
    "sharing.account.locked": "An administrator locked your account",
    "sharing.account.unlocked": "An administrator unlocked your account",
    "notify.message.queued": "A message to you was prepared",
    "notify.message.delivered": "A message to you was delivered",
}


@dataclass(frozen=True)
class AccessRecord:
    """One ledger entry about the person, as their access history shows it."""

    seq: int
    recorded_at: datetime
    entry_type: str
    description: str
    actor: str
    organisation_code: str | None
    organisation_name: str | None
    purpose: str | None
    # Set for sharing decisions whose details are still held; None otherwise.
    action: str | None = None
    allowed: bool | None = None
    # The entry committed to details that have since been erased (end of retention).
    details_erased: bool = False

    @property
    def proof_url(self) -> str:
        """Where to fetch the proof that this entry is in the signed log."""
        return f"{INCLUSION_PROOF_PATH}?seq={self.seq}"

    @property
    def organisation(self) -> str | None:
        """The organisation's name and code, or the code alone when it is not known here."""
        if self.organisation_code is None:
            return None
        if self.organisation_name is None:
            return self.organisation_code
        return f"{self.organisation_name} ({self.organisation_code})"

    @property
    def outcome(self) -> str | None:
        """What was asked and the answer, in words; None when the entry is not a decision."""
        if self.details_erased:
            return "details erased"
        if self.action is None:
            return None
        return f"{self.action}: {'allowed' if self.allowed else 'refused'}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, for exports."""
        return {
            "seq": self.seq,
            "recordedAt": self.recorded_at.isoformat(),
            "entryType": self.entry_type,
            "description": self.description,
            "actor": self.actor,
            "organisationCode": self.organisation_code,
            "organisationName": self.organisation_name,
            "purpose": self.purpose,
            "action": self.action,
            "allowed": self.allowed,
            "detailsErased": self.details_erased,
            "inclusionProof": self.proof_url,
        }


def describe_entry_type(entry_type: str) -> str:
    """An entry type in plain words (unknown types are shown as their words, not their dots)."""
    known = ENTRY_TYPE_WORDS.get(entry_type)
    if known is not None:
        return known
    return entry_type.replace(".", " ").replace("_", " ").capitalize()


def _is_about(session: Session, kind: str, subject_id: str) -> ColumnElement[bool] | None:
    """A WHERE clause for entries naming the subject, or None when only Python can tell."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return type_coerce(LedgerEntry.subjects, JSONB).contains([{"kind": kind, "id": subject_id}])
    if dialect == "sqlite":
        element = func.json_each(LedgerEntry.subjects).table_valued("value")
        return (
            select(1)
            .select_from(element)
            .where(
                func.json_extract(element.c.value, "$.kind") == kind,
                func.json_extract(element.c.value, "$.id") == subject_id,
            )
            .exists()
        )
    return None


def _names(subjects: Iterable[dict[str, str]], kind: str, subject_id: str) -> bool:
    return any(s.get("kind") == kind and s.get("id") == subject_id for s in subjects)


def entries_about(session: Session, *, subject_kind: str, subject_id: str) -> list[LedgerEntry]:
    """Every ledger entry whose subjects include (kind, id), newest first."""
    query = select(LedgerEntry).order_by(LedgerEntry.seq.desc())
    clause = _is_about(session, subject_kind, subject_id)
    if clause is not None:
        query = query.where(clause)
    found = session.scalars(query)
    # The exact check again in Python: cheap, and it keeps the fallback and the SQL honest.
    return [e for e in found if _names(e.subjects, subject_kind, subject_id)]


def payloads_of(session: Session, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The payloads still held for ``seqs`` (erased ones are absent)."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    rows = session.execute(
        select(LedgerPayload.seq, LedgerPayload.payload).where(LedgerPayload.seq.in_(wanted))
    )
    return {int(seq): dict(payload) for seq, payload in rows}


def access_history(session: Session, *, subject_kind: str, subject_id: str) -> list[AccessRecord]:
    """Who has done what with the subject's records, newest first, one record per entry."""
    entries = entries_about(session, subject_kind=subject_kind, subject_id=subject_id)
    codes = {e.actor_org for e in entries if e.actor_org}
    names: dict[str, str] = {}
    if codes:
        rows = session.execute(
            select(Organisation.code, Organisation.name).where(Organisation.code.in_(codes))
        )
        names = {code: name for code, name in rows}
    payloads = payloads_of(session, (e.seq for e in entries if e.digest is not None))
    return [_record(entry, names, payloads.get(entry.seq)) for entry in entries]


def _record(
    entry: LedgerEntry, names: dict[str, str], payload: dict[str, Any] | None
) -> AccessRecord:
    action: str | None = None
    allowed: bool | None = None
    if entry.entry_type == DECISION and payload is not None:
        action = str(payload.get("action")) if payload.get("action") is not None else None
        allowed = bool(payload.get("allowed"))
    return AccessRecord(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        entry_type=entry.entry_type,
        description=describe_entry_type(entry.entry_type),
        actor=entry.actor,
        organisation_code=entry.actor_org,
        organisation_name=names.get(entry.actor_org) if entry.actor_org else None,
        purpose=entry.purpose,
        action=action,
        allowed=allowed,
        # A digest without a payload means the details existed and have been deleted.
        details_erased=entry.digest is not None and payload is None,
    )
