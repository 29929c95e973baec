"""Your account: who you are in OneStory, and who has seen your data (DPA 2018 s45).

Reading even your own account goes through the sharing rules (the account-own-access
agreement), so that this read, like every other read of personal data, is decided and ledgered.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import RecordRef, authorize
from onestory.sharing.transparency import access_history
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

# The ledger subject an account's own records are filed under.
USER_SUBJECT_KIND = RecordKind.USER


def account_record(user_id: int) -> RecordRef:
    """An account as a record: filed under ``user``/<id>, owned by ``user:<id>``."""
    return RecordRef(RecordKind.USER, str(user_id), f"user:{user_id}")


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    decision = authorize(
        session,
        actor=account_actor(user),
        action=Action.READ,
        record=account_record(user.id),
        purpose=Purpose.OWN_ACCESS,
        policies=request.app.state.policies,
    )
    session.commit()
    if not decision.allowed:
        raise HTTPException(status_code=404)
    history = access_history(session, subject_kind=USER_SUBJECT_KIND, subject_id=str(user.id))
    return render(
        request,
        "account/account.html",
        {"user": user, "organisation": user.organisation, "history": history},
    )
