"""Agency systems reading a victim's story: the same rules as the pages, over the API.

``GET /api/stories/{reference}/{part}?purpose=...`` answers one part of a story -- who the
victim is (``victim``), their needs and safe contact (``victim_contact``) or what happened, every
version (``victim_story``) -- when three things hold: the key carries ``read:<part>``, the story
was routed to the client's organisation for that purpose, and a data-sharing agreement lets the
client's role read that part for that purpose now (consent included). Anything else is 404,
the same as for a story that does not exist. Every decision is ledgered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from onestory.ledger.log import lock_for_append
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.victims.access import NotAllowed, contact_record, require, story_record, victim_record
from onestory.victims.stories import story_by_reference
from onestory.victims.tables import ContactPreferences, StoryRecipient
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/stories", tags=["victims"])

PARTS = (RecordKind.VICTIM, RecordKind.VICTIM_CONTACT, RecordKind.VICTIM_STORY)
NOT_FOUND = "no such story, or not one this client may read for this purpose"


@router.get("/{reference}/{part}")
def read_story_part(
    reference: str,
    part: RecordKind,
    purpose: Annotated[Purpose, Query(description="Why the story is being read")],
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    justification: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """One part of a victim's story, if this client may read it for ``purpose``."""
    lock_for_append(session)  # this transaction reads, then ledgers (see ledger.log)
    story = story_by_reference(session, reference)
    routed = story is not None and (
        session.scalar(
            select(StoryRecipient.id).where(
                StoryRecipient.story_id == story.id,
                StoryRecipient.organisation_code == client.organisation.code,
                StoryRecipient.purpose == purpose,
            )
        )
        is not None
    )
    if story is None or part not in PARTS or scope(Action.READ, part) not in client.scopes:
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    record = {
        RecordKind.VICTIM: victim_record(story.victim_id),
        RecordKind.VICTIM_CONTACT: contact_record(story.victim_id),
        RecordKind.VICTIM_STORY: story_record(story),
    }[part]
    try:
        decision = require(
            session,
            request.app.state.policies,
            client_actor(client),
            Action.READ,
            record,
            purpose,
            justification,
        )
    except NotAllowed as exc:
        session.commit()  # the refusal is ledgered
        raise HTTPException(404, NOT_FOUND) from exc
    if not routed:
        # The rules would allow it, but the story never went to this organisation: the read
        # was asked for and refused, and both facts are in the ledger.
        session.commit()
        raise HTTPException(404, NOT_FOUND)
    body: dict[str, Any] = {"reference": story.reference, "part": str(part)}
    if part == RecordKind.VICTIM:
        victim = story.victim
        body["victim"] = {
            "name": victim.full_name,
            "dateOfBirth": victim.date_of_birth.isoformat() if victim.date_of_birth else None,
            "email": victim.email,
            "phone": victim.phone,
        }
    elif part == RecordKind.VICTIM_CONTACT:
        prefs = session.get(ContactPreferences, story.victim_id)
        body["contact"] = (
            None
            if prefs is None
            else {
                "language": prefs.language,
                "otherLanguage": prefs.other_language,
                "interpreter": prefs.interpreter,
                "accessibility": prefs.accessibility,
                "disability": prefs.disability,
                "circumstances": prefs.circumstances,
                "channels": prefs.channels,
                "safeTimes": prefs.safe_times,
                "doNotLeaveMessages": prefs.no_messages,
            }
        )
        body["enhancedRights"] = story.enhanced
    else:
        body["versions"] = [
            {
                "version": v.version,
                "recordedAt": v.created_at.isoformat(),
                "whatHappened": v.what_happened,
                "happenedOn": v.happened_on.isoformat() if v.happened_on else None,
                "happenedWhere": v.happened_where,
                "crimeReference": v.crime_reference,
                "changed": v.changed,
            }
            for v in story.versions
        ]
    body["allowedBy"] = decision.rule
    session.commit()
    return body
