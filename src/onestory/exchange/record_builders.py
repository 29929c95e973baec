"""The agency's part of each row, put into the domain model where one fits.

A layout names its builder (``record: police_suspect``); each builder declares the fields it
reads, so a layout that lacks one is refused when it loads, not halfway through a file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from onestory.domain.cases import (
    Hearing,
    Offence,
    OffenceOutcome,
    PoliceCase,
    ProsecutionCase,
    Sentence,
)
from onestory.domain.custody import CustodyEpisode, ProbationCase
from onestory.domain.learning import LearningRecord
from onestory.domain.people import ContactPreferences, VictimNeeds
from onestory.exchange.conversions import midnight
from onestory.exchange.row_in_progress import RowInProgress

# --- Records: the agency's part of each row, in the domain model where one fits --------------

RecordBuilder = Callable[[dict[str, Any], RowInProgress], dict[str, Any] | None]
RECORDS: dict[str, RecordBuilder] = {}
RECORD_NEEDS: dict[str, tuple[str, ...]] = {}  # the fields each reads ("charges.code": in each)


def _record(*needs: str) -> Callable[[RecordBuilder], RecordBuilder]:
    """Register a record builder under its name, with the fields a layout must give it."""

    def register(builder: RecordBuilder) -> RecordBuilder:
        RECORDS[builder.__name__] = builder
        RECORD_NEEDS[builder.__name__] = needs
        return builder

    return register


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@_record(
    "offence_code",
    "offence_description",
    "offence_date",
    "case_urn",
    "force",
    "reported_on",
    "asn",
    "offence_group",
    "arrested_on",
    "outcome_code",
    "outcome",
)
def police_suspect(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A suspect in a police case: the case (PoliceCase) and what happened to this suspect."""
    offence = {
        "code": v["offence_code"],
        "description": v["offence_description"],
        "committed_from": v["offence_date"],
    }
    case = row.validated(
        PoliceCase,
        {
            "urn": v["case_urn"],
            "force": v["force"],
            "reported_at": midnight(v["reported_on"]),
            "offences": [offence],
        },
        "case_urn",
    )
    return {
        "policeCase": case,
        "asn": v["asn"],
        "offenceGroup": v["offence_group"],
        "arrestedOn": _iso(v["arrested_on"]),
        "outcomeCode": v["outcome_code"],
        "outcome": v["outcome"],
    }


@_record(
    "language",
    "interpreter",
    "accessibility",
    "disability",
    "contact_channels",
    "safe_times",
    "do_not_leave_messages",
    "victim_id",
    "case_urn",
    "force",
    "title",
    "phone",
    "email",
    "enhanced_rights",
)
def police_victim(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A victim in a police case: their needs and contact wishes (VictimNeeds,
    ContactPreferences) and the Victims' Code grounds for enhanced rights."""
    needs = row.validated(
        VictimNeeds,
        {
            "language": v["language"] or "en",
            "interpreter": bool(v["interpreter"]),
            "accessibility": v["accessibility"] or [],
            "disability": v["disability"],
        },
        "language",
    )
    contact = row.validated(
        ContactPreferences,
        {
            "channels": v["contact_channels"] or [],
            "safe_times": v["safe_times"],
            "do_not_leave_messages": bool(v["do_not_leave_messages"]),
        },
        "contact_channels",
    )
    return {
        "victimId": v["victim_id"],
        "caseUrn": v["case_urn"],
        "force": v["force"],
        "title": v["title"],
        "phone": v["phone"],
        "email": v["email"],
        "enhancedRights": v["enhanced_rights"] or [],
        "needs": needs,
        "contact": contact,
    }


@_record(
    "charges.code",
    "charges.description",
    "charges.status",
    "asn",
    "case_urn",
    "cps_area",
    "reviewed_on",
    "status",
    "alterations.defendant_asn",
    "alterations.date",
    "alterations.type",
    "alterations.offence_code",
    "alterations.new_offence_code",
    "alterations.reason",
    "police_force",
    "charged_on",
)
def cps_defendant(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A defendant in a CPS case file: the prosecution (ProsecutionCase) with the charges it
    proceeds with against this defendant, and the alterations made to them."""
    charges = [
        {"offence": {"code": c["code"], "description": c["description"]}, "asn": v["asn"]}
        for c in v["charges"]
        if c["status"] != "dropped"
    ]
    case = row.validated(
        ProsecutionCase,
        {
            "urn": v["case_urn"],
            "cps_area": v["cps_area"],
            "reviewed_at": midnight(v["reviewed_on"]),
            "status": v["status"] or "active",
            "charges": charges,
        },
        "case_urn",
    )
    mine = [a for a in v["alterations"] if v["asn"] is None or a["defendant_asn"] == v["asn"]]
    return {
        "prosecutionCase": case,
        "policeForce": v["police_force"],
        "asn": v["asn"],
        "chargedOn": _iso(v["charged_on"]),
        "chargeStatus": [{"offenceCode": c["code"], "status": c["status"]} for c in v["charges"]],
        "alterations": [
            {
                "date": _iso(a["date"]),
                "type": a["type"],
                "offenceCode": a["offence_code"],
                "newOffenceCode": a["new_offence_code"],
                "reason": a["reason"],
            }
            for a in mine
        ],
    }


_SENTENCE_FIELDS = (
    "sentence_type",
    "imposed_at",
    "custody_months",
    "community_months",
    "fine_pounds",
)


@_record(
    "case_urn",
    "hearings.hearing_id",
    "hearings.hearing_type",
    "hearings.court",
    "hearings.starts_at",
    "hearings.defendant_ids",
    "defendant_id",
    "prosecution_case_id",
    "master_defendant_id",
    "asn",
    "offences.code",
    "offences.title",
    "offences.plea",
    "offences.verdict",
    "sentences.sentence_type",
    "sentences.imposed_at",
    "sentences.custody_months",
    "sentences.community_months",
    "sentences.fine_pounds",
    "sentences.court",
)
def court_defendant(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A defendant in a Common Platform prosecution case: offences with plea and verdict
    (OffenceOutcome), their hearings (Hearing) and sentences (Sentence). The court of their
    latest hearing holds the record."""
    urn = v["case_urn"]
    hearings = [h for h in v["hearings"] if v["defendant_id"] in (h["defendant_ids"] or [])]
    hearings.sort(key=lambda h: h["starts_at"])
    if hearings:
        v["court"] = hearings[-1]["court"]
    offences = v["offences"]
    return {
        "prosecutionCaseId": v["prosecution_case_id"],
        "caseUrn": urn,
        "defendantId": v["defendant_id"],
        "masterDefendantId": v["master_defendant_id"],
        "asn": v["asn"],
        "offences": row.validated_list(
            Offence, [{"code": o["code"], "description": o["title"]} for o in offences], "offences"
        ),
        "outcomes": row.validated_list(
            OffenceOutcome,
            [
                {"offence_code": o["code"], "plea": o["plea"] or "none", "verdict": o["verdict"]}
                for o in offences
            ],
            "offences",
        ),
        "hearings": row.validated_list(
            Hearing,
            [
                {k: h[k] for k in ("hearing_id", "hearing_type", "court", "starts_at")}
                | {"case_urn": urn}
                for h in hearings
            ],
            "hearings",
        ),
        "sentences": [
            {"sentence": sentence, "court": s["court"]}
            for s, sentence in zip(
                v["sentences"],
                row.validated_list(
                    Sentence,
                    [
                        {k: s[k] for k in _SENTENCE_FIELDS}
                        | {"case_urn": urn, "offence_codes": [o["code"] for o in offences]}
                        for s in v["sentences"]
                    ],
                    "sentences",
                ),
                strict=False,
            )
        ],
    }


@_record("released_on", "prison_number", "establishment", "received_on", "reason", "release_type")
def prison_custody(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A stay in prison (CustodyEpisode)."""
    released = v["released_on"]
    return row.validated(
        CustodyEpisode,
        {
            "prison_number": v["prison_number"],
            "establishment": v["establishment"],
            "received_at": midnight(v["received_on"]),
            "reason": v["reason"],
            "released_at": midnight(released) if released else None,
            "release_type": v["release_type"],
        },
        "prison_number",
    )


@_record(
    "probation_crn",
    "region",
    "order_type",
    "started_on",
    "terminated_on",
    "expected_end_on",
    "termination_reason",
)
def probation_order(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """An order supervised by probation (ProbationCase); it ends when it was terminated, or
    else when it is expected to."""
    case = row.validated(
        ProbationCase,
        {
            "crn": v["probation_crn"],
            "region": v["region"],
            "order_type": v["order_type"],
            "started_on": v["started_on"],
            "ends_on": v["terminated_on"] or v["expected_end_on"],
        },
        "probation_crn",
    )
    return {
        "probationCase": case,
        "expectedEndOn": _iso(v["expected_end_on"]),
        "terminatedOn": _iso(v["terminated_on"]),
        "terminationReason": v["termination_reason"],
    }


@_record(
    "uln",
    "prison_number",
    "provider",
    "course",
    "qualification",
    "level",
    "awarding_body",
    "started_on",
    "completed_on",
    "outcome",
)
def education_learning(v: dict[str, Any], row: RowInProgress) -> dict[str, Any] | None:
    """A course taken (LearningRecord)."""
    return row.validated(
        LearningRecord,
        {
            "uln": v["uln"],
            "prison_number": v["prison_number"],
            "provider": v["provider"],
            "course": v["course"],
            "qualification": v["qualification"],
            "level": v["level"],
            "awarding_body": v["awarding_body"],
            "started_on": v["started_on"],
            "completed_on": v["completed_on"],
            "outcome": v["outcome"] or "in_progress",
        },
        "course",
    )
