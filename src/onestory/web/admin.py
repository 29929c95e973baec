"""Administration: the organisations, the people who sign in, and the agreements in force.

Only administrators see these pages. Anyone else gets "Page not found", not "Forbidden": an
answer of 403 would tell them the pages exist.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import RecordRef, authorize
from onestory.sharing.policy import Agreement, PolicySet
from onestory.sharing.sar import ledgered_export
from onestory.sharing.tables import Organisation, UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind, Role
from onestory.web.account import account_record
from onestory.web.deps import SessionDep
from onestory.web.identity import MAX_FAILED_SIGN_INS, SignedInUser, is_locked, revoke_sessions
from onestory.web.templating import render

ACCOUNTS_LISTED = "sharing.accounts.listed"

router = APIRouter(prefix="/admin", include_in_schema=False)


def require_administrator(user: SignedInUser) -> UserAccount:
    """The signed-in administrator; anyone else is told the page does not exist."""
    if user.role != Role.ADMINISTRATOR:
        raise HTTPException(status_code=404)
    return user


Administrator = Annotated[UserAccount, Depends(require_administrator)]


_DURATION_PART = re.compile(r"(\d+)([YMWD])")
_UNITS = {"Y": "year", "M": "month", "W": "week", "D": "day"}


def retention_words(period: str) -> str:
    """An ISO 8601 duration such as P1Y6M in words: "1 year and 6 months"."""
    parts = []
    for number, unit in _DURATION_PART.findall(period):
        word = _UNITS[unit] + ("" if number == "1" else "s")
        parts.append(f"{number} {word}")
    if not parts:
        return period
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def purposes_of(agreement: Agreement) -> list[str]:
    """The purposes an agreement serves, each once, in the order its grants name them."""
    seen: dict[str, None] = {}
    for grant in agreement.grants:
        seen.update(dict.fromkeys(str(p) for p in grant.purposes))
    return list(seen)


def _policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, session: SessionDep, admin: Administrator) -> HTMLResponse:
    # The user list is personal data: the rules decide (deny by default), and the listing is
    # ledgered against every account on it, so each person sees it in their own history.
    decision = authorize(
        session,
        actor=account_actor(admin),
        action=Action.READ,
        record=RecordRef(RecordKind.USER, "*"),
        purpose=Purpose.ADMINISTRATION,
        policies=_policies(request),
    )
    if not decision.allowed:
        session.commit()
        raise HTTPException(status_code=404)
    listed = session.scalars(select(UserAccount.id).order_by(UserAccount.id)).all()
    append(
        session,
        entry_type=ACCOUNTS_LISTED,
        actor=f"user:{admin.id}",
        purpose=Purpose.ADMINISTRATION,
        subjects=[Subject(RecordKind.USER, str(user_id)) for user_id in listed],
        payload={"rule": decision.rule},
    )
    session.commit()
    organisations = session.scalars(select(Organisation).order_by(Organisation.code)).all()
    users = session.scalars(
        select(UserAccount)
        .options(selectinload(UserAccount.organisation))
        .order_by(UserAccount.email)
    ).all()
    agreements = sorted(_policies(request).agreements, key=lambda a: a.title)
    return render(
        request,
        "admin/index.html",
        {
            "organisations": organisations,
            "users": users,
            "agreements": agreements,
            "purposes_of": purposes_of,
            "is_locked": is_locked,
            "admin": admin,
            "retention_words": retention_words,
        },
    )


ACCOUNT_LOCKED = "sharing.account.locked"
ACCOUNT_UNLOCKED = "sharing.account.unlocked"


@router.post("/accounts/{account_id}/{change}")
def lock_or_unlock(
    request: Request,
    account_id: int,
    change: str,
    session: SessionDep,
    admin: Administrator,
) -> RedirectResponse:
    """Lock an account (its sessions end at once) or unlock one locked by wrong passwords.

    Decided by the account-administration agreement and ledgered against the account, so the
    person sees it in their own history. An administrator cannot lock themselves out.
    """
    if change not in ("lock", "unlock") or account_id == admin.id:
        raise HTTPException(status_code=404)
    decision = authorize(
        session,
        actor=account_actor(admin),
        action=Action.UPDATE,
        record=account_record(account_id),
        purpose=Purpose.ADMINISTRATION,
        policies=_policies(request),
    )
    account = session.get(UserAccount, account_id)
    if not decision.allowed or account is None:
        session.commit()
        raise HTTPException(status_code=404)
    if change == "lock":
        account.failed_sign_ins = MAX_FAILED_SIGN_INS
        ended = revoke_sessions(session, account_id)
    else:
        account.failed_sign_ins = 0
        ended = 0
    append(
        session,
        entry_type=ACCOUNT_LOCKED if change == "lock" else ACCOUNT_UNLOCKED,
        actor=f"user:{admin.id}",
        purpose=Purpose.ADMINISTRATION,
        subjects=[Subject(RecordKind.USER, str(account_id))],
        payload={"sessionsEnded": ended, "rule": decision.rule},
    )
    session.commit()
    return RedirectResponse("/admin#users", status_code=303)


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement(request: Request, agreement_id: str, _admin: Administrator) -> HTMLResponse:
    found = _policies(request).by_id.get(agreement_id)
    if found is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "admin/agreement.html",
        {
            "agreement": found,
            "purposes": purposes_of(found),
            "retention": retention_words(found.retention.period),
        },
    )


@router.get("/subject-access/{subject_kind}/{subject_id}")
def subject_access(
    subject_kind: str, subject_id: str, admin: Administrator, session: SessionDep
) -> JSONResponse:
    """Everything held about one subject, as JSON, for answering a subject access request.

    The export is itself ledgered (it is a disclosure), in the same transaction.
    """
    export = ledgered_export(
        session, actor=f"user:{admin.id}", subject_kind=subject_kind, subject_id=subject_id
    )
    session.commit()
    return JSONResponse(export)
