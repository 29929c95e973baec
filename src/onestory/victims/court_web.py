"""Tell us once, the courts' side: a case by its URN, and what the court did in it.

Courts are not sent victims' stories; a court officer sees a case's timeline (no victim's
personal data) and records hearings, outcomes and sentences, each as a common-model event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.domain.cases import HearingType, SentenceType
from onestory.domain.identifiers import CaseURN, IdentifierError
from onestory.exchange.intake import IntakeError
from onestory.exchange.tables import StoredEvent
from onestory.sharing.authorize import RecordRef
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind, Role
from onestory.store.base import utcnow
from onestory.victims import timeline
from onestory.victims.access import staff_actor
from onestory.victims.duties import LONDON
from onestory.victims.staff_forms import (
    DONE_KEY,
    case_event_envelope,
    date_from,
    day_words,
    form_errors,
    org_of,
    redirect_done,
    require_or_404,
    send,
    time_from,
)
from onestory.victims.tables import CaseEvent
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)


# --- courts: a case by its URN -----------------------------------------------------------------


def _court_case(request: Request, session: Session, user: UserAccount, urn: str) -> str:
    """The canonical URN, once the rules let this court officer read the case (else 404)."""
    if user.role != Role.COURT_OFFICER:
        raise HTTPException(status_code=404)
    try:
        canonical = str(CaseURN(urn))
    except IdentifierError:
        raise HTTPException(status_code=404) from None
    require_or_404(
        request,
        session,
        staff_actor(user),
        Action.READ,
        RecordRef(RecordKind.CASE, canonical),
        Purpose.PROSECUTION,
    )
    return canonical


def _hearings(session: Session, urn: str) -> list[tuple[str, str]]:
    """(hearing id, words) for each hearing listed in the case, for the outcome form."""
    found = []
    for entry in session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_urn == urn, CaseEvent.event_type == "court.hearing.listed")
        .order_by(CaseEvent.occurred_at)
    ):
        stored = session.get(StoredEvent, entry.source_key.split(":")[1])
        if stored is not None:
            hearing = stored.envelope["payload"]["hearing"]
            found.append((str(hearing["hearingId"]), entry.headline))
    return found


def _case_page(
    request: Request,
    session: Session,
    user: UserAccount,
    urn: str,
    *,
    errors: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    canonical = _court_case(request, session, user, urn)
    entries = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_urn == canonical)
        .order_by(CaseEvent.occurred_at, CaseEvent.id)
    ).all()
    hearings = _hearings(session, canonical)
    session.commit()
    return render(
        request,
        "victims/agency/case.html",
        {
            "urn": canonical,
            "entries": entries,
            "hearings": hearings,
            "court_code": org_of(user),
            "hearing_types": [(t.value, _hearing_words(t)) for t in HearingType],
            "sentence_types": [(t.value, timeline.SENTENCE_WORDS[t.value]) for t in SentenceType],
            "done": request.session.pop(DONE_KEY, None),
            "errors": errors,
            "values": values or {},
            "day_words": day_words,
        },
        status_code=400 if errors else 200,
    )


def _hearing_words(kind: HearingType) -> str:
    words = timeline.HEARING_WORDS.get(kind.value, f"{kind.value.replace('_', ' ')} hearing")
    return words[0].upper() + words[1:]


@router.get("/cases", response_model=None)
def find_case(request: Request, user: SignedInUser, urn: str = "") -> Response:
    if user.role != Role.COURT_OFFICER or user.organisation is None:
        raise HTTPException(status_code=404)
    try:
        canonical = str(CaseURN(urn))
    except IdentifierError as exc:
        return render(
            request,
            "victims/agency/nothing.html",
            {"court": True, "errors": form_errors("urn", str(exc)), "urn": urn},
            status_code=400,
        )
    return RedirectResponse(f"/cases/{canonical}", status_code=303)


@router.get("/cases/{urn:path}", response_class=HTMLResponse)
def case_page(request: Request, urn: str, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    return _case_page(request, session, user, urn)


def _court_send(
    request: Request,
    session: Session,
    user: UserAccount,
    urn: str,
    *,
    kind: str,
    record_id: str,
    event_type: str,
    payload: dict[str, Any],
    field: str,
    values: Mapping[str, Any],
    done: str,
) -> Response:
    """Authorise the create, send the court's event, and go back to the case page."""
    require_or_404(
        request,
        session,
        staff_actor(user),
        Action.CREATE,
        RecordRef(kind, record_id),
        Purpose.PROSECUTION,
    )
    envelope = case_event_envelope(event_type, org_of(user) or "", urn, payload, str(uuid.uuid4()))
    try:
        send(session, user, envelope)
    except IntakeError as exc:
        session.rollback()
        return _case_page(
            request, session, user, urn, errors=form_errors(field, str(exc)), values=values
        )
    session.commit()
    return redirect_done(request, done, f"/cases/{urn}")


@router.post("/cases/{urn:path}/hearings", response_model=None)
def list_hearing(
    request: Request,
    urn: str,
    session: SessionDep,
    user: SignedInUser,
    court: Annotated[str, Form()] = "",
    hearing_type: Annotated[str, Form()] = "",
    day: Annotated[str, Form(alias="hearing-day")] = "",
    month: Annotated[str, Form(alias="hearing-month")] = "",
    year: Annotated[str, Form(alias="hearing-year")] = "",
    at: Annotated[str, Form(alias="hearing-time")] = "",
) -> Response:
    canonical = _court_case(request, session, user, urn)
    values = {"court": court, "hearing_type": hearing_type, "day": day, "month": month}
    values |= {"year": year, "time": at}
    on, starts = date_from(day, month, year), time_from(at)
    errors = None
    if not court.strip():
        errors = form_errors("court", "Enter the code of the court where the hearing is")
    elif hearing_type not in {t.value for t in HearingType}:
        errors = form_errors("hearing_type", "Select the type of hearing")
    elif on is None:
        errors = form_errors("hearing-day", "Enter the date of the hearing, for example 27 3 2026")
    elif starts is None:
        errors = form_errors(
            "hearing-time", "Enter the time of the hearing, for example 10am or 14:30"
        )
    if errors or on is None or starts is None:
        return _case_page(request, session, user, canonical, errors=errors, values=values)
    hearing_id = str(uuid.uuid4())
    payload = {
        "hearing": {
            "hearingId": hearing_id,
            "caseUrn": canonical,
            "court": court.strip().upper(),
            "hearingType": hearing_type,
            "startsAt": datetime.combine(on, starts, tzinfo=LONDON).isoformat(),
        },
        "defendantId": str(uuid.uuid4()),
    }
    return _court_send(
        request,
        session,
        user,
        canonical,
        kind=RecordKind.HEARING,
        record_id=hearing_id,
        event_type="court.hearing.listed",
        payload=payload,
        field="court",
        values=values,
        done=f"Hearing listed: {_hearing_words(HearingType(hearing_type)).lower()} on "
        f"{day_words(datetime.combine(on, starts, tzinfo=LONDON))}",
    )


@router.post("/cases/{urn:path}/outcomes", response_model=None)
def record_outcome(
    request: Request,
    urn: str,
    session: SessionDep,
    user: SignedInUser,
    hearing_id: Annotated[str, Form()] = "",
    remanded: Annotated[str, Form()] = "",
) -> Response:
    canonical = _court_case(request, session, user, urn)
    if hearing_id not in dict(_hearings(session, canonical)):
        return _case_page(
            request,
            session,
            user,
            canonical,
            errors=form_errors("hearing_id", "Select the hearing"),
        )
    payload = {
        "outcome": {
            "hearingId": hearing_id,
            "caseUrn": canonical,
            "resultedAt": utcnow().isoformat(),
            "remandedInCustody": remanded == "yes",
        },
        "defendantId": str(uuid.uuid4()),
    }
    return _court_send(
        request,
        session,
        user,
        canonical,
        kind=RecordKind.HEARING,
        record_id=hearing_id,
        event_type="court.hearing.resulted",
        payload=payload,
        field="hearing_id",
        values={},
        done="Hearing outcome recorded",
    )


@router.post("/cases/{urn:path}/sentences", response_model=None)
def record_sentence(
    request: Request,
    urn: str,
    session: SessionDep,
    user: SignedInUser,
    sentence_type: Annotated[str, Form()] = "",
    custody_months: Annotated[str, Form()] = "",
) -> Response:
    canonical = _court_case(request, session, user, urn)
    values = {"sentence_type": sentence_type, "custody_months": custody_months}
    months = custody_months.strip()
    errors = None
    if sentence_type not in timeline.SENTENCE_WORDS:
        errors = form_errors("sentence_type", "Select the sentence")
    elif months and not months.isdigit():
        errors = form_errors("custody_months", "Enter the months of custody as a number, like 18")
    if errors:
        return _case_page(request, session, user, canonical, errors=errors, values=values)
    sentence: dict[str, Any] = {
        "caseUrn": canonical,
        "sentenceType": sentence_type,
        "imposedAt": utcnow().isoformat(),
    }
    if months:
        sentence["custodyMonths"] = int(months)
    return _court_send(
        request,
        session,
        user,
        canonical,
        kind=RecordKind.CASE,
        record_id=canonical,
        event_type="court.sentence.imposed",
        payload={"sentence": sentence, "defendantId": str(uuid.uuid4())},
        field="sentence_type",
        values=values,
        done=f"Sentence recorded: {timeline.SENTENCE_WORDS[sentence_type]}",
    )
