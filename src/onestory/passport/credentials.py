"""Issuing and revoking passport credentials, and publishing the status list that says which.

For each achievement (a learning record whose outcome is ``achieved``, linked to a person) the
holder gets one W3C Verifiable Credential 2.0 that is also an Open Badges 3.0
``OpenBadgeCredential``, secured three ways and stored as signed:

- Data Integrity ``eddsa-rdfc-2022`` (what Open Badges 3.0 wallets and verifiers expect);
- Data Integrity ``eddsa-jcs-2022`` (the same credential, canonicalised with JCS, no JSON-LD);
- VC-JOSE ``application/vc+jwt`` (EdDSA), for JWT tooling.

What the credential says: the achievement (qualification, course, level as an alignment to the
Regulated Qualifications Framework, awarding body as its creator), the learning provider that
assessed it (``credentialSubject.source``), the dates, and the holder's name. It does not name the
prison unless the holder has chosen that (``PassportHolder.name_establishment``); no agency
identifier (prison number, ULN) ever appears in it.

Issuing is a ledger entry (``passport.credential.issued``) committing to the SHA-256 of each
secured form; revoking is one too (``passport.credential.revoked``) and flips the credential's
bit in a Bitstring Status List whose credential is re-signed and published at
``/passport/status/<n>``. Indexes are drawn at random from the list (the spec's advice: a
verifier fetching the list learns nothing about which credential it is checking).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.domain.custody import CustodyEpisode
from onestory.domain.learning import LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.entries import Subject, canonical_json
from onestory.ledger.log import append_at_commit, lock_for_append
from onestory.linkage.tables import PersonMember
from onestory.passport import dataintegrity, jose
from onestory.passport.issuer import Issuer
from onestory.passport.jsonld import OB_V3P0_URL, VC_V2_URL
from onestory.passport.statuslist import (
    MIN_ENTRIES,
    StatusList,
    status_entry,
    status_list_credential,
)
from onestory.passport.tables import (
    PassportCredential,
    PassportHolder,
    PassportStatusList,
)
from onestory.sharing.tables import Organisation
from onestory.store.base import utcnow

LEARNING_KIND = "education.learning"
CUSTODY_KIND = "prison.custody"
ISSUED = "passport.credential.issued"
REVOKED = "passport.credential.revoked"
STATUS_PATH = "/passport/status/{}"
# Open a new list once this share of a list's indexes is taken (random draws stay cheap).
LIST_FILL_LIMIT = 0.5
RQF_URL = "https://www.gov.uk/what-different-qualification-levels-mean/list-of-qualification-levels"
RQF_FRAMEWORK = "Regulated Qualifications Framework (England and Northern Ireland)"
LONDON = ZoneInfo("Europe/London")
_ORGANISATION_NAMESPACE = uuid.UUID("8d0f3c6e-2b47-4a1e-9c55-3f1e6b7a2d90")
_ACHIEVEMENT_NAMESPACE = uuid.UUID("3c1e7a52-6f0b-4d55-9a61-8f7d0e2b9c41")


class PassportError(ValueError):
    """A credential that cannot be issued or revoked as asked; the message says why."""


class AlreadyIssued(PassportError):
    """The record already has its credential (another run issued it first)."""


def credential_uri(credential_id: str) -> str:
    return f"urn:uuid:{credential_id}"


def holder_uri(holder_id: str) -> str:
    return f"urn:uuid:{holder_id}"


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def xsd_datetime(moment: datetime) -> str:
    """``2026-11-30T10:15:00Z``: the dateTime form credentials use (UTC, whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: date) -> str:
    return xsd_datetime(datetime.combine(value, time(0, 0), tzinfo=UTC))


# --- What a learning record says --------------------------------------------------------------


@dataclass(frozen=True)
class Learning:
    """The facts of one learning record a credential is made from."""

    record_id: str
    holder_name: str
    course: str
    qualification: str | None
    level: str | None
    awarding_body: str | None
    provider: str
    started_on: date | None
    completed_on: date | None
    outcome: str
    prison_number: str | None

    @property
    def achievement(self) -> str:
        return self.qualification or self.course

    @property
    def achieved(self) -> bool:
        return self.outcome == "achieved" and self.completed_on is not None


def learning_of(record: AgencyRecord) -> Learning:
    """The learning facts of an ``education.learning`` agency record (the common model's
    ``LearningRecord``, as the exchange stored it)."""
    if record.kind != LEARNING_KIND:
        raise PassportError(f"record {record.id} is a {record.kind}, not a learning record")
    try:
        body = LearningRecord.model_validate(record.body.get("record", {}))
    except ValidationError as exc:
        raise PassportError(f"record {record.id} is not a readable learning record: {exc}") from exc
    name = " ".join(part for part in (record.forenames, record.surname) if part)
    return Learning(
        record_id=record.id,
        holder_name=name.title() if name.isupper() else name,
        course=body.course,
        qualification=body.qualification,
        level=body.level,
        awarding_body=body.awarding_body,
        provider=body.provider,
        started_on=body.started_on,
        completed_on=body.completed_on,
        outcome=str(body.outcome),
        prison_number=body.prison_number,
    )


def achievement_type(qualification: str) -> str:
    """The Open Badges 3.0 achievementType a qualification's title implies."""
    lowered = qualification.lower()
    for word, kind in (("diploma", "Diploma"), ("award", "Award"), ("certificate", "Certificate")):
        if word in lowered:
            return kind
    return "Certification"


def level_alignment(level: str) -> dict[str, Any]:
    """The level as an alignment to the Regulated Qualifications Framework."""
    name = f"RQF {level}" if level.lower().startswith("entry") else f"RQF Level {level}"
    return {
        "type": ["Alignment"],
        "targetName": name,
        "targetCode": level,
        "targetFramework": RQF_FRAMEWORK,
        "targetUrl": RQF_URL,
    }


def organisation_profile(name: str) -> dict[str, Any]:
    """An Open Badges 3.0 Profile for an awarding body or provider: every Profile needs an id,
    and the same name always has the same one."""
    return {
        "id": f"urn:uuid:{uuid.uuid5(_ORGANISATION_NAMESPACE, name)}",
        "type": ["Profile"],
        "name": name,
    }


def achievement_of(learning: Learning) -> dict[str, Any]:
    """The Open Badges 3.0 Achievement: the same qualification from the same body has one id."""
    name = learning.achievement
    key = f"{learning.awarding_body or ''}\x1f{name}"
    achievement: dict[str, Any] = {
        "id": f"urn:uuid:{uuid.uuid5(_ACHIEVEMENT_NAMESPACE, key)}",
        "type": ["Achievement"],
        "achievementType": achievement_type(name),
        "name": name,
        "description": f"{name}, taken as part of the course {learning.course}.",
        "criteria": {
            "narrative": (
                f"Awarded on passing the assessment for {name}"
                + (f", set by {learning.awarding_body}." if learning.awarding_body else ".")
            )
        },
        "fieldOfStudy": learning.course,
    }
    if learning.awarding_body:
        achievement["creator"] = organisation_profile(learning.awarding_body)
    if learning.level:
        achievement["alignment"] = [level_alignment(learning.level)]
    return achievement


def credential_document(
    issuer: Issuer,
    *,
    credential_id: str,
    holder: PassportHolder,
    learning: Learning,
    establishment: str | None,
    status: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The unsecured OpenBadgeCredential for one achievement."""
    if learning.completed_on is None:
        raise PassportError(f"record {learning.record_id} has no completion date")
    source = organisation_profile(learning.provider)
    if establishment:
        source["description"] = f"{learning.provider}, teaching at {establishment}"
    subject: dict[str, Any] = {
        "id": holder_uri(holder.id),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": holder.full_name,
            }
        ],
        "achievement": achievement_of(learning),
        "activityEndDate": _day(learning.completed_on),
        "source": source,
    }
    if learning.started_on:
        subject["activityStartDate"] = _day(learning.started_on)
    document: dict[str, Any] = {
        "@context": [VC_V2_URL, OB_V3P0_URL],
        "id": credential_uri(credential_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": learning.achievement,
        "issuer": issuer.profile(),
        "validFrom": xsd_datetime(valid_from),
        "credentialSubject": subject,
        "credentialStatus": status,
    }
    if valid_until is not None:
        document["validUntil"] = xsd_datetime(valid_until)
    return document


@dataclass(frozen=True)
class Secured:
    """One credential in each securing mechanism."""

    rdfc: dict[str, Any]
    jcs: dict[str, Any]
    jwt: str

    def digests(self) -> dict[str, str]:
        """SHA-256 of each form as served (JSON documents in canonical JSON)."""
        return {
            "eddsa-rdfc-2022": sha256_hex(canonical_json(self.rdfc)),
            "eddsa-jcs-2022": sha256_hex(canonical_json(self.jcs)),
            "vc+jwt": sha256_hex(self.jwt),
        }


def secure(document: dict[str, Any], issuer: Issuer, *, created: datetime) -> Secured:
    """Sign ``document`` with both Data Integrity cryptosuites and as a vc+jwt."""
    stamp = xsd_datetime(created)
    method = issuer.verification_method
    return Secured(
        rdfc=dataintegrity.sign(
            document,
            key=issuer.key,
            verification_method=method,
            cryptosuite=dataintegrity.RDFC,
            created=stamp,
        ),
        jcs=dataintegrity.sign(
            document,
            key=issuer.key,
            verification_method=method,
            cryptosuite=dataintegrity.JCS,
            created=stamp,
        ),
        jwt=jose.sign_vc_jwt(document, key=issuer.key, kid=method),
    )


# --- Status lists ----------------------------------------------------------------------------


def status_list_url(base_url: str, list_id: int) -> str:
    return base_url.rstrip("/") + STATUS_PATH.format(list_id)


def _open_list(session: Session) -> PassportStatusList:
    """The list new credentials take indexes from, opening another when it is full enough."""
    newest = session.scalar(select(PassportStatusList).order_by(PassportStatusList.id.desc()))
    if newest is not None:
        used = session.scalar(
            select(func.count())
            .select_from(PassportCredential)
            .where(PassportCredential.status_list == newest.id)
        )
        if (used or 0) < newest.size * LIST_FILL_LIMIT:
            return newest
    status_list = PassportStatusList(size=MIN_ENTRIES)
    session.add(status_list)
    session.flush()
    return status_list


def _draw_index(session: Session, status_list: PassportStatusList) -> int:
    """A random index not yet used in ``status_list`` (the list is at most half full)."""
    while True:
        index = secrets.randbelow(status_list.size)
        taken = session.scalar(
            select(PassportCredential.id).where(
                PassportCredential.status_list == status_list.id,
                PassportCredential.status_index == index,
            )
        )
        if taken is None:
            return index


def publish_status_list(
    session: Session, issuer: Issuer, status_list: PassportStatusList, *, base_url: str
) -> dict[str, Any]:
    """Re-sign ``status_list``'s credential from the revocations now recorded (caller commits)."""
    bits = StatusList(status_list.size)
    revoked = session.scalars(
        select(PassportCredential.status_index).where(
            PassportCredential.status_list == status_list.id,
            PassportCredential.revoked_at.is_not(None),
        )
    )
    for index in revoked:
        bits.set(index)
    now = utcnow()
    unsigned = status_list_credential(
        status_list_url(base_url, status_list.id),
        issuer.did,
        purpose=status_list.purpose,
        encoded=bits.encode(),
    )
    unsigned["validFrom"] = xsd_datetime(now)
    signed = dataintegrity.sign(
        unsigned,
        key=issuer.key,
        verification_method=issuer.verification_method,
        cryptosuite=dataintegrity.RDFC,
        created=xsd_datetime(now),
    )
    status_list.credential = signed
    status_list.version += 1
    status_list.updated_at = now
    return signed


def status_list_document(
    session: Session, issuer: Issuer, list_id: int, *, base_url: str
) -> dict[str, Any] | None:
    """The published credential of list ``list_id`` (signed on first request), or None."""
    status_list = session.get(PassportStatusList, list_id)
    if status_list is None:
        return None
    if status_list.credential is None:
        publish_status_list(session, issuer, status_list, base_url=base_url)
        session.commit()
    return status_list.credential


# --- Holders ---------------------------------------------------------------------------------


def holder_for_person(
    session: Session, person_id: str, *, full_name: str, actor: str
) -> PassportHolder:
    """The person's holder record, created on their first credential."""
    holder = session.scalar(select(PassportHolder).where(PassportHolder.person_id == person_id))
    if holder is None:
        holder = PassportHolder(
            id=str(uuid.uuid4()), person_id=person_id, full_name=full_name, created_by=actor
        )
        session.add(holder)
        session.flush()
    return holder


def holder_record_ids(session: Session, holder: PassportHolder) -> list[str]:
    """The learning records the person index now places in the holder's person."""
    return list(
        session.scalars(
            select(PersonMember.record_id)
            .join(AgencyRecord, AgencyRecord.id == PersonMember.record_id)
            .where(PersonMember.person_id == holder.person_id, AgencyRecord.kind == LEARNING_KIND)
        )
    )


def holder_credentials(session: Session, holder: PassportHolder) -> list[PassportCredential]:
    """The holder's credentials, newest achievement first (revoked ones included)."""
    records = holder_record_ids(session, holder)
    if not records:
        return []
    return list(
        session.scalars(
            select(PassportCredential)
            .where(
                PassportCredential.record_id.in_(records),
                # Issued to this holder: a record the index later moved to someone else does
                # not bring a credential in another person's name with it.
                PassportCredential.holder_id == holder.id,
            )
            .order_by(PassportCredential.awarded_on.desc(), PassportCredential.issued_at.desc())
        )
    )


def establishment_of(session: Session, person_id: str, learning: Learning) -> str | None:
    """The prison the person was in when the learning ended, from their custody records."""
    if learning.completed_on is None:
        return None
    stays = session.scalars(
        select(AgencyRecord)
        .join(PersonMember, PersonMember.record_id == AgencyRecord.id)
        .where(PersonMember.person_id == person_id, AgencyRecord.kind == CUSTODY_KIND)
    )
    for stay in stays:
        try:
            episode = CustodyEpisode.model_validate(stay.body.get("record", {}))
        except ValidationError:
            continue
        received = episode.received_at.astimezone(LONDON).date()
        released = episode.released_at.astimezone(LONDON).date() if episode.released_at else None
        if received <= learning.completed_on and (
            released is None or learning.completed_on <= released
        ):
            code = episode.establishment
            name = session.scalar(select(Organisation.name).where(Organisation.code == code))
            return name or code
    return None


# --- Issuing and revoking --------------------------------------------------------------------


def issue(
    session: Session,
    issuer: Issuer,
    record: AgencyRecord,
    holder: PassportHolder,
    *,
    actor: str,
    base_url: str,
    now: datetime | None = None,
    valid_until: datetime | None = None,
) -> PassportCredential:
    """Issue the credential for one achieved learning record; the caller commits.

    The ledger entry is written with the transaction, so a credential exists only if its
    issuing is in the log.
    """
    learning = learning_of(record)
    if not learning.achieved:
        raise PassportError(
            f"record {record.id} is {learning.outcome.replace('_', ' ')}"
            + ("" if learning.completed_on else " with no completion date")
            + ": only an achieved, completed course earns a credential"
        )
    lock_for_append(session)
    # Under the ledger lock, so two runs at once cannot both issue (the unique record_id is the
    # backstop): the second finds the first's credential and stops.
    if session.scalar(
        select(PassportCredential.id).where(PassportCredential.record_id == record.id)
    ):
        raise AlreadyIssued(f"record {record.id} already has its credential")
    now = now or utcnow()
    establishment = (
        establishment_of(session, holder.person_id, learning) if holder.name_establishment else None
    )
    status_list = _open_list(session)
    index = _draw_index(session, status_list)
    credential_id = str(uuid.uuid4())
    document = credential_document(
        issuer,
        credential_id=credential_id,
        holder=holder,
        learning=learning,
        establishment=establishment,
        status=status_entry(status_list_url(base_url, status_list.id), index),
        valid_from=now,
        valid_until=valid_until,
    )
    secured = secure(document, issuer, created=now)
    assert learning.completed_on is not None  # achieved implies completed
    credential = PassportCredential(
        id=credential_id,
        record_id=record.id,
        holder_id=holder.id,
        achievement=learning.achievement[:300],
        course=learning.course[:200],
        level=learning.level,
        awarding_body=learning.awarding_body,
        provider=learning.provider[:200],
        establishment=establishment,
        started_on=learning.started_on,
        awarded_on=learning.completed_on,
        issued_at=now,
        valid_until=valid_until,
        issuer=issuer.did,
        status_list=status_list.id,
        status_index=index,
        rdfc=secured.rdfc,
        jcs=secured.jcs,
        jwt=secured.jwt,
    )
    session.add(credential)
    append_at_commit(
        session,
        entry_type=ISSUED,
        actor=actor,
        purpose="rehabilitation",
        subjects=[
            Subject("learning_record", record.id),
            Subject("passport_holder", holder.id),
        ],
        payload={
            "credential": credential_uri(credential_id),
            "issuer": issuer.did,
            "achievement": learning.achievement,
            "status_list": status_list.id,
            "status_index": index,
            "sha256": secured.digests(),
        },
    )
    return credential


def revoke(
    session: Session,
    issuer: Issuer,
    credential: PassportCredential,
    *,
    actor: str,
    reason: str,
    base_url: str,
) -> None:
    """Revoke a credential: flip its status bit, re-sign the list, ledger it; the caller commits."""
    reason = reason.strip()
    if not reason:
        raise PassportError("give a reason for revoking the credential")
    lock_for_append(session)
    # Read again under the lock: two revocations at once must not both publish and ledger.
    session.refresh(credential)
    if credential.revoked_at is not None:
        raise PassportError(f"credential {credential.id} was already revoked")
    credential.revoked_at = utcnow()
    credential.revoked_by = actor
    credential.revoked_reason = reason
    session.flush()
    status_list = session.get(PassportStatusList, credential.status_list)
    assert status_list is not None  # a foreign key
    publish_status_list(session, issuer, status_list, base_url=base_url)
    append_at_commit(
        session,
        entry_type=REVOKED,
        actor=actor,
        purpose="rehabilitation",
        subjects=[
            Subject("learning_record", credential.record_id),
            Subject("passport_holder", credential.holder_id),
        ],
        payload={
            "credential": credential_uri(credential.id),
            "status_list": status_list.id,
            "status_index": credential.status_index,
            "status_list_version": status_list.version,
            "reason": reason,
        },
    )


# --- Issuing to every learner ----------------------------------------------------------------


@dataclass
class IssueSummary:
    """What ``issue_pending`` did."""

    issued: int = 0
    holders_created: int = 0
    not_linked: int = 0
    not_achieved: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def _outcome() -> Any:
    return AgencyRecord.body["record"]["outcome"].as_string()


def _without_credential() -> Any:
    return (AgencyRecord.kind == LEARNING_KIND) & AgencyRecord.id.not_in(
        select(PassportCredential.record_id)
    )


def _pending() -> Any:
    return (
        select(AgencyRecord, PersonMember.person_id)
        .outerjoin(PersonMember, PersonMember.record_id == AgencyRecord.id)
        .where(_without_credential(), _outcome() == "achieved")
    )


def pending_records(
    session: Session, *, person_id: str | None = None
) -> Iterator[tuple[AgencyRecord, str | None]]:
    """Achieved learning records with no credential yet, each with its person (None when the
    index has not placed the record yet), or only ``person_id``'s. The outcome is read in SQL, so
    a server checking every minute reads only what may be issued."""
    query = _pending()
    if person_id is not None:
        query = query.where(PersonMember.person_id == person_id)
    rows = session.execute(query.order_by(AgencyRecord.received_at, AgencyRecord.id))
    for row in rows:
        yield row[0], row[1]


def pending_count(session: Session) -> int:
    """How many records ``pending_records`` would give (a progress bar's total), counted in SQL."""
    return int(session.scalar(select(func.count()).select_from(_pending().subquery())) or 0)


def not_achieved_count(session: Session) -> int:
    """Learning records that earn no credential (yet): in progress, withdrawn, not achieved."""
    query = select(func.count()).where(_without_credential(), _outcome() != "achieved")
    return int(session.scalar(query) or 0)


def issue_pending(
    session: Session,
    issuer: Issuer,
    *,
    actor: str,
    base_url: str,
    batch: int = 200,
    progress: Callable[[int], None] | None = None,
) -> IssueSummary:
    """Issue a credential for every achieved, linked learning record that has none yet.

    Commits every ``batch`` credentials, so an interrupted run keeps what it issued and the
    next run carries on from there (a record with a credential is never issued twice).
    """
    summary = IssueSummary(not_achieved=not_achieved_count(session))
    work = list(pending_records(session))
    for record, person_id in work:
        try:
            learning = learning_of(record)
        except PassportError as exc:  # one unreadable record must not stop everyone else's
            summary.refused.append((record.id, str(exc)))
            if progress is not None:
                progress(1)
            continue
        if not learning.achieved:  # achieved with no completion date
            summary.refused.append((record.id, "achieved, but with no completion date"))
        elif person_id is None:
            summary.not_linked += 1
        else:
            existing = session.scalar(
                select(PassportHolder).where(PassportHolder.person_id == person_id)
            )
            holder = existing or holder_for_person(
                session, person_id, full_name=learning.holder_name, actor=actor
            )
            summary.holders_created += existing is None
            try:
                issue(session, issuer, record, holder, actor=actor, base_url=base_url)
            except AlreadyIssued:
                pass  # another run issued it first
            except PassportError as exc:
                summary.refused.append((record.id, str(exc)))
            else:
                summary.issued += 1
                if summary.issued % batch == 0:
                    session.commit()
        if progress is not None:
            progress(1)
    session.commit()
    return summary
