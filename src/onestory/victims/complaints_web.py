"""Complaints (Victims' Code, Right 12), the organisation's side: read one and reply.

Only the organisation a complaint was made to can read it, under the victim-complaints
agreement, and each read and reply is ledgered. Replying meets duty R12.1 at the moment of the
reply and tells the victim, by their chosen channel and safe times, that there is an answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from onestory.victims import stories, timeline
from onestory.victims.access import NotAllowed, staff_actor
from onestory.victims.staff_forms import (
    DONE_KEY,
    day_words,
    due_words,
    form_errors,
    org_of,
    policies_of,
    redirect_done,
)
from onestory.victims.tables import DutyClock
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_ANSWER_CHARACTERS = 20_000


@router.get("/complaints", response_class=HTMLResponse)
def complaints(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """The organisation's complaints: references and dates only (no one's words on a list)."""
    org = org_of(user)
    if org is None:
        raise HTTPException(status_code=404)
    rows = []
    for complaint in stories.complaints_to(session, org):
        clock = session.scalar(
            select(DutyClock).where(DutyClock.opened_by == f"complaint:{complaint.id}")
        )
        rows.append(
            {
                "complaint": complaint,
                "due": due_words(clock.due_at) if clock else None,
                "status": timeline.duty_status(clock) if clock else None,
            }
        )
    return render(
        request,
        "victims/agency/complaints.html",
        {"title": "Complaints", "rows": rows, "day_words": day_words},
    )


def _complaint_page(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    reference: str,
    *,
    errors: dict[str, object] | None = None,
    answer: str = "",
) -> HTMLResponse:
    try:
        complaint, story = stories.read_complaint(
            session, policies_of(request), staff_actor(user), reference
        )
    except NotAllowed as exc:
        session.commit()  # the refusal is ledgered
        raise HTTPException(status_code=404) from exc
    session.commit()
    return render(
        request,
        "victims/agency/complaint.html",
        {
            "title": f"Complaint {complaint.reference}",
            "complaint": complaint,
            "story": story,
            "errors": errors,
            "answer": answer,
            "done": request.session.pop(DONE_KEY, None),
            "day_words": day_words,
        },
        status_code=400 if errors else 200,
    )


@router.get("/complaints/{reference}", response_class=HTMLResponse)
def complaint_page(
    request: Request, reference: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    return _complaint_page(request, session, user, reference)


@router.post("/complaints/{reference}", response_model=None)
def reply(
    request: Request,
    reference: str,
    session: SessionDep,
    user: SignedInUser,
    answer: Annotated[str, Form()] = "",
) -> Response:
    answer = answer.strip()
    problem = None
    if not answer:
        problem = "Enter your reply"
    elif len(answer) > MAX_ANSWER_CHARACTERS:
        problem = f"Your reply must be {MAX_ANSWER_CHARACTERS:,} characters or fewer"
    if problem:
        return _complaint_page(
            request, session, user, reference, errors=form_errors("answer", problem), answer=answer
        )
    actor = staff_actor(user)
    try:
        complaint, story = stories.read_complaint(session, policies_of(request), actor, reference)
        if complaint.answered_at is not None:
            session.commit()
            return redirect_done(
                request, "This complaint has already been answered", request.url.path
            )
        stories.answer_complaint(
            session,
            policies_of(request),
            actor=actor,
            complaint=complaint,
            story=story,
            answer=answer,
        )
    except NotAllowed as exc:
        session.commit()
        raise HTTPException(status_code=404) from exc
    session.commit()
    return redirect_done(request, "Your reply has been sent", f"/complaints/{reference}")
