"""The events of a case, as specs: type, time, asserting organisation, references, payload.

Payloads are plain dicts in the common model's camelCase JSON, built directly for speed; the
tests prove every one validates against its registered model and exported JSON Schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, NamedTuple

from onestory.synth.calendar import stamp
from onestory.synth.cases import Hearing, SuspectPath, TrueCase
from onestory.synth.custody import Course
from onestory.synth.offences import OFFENCE_BY_CODE
from onestory.synth.organisations import police_code, witness_care_code
from onestory.synth.people import TruePerson
from onestory.synth.victims import VictimRole

_RIGHTS = {
    "domestic_abuse": "serious_crime",
    "sexual_offence": "serious_crime",
    "serious_crime": "serious_crime",
    "under_18": "under_18",
    "vulnerable_intimidated": "vulnerable_or_intimidated",
    "persistently_targeted": "persistently_targeted",
    "bereaved": "bereaved_relative",
}
VCS_REFERRAL_DAYS = 7
_ALTERED_STATUS = {
    "charges_altered": "charges_altered",
    "dropped": "charges_altered",
    "discontinued": "discontinued",
    "no_evidence_offered": "no_evidence_offered",
}
_NFA_REASONS = {
    "15": "evidential difficulties",
    "16": "victim does not support action",
    "21": "not in the public interest",
}

Ids = list[tuple[str, str]]
Refs = list[dict[str, str]]


class EventSpec(NamedTuple):
    """One event to write; ``trigger`` names it for the Victims' Code notices that follow."""

    kind: str
    day: date
    minute: int
    by: str
    ids: Ids
    payload: dict[str, Any]
    pid: str = ""
    refs: Refs | None = None  # None: the case URN alone
    trigger: tuple[object, ...] | None = None


def ref(kind: str, value: str) -> dict[str, str]:
    """A typed reference, as envelopes carry them."""
    return {"type": kind, "value": value}


def _offence(code: str, on: date) -> dict[str, Any]:
    iso = on.isoformat()
    title = OFFENCE_BY_CODE[code].title
    return {"code": code, "description": title, "committedFrom": iso, "committedTo": iso}


def _person(p: TruePerson, day: date, held_by: str, ids: Ids) -> dict[str, Any]:
    names = [{"forenames": list(p.forenames), "surname": p.surname_at(day), "kind": "current"}]
    if p.surname_at(day) != p.surname:
        names.append({"forenames": list(p.forenames), "surname": p.surname, "kind": "birth"})
    a = p.address_at(day)
    address = {"lines": list(a.lines), "town": a.town, "postcode": a.postcode}
    return {
        "names": names,
        "datesOfBirth": [p.dob.isoformat()],
        "sex": p.sex,
        "addresses": [address | {"validFrom": a.since.isoformat()}],
        "identifiers": [{"type": t, "value": v, "heldBy": held_by} for t, v in ids],
    }


def _victim(v: VictimRole, case: TrueCase) -> dict[str, Any]:
    police = police_code(case.force)
    return {
        "person": _person(v.person, case.reported_on, police, [("NHS", v.person.nhs)]),
        "enhancedRights": list(dict.fromkeys(_RIGHTS[r] for r in v.reasons)),
        "needs": {
            "language": v.language,
            "interpreter": v.interpreter,
            "accessibility": list(v.accessibility),
            "disability": v.disability,
        },
        "contact": {
            "channels": list(v.channels),
            "safeTimes": v.safe_times,
            "doNotLeaveMessages": v.no_messages,
        },
    }


def suspect_ids(p: TruePerson) -> Ids:
    """How police and courts refer to a suspect: PNC ID, and CRO number where there is one."""
    ids = [("PNC", p.pnc)] if p.pnc else []
    return [*ids, ("CRO", p.cro)] if p.cro else ids


def crime_recorded(case: TrueCase) -> EventSpec:
    """police.crime.recorded, with the victims."""
    crime = {
        "urn": case.urn,
        "force": case.force.code,
        "reportedAt": stamp(case.reported_on, case.reported_minute),
        "offences": [_offence(o.code, case.offence_on) for o in case.offences],
        "locationPostcode": case.postcode or None,
    }
    victims = [_victim(v, case) for v in case.victims]
    by = police_code(case.force)
    payload = {"case": crime, "victims": victims}
    return EventSpec("police.crime.recorded", case.reported_on, case.reported_minute, by, [],
                     payload, trigger=("closed",))  # fmt: skip


def police_events(case: TrueCase, path: SuspectPath) -> Iterator[EventSpec]:
    """The arrest and the charging decision."""
    person, police = path.person, police_code(case.force)
    ids = suspect_ids(person)
    refs = [ref("URN", case.urn)] + ([ref("ASN", path.asn)] if path.asn else [])
    pid = person.pid
    if path.arrested_on:
        arrested = {
            "suspect": _person(person, path.arrested_on, police, ids),
            "arrestedAt": stamp(path.arrested_on, path.arrest_minute),
            "asn": path.asn,
            "offences": [_offence(o.code, case.offence_on) for o in case.offences],
            "releasedOn": path.released_on,
        }
        yield EventSpec("police.suspect.arrested", path.arrested_on, path.arrest_minute, police,
                        ids, arrested, pid, refs, ("arrest", id(path)))  # fmt: skip
    if path.decision and path.decision_on:
        charged = path.decision == "charge"
        charges = [{"offence": _offence(o.code, case.offence_on), "asn": path.asn}
                   for o in case.offences] if charged else []  # fmt: skip
        decision = {
            "urn": case.urn,
            "decision": path.decision,
            "decidedBy": path.decided_by,
            "decidedAt": stamp(path.decision_on, path.decision_minute),
            "charges": charges,
            "reason": _NFA_REASONS.get(path.outcome_code),
        }
        yield EventSpec("police.charge.decided", path.decision_on, path.decision_minute,
                        path.decided_by, ids, {"decision": decision}, pid, refs,
                        ("decision", id(path)))  # fmt: skip


def _charges(case: TrueCase, paths: list[SuspectPath]) -> list[dict[str, Any]]:
    return [
        {"offence": _offence(code, case.offence_on), "asn": p.asn}
        for p in paths
        for code in p.charges
    ]


def cps_events(case: TrueCase, until: date) -> Iterator[EventSpec]:
    """The CPS review of the case, then every alteration to the charges."""
    reviewed = [p for p in case.suspects if p.review_on and p.review_on <= until]
    if not reviewed:
        return
    on = min(p.review_on for p in reviewed if p.review_on)
    prosecution = {
        "urn": case.urn,
        "cpsArea": case.cps_area,
        "reviewedAt": stamp(on, 600),
        "status": "active",
        "charges": _charges(case, reviewed),
    }
    yield EventSpec("cps.case.reviewed", on, 600, case.cps_area, [], {"prosecution": prosecution})
    for path in reviewed:
        for index, alteration in enumerate(path.alterations):
            if alteration.on > until:
                continue
            altered = {
                "urn": case.urn,
                "cpsArea": case.cps_area,
                "reviewedAt": stamp(alteration.on, 660),
                "status": _ALTERED_STATUS[alteration.kind],
                "charges": _charges(case, [path]),
            }
            payload = {"prosecution": altered, "reason": alteration.reason}
            yield EventSpec("cps.charges.altered", alteration.on, 660, case.cps_area,
                            suspect_ids(path.person), payload, path.person.pid, None,
                            ("alteration", id(path), index))  # fmt: skip


def court_events(case: TrueCase, path: SuspectPath, until: date) -> Iterator[EventSpec]:
    """Hearings listed and resulted, and the sentence."""
    if not path.master_id:
        return
    ids = suspect_ids(path.person)
    refs = [ref("URN", case.urn)] + ([ref("ASN", path.asn)] if path.asn else [])
    pid = path.person.pid
    for h in path.hearings:
        if h.listed_on > until:
            continue
        hearing = {
            "hearingId": h.hid,
            "caseUrn": case.urn,
            "court": h.court,
            "hearingType": h.kind,
            "startsAt": stamp(h.day, h.minute),
        }
        payload = {"hearing": hearing, "defendantId": path.master_id}
        yield EventSpec("court.hearing.listed", h.listed_on, h.listed_minute, h.court, ids,
                        payload, pid, refs, ("listed", id(path), h.hid))  # fmt: skip
        if h.resulted_by(until):
            yield _resulted(case, path, h, ids, refs)
    s = path.sentence
    if s:
        sentence = {
            "caseUrn": case.urn,
            "sentenceType": s.kind,
            "imposedAt": stamp(s.on, s.minute),
            "custodyMonths": s.custody_months,
            "communityMonths": s.community_months,
            "finePounds": s.fine_pounds,
            "offenceCodes": list(path.charges),
        }
        ccrn = [ref("CCRN", path.ccrn)] if path.ccrn else []
        payload = {"sentence": sentence, "defendantId": path.master_id}
        yield EventSpec("court.sentence.imposed", s.on, s.minute, s.court, ids, payload, pid,
                        refs + ccrn, ("sentence", id(path)))  # fmt: skip
        # Victims of a year or more in custody (or a hospital order) are referred to the
        # probation Victim Contact Scheme by the Witness Care Unit (duty R11.1, 10 working days).
        long_custody = s.kind == "immediate_custody" and (s.custody_months or 0) >= 12
        referred_on = s.on + timedelta(days=VCS_REFERRAL_DAYS)
        if case.victims and (long_custody or s.kind == "hospital_order") and referred_on <= until:
            referral = {
                "caseUrn": case.urn,
                "referredBy": witness_care_code(case.force),
                "referredAt": stamp(referred_on, 600),
            }
            yield EventSpec("probation.victim_contact.referred", referred_on, 600,
                            case.force.probation_region, [], referral, pid,
                            [ref("URN", case.urn)])  # fmt: skip


def _resulted(case: TrueCase, path: SuspectPath, h: Hearing, ids: Ids, refs: Refs) -> EventSpec:
    minute = min(h.minute + 90, 23 * 60)
    offences = []
    if h.plea or h.verdict:
        offences = [
            {"offenceCode": c, "plea": h.plea or "none", "verdict": h.verdict} for c in path.charges
        ]
    outcome = {
        "hearingId": h.hid,
        "caseUrn": case.urn,
        "resultedAt": stamp(h.day, minute),
        "offences": offences,
        "nextHearingId": h.next_hid,
        "remandedInCustody": h.remanded,
    }
    trigger = ("verdict", id(path)) if h is path.verdict_hearing else None
    payload = {"outcome": outcome, "defendantId": path.master_id}
    return EventSpec("court.hearing.resulted", h.day, minute, h.court, ids, payload,
                     path.person.pid, refs, trigger)  # fmt: skip


def custody_events(path: SuspectPath) -> Iterator[EventSpec]:
    """Prison receptions and releases, supervision started and ended, learning recorded."""
    person = path.person
    pid = person.pid
    pnc = [("PNC", person.pnc)] if person.pnc else []
    for stay in path.stays:
        ids = [("NOMS", stay.noms), *pnc]
        custody = {
            "prisonNumber": stay.noms,
            "establishment": stay.establishment,
            "receivedAt": stamp(stay.received_on, 960),
            "reason": stay.reason,
        }
        yield EventSpec("prison.prisoner.received", stay.received_on, 960, stay.establishment,
                        ids, {"custody": custody}, pid)  # fmt: skip
        if stay.released_on and stay.release_type:
            minute = 540 if stay.release_type != "transfer" else 480
            released = {
                "prisonNumber": stay.noms,
                "establishment": stay.establishment,
                "releasedAt": stamp(stay.released_on, minute),
                "releaseType": stay.release_type,
            }
            yield EventSpec("prison.prisoner.released", stay.released_on, minute,
                            stay.establishment, ids, released, pid)  # fmt: skip
    for sup in path.supervisions:
        ids = [("CRN", sup.crn)] + ([("NOMS", person.noms)] if person.noms else []) + pnc
        started = {
            "crn": sup.crn,
            "region": sup.region,
            "orderType": sup.order_type,
            "startedOn": sup.start.isoformat(),
            "endsOn": sup.end.isoformat(),
        }
        yield EventSpec("probation.supervision.started", sup.start, 630, sup.region, ids,
                        {"probationCase": started}, pid)  # fmt: skip
        if sup.ended_on and sup.end_reason:
            ended = {"crn": sup.crn, "endedOn": sup.ended_on.isoformat(), "reason": sup.end_reason}
            yield EventSpec("probation.supervision.ended", sup.ended_on, 900, sup.region, ids,
                            ended, pid)  # fmt: skip
    for course in path.courses:
        yield _learning(pid, course, course.start, "in_progress", None)
        if course.end is not None:
            yield _learning(pid, course, course.end, course.outcome, course.end)


def _learning(pid: str, c: Course, day: date, outcome: str, completed: date | None) -> EventSpec:
    ids = [("ULN", c.uln)] + ([("NOMS", c.noms)] if c.noms else [])
    learning = {
        "uln": c.uln,
        "prisonNumber": c.noms,
        "provider": c.provider,
        "course": c.course,
        "qualification": c.qualification,
        "level": c.level,
        "awardingBody": c.awarding_body,
        "startedOn": c.start.isoformat(),
        "completedOn": completed.isoformat() if completed else None,
        "outcome": outcome,
    }
    return EventSpec("education.learning.recorded", day, 720, c.provider, ids,
                     {"learning": learning}, pid)  # fmt: skip
