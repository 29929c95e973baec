"""Granting and withdrawing consent, and asking whether it is in force right now.

Consent is given per organisation kind (any victim support service) or per organisation (this
one service), and per purpose. The organisation's own row, when there is one, wins over the
kind-wide row: a person can say yes to support services in general and no to one of them.

``has_consent`` reads the database on every call. There is no cache, so a withdrawal stops
sharing on the very next read, as UK GDPR art 7(3) expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit
from onestory.sharing.consent_tables import EVERY_ORGANISATION, Consent
from onestory.sharing.vocabulary import OrganisationKind, Purpose
from onestory.store.base import utcnow

if TYPE_CHECKING:
    from onestory.sharing.authorize import Actor

GRANTED = "sharing.consent.granted"
WITHDRAWN = "sharing.consent.withdrawn"
_KINDS = frozenset(OrganisationKind)
_PURPOSES = frozenset(Purpose)


class ConsentError(ValueError):
    """A consent change that cannot be recorded as asked; the message says why."""


def grant_consent(
    session: Session,
    *,
    actor: Actor,
    subject_id: str,
    organisation_kind: str,
    organisation_code: str | None = None,
    purpose: str,
) -> Consent:
    """Record that the person agrees; ledgered in the caller's transaction."""
    return _change(session, actor, subject_id, organisation_kind, organisation_code, purpose, True)


def withdraw_consent(
    session: Session,
    *,
    actor: Actor,
    subject_id: str,
    organisation_kind: str,
    organisation_code: str | None = None,
    purpose: str,
) -> Consent:
    """Record that the person no longer agrees; takes effect on the next ``has_consent``."""
    return _change(session, actor, subject_id, organisation_kind, organisation_code, purpose, False)


def has_consent(
    session: Session,
    *,
    subject_id: str,
    organisation_kind: str,
    organisation_code: str | None,
    purpose: str,
) -> bool:
    """Whether the person's consent is in force for this organisation and purpose now."""
    codes = [EVERY_ORGANISATION]
    if organisation_code:
        codes.append(organisation_code)
    rows = session.execute(
        select(Consent.organisation_code, Consent.granted).where(
            Consent.subject_id == subject_id,
            Consent.organisation_kind == organisation_kind,
            Consent.organisation_code.in_(codes),
            Consent.purpose == purpose,
        )
    ).all()
    state = dict(rows)
    if organisation_code and organisation_code in state:
        return bool(state[organisation_code])
    return bool(state.get(EVERY_ORGANISATION, False))


def _change(
    session: Session,
    actor: Actor,
    subject_id: str,
    organisation_kind: str,
    organisation_code: str | None,
    purpose: str,
    granted: bool,
) -> Consent:
    if organisation_kind not in _KINDS:
        raise ConsentError(f"{organisation_kind!r} is not a kind of organisation")
    if purpose not in _PURPOSES:
        raise ConsentError(f"{purpose!r} is not a purpose")
    if not subject_id:
        raise ConsentError("consent must be about a person: subject_id is empty")
    code = organisation_code or EVERY_ORGANISATION
    # The ledger entry goes first: on SQLite its head update takes the write lock before we
    # read the current row (see ledger.log), and on PostgreSQL the head lock serialises
    # concurrent changes to the same consent.
    append_at_commit(
        session,
        entry_type=GRANTED if granted else WITHDRAWN,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=purpose,
        subjects=[Subject("person", subject_id)],
        payload={
            "organisationKind": organisation_kind,
            "organisationCode": code or None,
            "purpose": purpose,
            "granted": granted,
        },
    )
    row = session.scalar(
        select(Consent).where(
            Consent.subject_id == subject_id,
            Consent.organisation_kind == organisation_kind,
            Consent.organisation_code == code,
            Consent.purpose == purpose,
        )
    )
    if row is None:
        row = Consent(
            subject_id=subject_id,
            organisation_kind=organisation_kind,
            organisation_code=code,
            purpose=purpose,
        )
        session.add(row)
    row.granted = granted
    row.changed_at = utcnow()
    row.changed_by = actor.user_or_client_id
    session.flush()
    return row
