"""Your account: who you are in OneStory, and who has seen your data (DPA 2018 s45)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onestory.sharing.transparency import access_history
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

# The ledger subject an account's own records are filed under.
USER_SUBJECT_KIND = "user"


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    history = access_history(session, subject_kind=USER_SUBJECT_KIND, subject_id=str(user.id))
    return render(
        request,
        "account/account.html",
        {"user": user, "organisation": user.organisation, "history": history},
    )
