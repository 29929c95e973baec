"""What the agencies' pages share: who is asking, words for dates, and recording an event.

Staff forms turn what someone did (a charge, a hearing, "I told the victim") into a common-model
event and hand it to ``exchange.intake.receive_event`` -- the path an agency system's event
takes -- so it reaches the victim's timeline and the Victims' Code clocks the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from onestory.exchange.intake import receive_event
from onestory.sharing.authorize import Actor, RecordRef
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.store.base import utcnow
from onestory.victims.access import NotAllowed, require
from onestory.victims.duties import LONDON

DONE_KEY = "agency_done"  # the "what was recorded" banner, carried across the redirect
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


def policies_of(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def org_of(user: UserAccount) -> str | None:
    return user.organisation.code if user.organisation else None


def day_words(moment: datetime) -> str:
    """A date in London as people write it: "Tuesday 3 March 2026"."""
    local = moment.astimezone(LONDON)
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"


def due_words(moment: datetime) -> str:
    """A deadline: "Tuesday 3 March 2026, end of day" (or the time, if not the day's end)."""
    local = moment.astimezone(LONDON)
    if local.time() >= time(23, 59):
        return f"{day_words(moment)}, end of day"
    return f"{day_words(moment)}, {local.strftime('%I:%M%p').lstrip('0').lower()}"


def form_errors(field: str, message: str) -> dict[str, Any]:
    return {field: message, "summary": [{"text": message, "href": f"#{field}"}]}


def redirect_done(request: Request, message: str, to: str) -> RedirectResponse:
    request.session[DONE_KEY] = message
    return RedirectResponse(to, status_code=303)


def case_event_envelope(
    event_type: str, org: str, urn: str, payload: dict[str, Any], event_id: str
) -> dict[str, Any]:
    return {
        "id": event_id,
        "eventType": event_type,
        "version": 1,
        "occurredAt": utcnow().isoformat(),
        "assertedBy": org,
        "caseReferences": [{"type": "URN", "value": urn}],
        "payload": payload,
    }


def send(session: Session, user: UserAccount, envelope: dict[str, Any]) -> None:
    receive_event(session, envelope, actor_id=f"user:{user.id}", actor_org=org_of(user))


def date_from(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def time_from(text: str) -> time | None:
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) == "pm" and hour < 12:
        hour += 12
    elif match.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (match.group(3) and int(match.group(1)) > 12):
        return None
    return time(hour, minute)


def require_or_404(
    request: Request,
    session: Session,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
) -> None:
    """Go on only if the rules allow it; otherwise keep the ledgered refusal and answer 404, so
    nobody learns that a record they may not touch exists."""
    try:
        require(session, policies_of(request), actor, action, record, purpose)
    except NotAllowed:
        session.commit()
        raise HTTPException(status_code=404) from None
