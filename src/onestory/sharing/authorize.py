"""The access decision: may this actor do this to this record, for this purpose, now?

Deny by default: an action is allowed only when a data-sharing agreement grants the actor's
role that action on that kind of record for that purpose, the role belongs to the actor's kind
of organisation, and the agreement's runtime conditions hold (the record is the actor's own,
or the person it is about consents). Fail closed: anything that goes wrong while deciding is a
refusal, never an exception through to the caller.

``decide`` is the decision alone, without I/O, so it can be tested and benchmarked on its own;
``authorize`` adds the database (consent) and the ledger entry that DPA 2018 s62 requires for
every consultation and disclosure, allowed or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit, lock_for_append
from onestory.sharing.consent import has_consent
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, LawfulBasis

DECISION = "sharing.decision"

# (subject id, organisation kind, organisation code, purpose) -> consent in force now?
ConsentLookup = Callable[[str, str, str | None, str], bool]


@dataclass(frozen=True)
class Actor:
    """Who is asking: a signed-in person or a system client, with their role and organisation."""

    user_or_client_id: str
    role: str
    organisation_code: str | None
    organisation_kind: str | None
    # The person the actor is, when they act for themselves (a victim's subject id): the
    # records "their own" agreements cover are the ones about this person.
    subject_id: str | None = None


@dataclass(frozen=True)
class RecordRef:
    """The record asked for; ``owner_subject_id`` is the person it is about, when there is one."""

    kind: str
    id: str
    owner_subject_id: str | None = None


@dataclass(frozen=True)
class Decision:
    """The answer, the agreement that gave it (if allowed), and why, in words."""

    allowed: bool
    rule: str | None
    reason: str
    lawful_basis: LawfulBasis | None = None


def _deny(reason: str) -> Decision:
    return Decision(False, None, reason)


def decide(
    policies: PolicySet,
    *,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
    consent_lookup: ConsentLookup,
) -> Decision:
    """Decide without I/O beyond ``consent_lookup``; never raises."""
    try:
        return _decide(policies, actor, action, record, purpose, consent_lookup)
    except Exception as exc:  # fail closed: a check that cannot finish is a refusal
        return _deny(f"refused because the check failed ({type(exc).__name__}: {exc})")


def _decide(
    policies: PolicySet,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
    consent_lookup: ConsentLookup,
) -> Decision:
    role = actor.role
    if role not in ROLE_ORGANISATION_KIND:
        return _deny(f"{role!r} is not a role")
    works_for = ROLE_ORGANISATION_KIND[role]
    if works_for != actor.organisation_kind:
        return _deny(
            f"role {role} belongs to {works_for or 'no organisation'}, but the actor's "
            f"organisation is {actor.organisation_kind or 'none'}"
        )
    if works_for is not None and not actor.organisation_code:
        return _deny(f"a {role} must act for a named organisation")
    candidates = policies.lookup(role, action, record.kind, purpose)
    if not candidates:
        return _deny(f"no agreement lets a {role} {action} {record.kind} records for {purpose}")
    refusals: list[str] = []
    owner = record.owner_subject_id
    own = actor.subject_id or actor.user_or_client_id
    for agreement in candidates:
        if agreement.own_records_only and (owner is None or owner != own):
            refusals.append(f"{agreement.id}: the record is not the actor's own")
            continue
        if agreement.consent_required:
            if owner is None:
                refusals.append(f"{agreement.id}: needs consent, but the record names no person")
                continue
            kind = actor.organisation_kind or ""
            if not consent_lookup(owner, kind, actor.organisation_code, purpose):
                refusals.append(f"{agreement.id}: the person has not consented (or withdrew)")
                continue
        return Decision(True, agreement.id, f"allowed by {agreement.id}", agreement.lawful_basis)
    return _deny("; ".join(refusals))


def authorize(
    session: Session,
    *,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
    justification: str | None = None,
    policies: PolicySet,
) -> Decision:
    """Decide, and ledger the decision in the caller's transaction; never raises.

    When the decision cannot be ledgered the answer is a refusal: an access that cannot be
    logged must not happen. The caller's transaction should then be rolled back. The entry is
    written with the transaction's others when it commits (``ledger.log.append_at_commit``, one
    batch per request); if it cannot be written then, the commit fails, so nothing read under
    the decision leaves a handler, which answers only after committing.
    """

    def lookup(subject_id: str, kind: str, code: str | None, purpose: str) -> bool:
        return has_consent(
            session,
            subject_id=subject_id,
            organisation_kind=kind,
            organisation_code=code,
            purpose=purpose,
        )

    try:
        # Lock the ledger first: the consent read and the decision's entry then happen in one
        # write transaction, which SQLite cannot otherwise guarantee under contention.
        lock_for_append(session)
    except Exception as exc:  # fail closed: no log, no access
        return _deny(f"refused because the decision could not be logged ({type(exc).__name__})")
    decision = decide(
        policies,
        actor=actor,
        action=action,
        record=record,
        purpose=purpose,
        consent_lookup=lookup,
    )
    try:
        append_at_commit(
            session,
            entry_type=DECISION,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=str(purpose),
            subjects=[Subject(str(record.kind), record.id)],
            payload={
                "action": str(action),
                "role": str(actor.role),
                "allowed": decision.allowed,
                "rule": decision.rule,
                "reason": decision.reason,
                "justification": justification,
            },
        )
    except Exception as exc:  # fail closed: no log, no access
        return _deny(f"refused because the decision could not be logged ({type(exc).__name__})")
    return decision
