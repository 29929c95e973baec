"""The skills passport's pages: the holder's own, and those of the staff who work with learners.

A learner signs in to see the credentials issued to them, download each one exactly as it was
signed, share a chosen few behind a link they can withdraw, print a card whose QR code opens
such a link, and choose whether new credentials name the prison where they studied. Education
providers, prison officers and probation officers find a learner by a prison number or ULN, see
their credentials, and (education providers only) revoke one with a reason.

Every credential a page shows is one ``sharing.authorize`` decision (ledgered): a ``read`` for
``own_access`` by the holder, acting as the person the records are about, or for
``rehabilitation`` by staff. A download is an ``export`` and a share a ``share``. Anything a
reader may not see is "Page not found", whether or not it exists.

The token behind a share is known only when it is made: it is carried across the redirect in
the signed session cookie for the one page that shows it, then forgotten.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.exchange.tables import AgencyRecord
from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit
from onestory.linkage.tables import PersonMember
from onestory.passport import credentials, shares
from onestory.passport.credentials import LEARNING_KIND, PassportError
from onestory.passport.tables import PassportCredential, PassportHolder, PassportShare
from onestory.sharing.accounts import AccountError, account_actor, create_account
from onestory.sharing.authorize import DECISION, Actor, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, RecordKind, Role
from onestory.store.base import utcnow
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

OWN_ACCESS = "own_access"
REHABILITATION = "rehabilitation"
ACCESS_GIVEN = "passport.holder.access_given"
STAFF_ROLES = frozenset({Role.EDUCATION_PROVIDER, Role.PRISON_OFFICER, Role.PROBATION_OFFICER})
SHARE_DAYS = (7, 30, 90)
CARD_DAYS = 365
CHOOSE_ESTABLISHMENT = "Select yes if new qualifications should name the prison"
DONE_KEY = "passport_done"  # the success banner, carried across a redirect
# A new share's token, kept in the session for the one page that shows it.
TOKEN_KEY = "passport_new_share"  # noqa: S105 - the session key, not a token
# (form in the URL, media type, file name ending)
DOWNLOADS = {
    "rdfc": ("application/ld+json", ".json"),
    "jcs": ("application/ld+json", "-jcs.json"),
    "jwt": ("application/vc+jwt", ".jwt"),
}


def _page(name: str) -> str:
    """A template of ours: the ``passport`` prefix serves ``templates/``, where ours sit in
    ``passport/`` (next to the verification pages)."""
    return f"passport/{name}"


def _policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def _base_url(request: Request) -> str:
    return str(request.app.state.settings.public_base_url)


def _done(request: Request) -> str | None:
    done: str | None = request.session.pop(DONE_KEY, None)
    return done


def _redirect_done(request: Request, message: str, to: str) -> RedirectResponse:
    request.session[DONE_KEY] = message
    return RedirectResponse(to, status_code=303)


def _errors(fields: dict[str, str]) -> dict[str, Any]:
    """Error messages by field id, and the summary that links to each."""
    found: dict[str, Any] = dict(fields)
    found["summary"] = [{"text": text, "href": f"#{field}"} for field, text in fields.items()]
    return found


# --- words for the templates ----------------------------------------------------------------


def day_words(value: date | datetime | None) -> str:
    """A date as people write it: "2 April 2026"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).date()
    return f"{value.day} {value.strftime('%B %Y')}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def status_of(credential: PassportCredential, now: datetime | None = None) -> tuple[str, str]:
    """The credential's status in words, and the GOV.UK tag colour for it."""
    if credential.revoked_at is not None:
        return f"Revoked on {day_words(credential.revoked_at)}", "govuk-tag--red"
    if credential.valid_until is not None and _aware(credential.valid_until) <= (now or utcnow()):
        return f"Expired on {day_words(credential.valid_until)}", "govuk-tag--grey"
    return "Valid", "govuk-tag--green"


def share_status(share: PassportShare, now: datetime | None = None) -> tuple[str, str]:
    """Whether a share's link still opens, in words, and the tag colour."""
    if share.withdrawn_at is not None:
        return f"Withdrawn on {day_words(share.withdrawn_at)}", "govuk-tag--grey"
    if share.expires_at is not None and _aware(share.expires_at) <= (now or utcnow()):
        return f"Expired on {day_words(share.expires_at)}", "govuk-tag--grey"
    return "Working", "govuk-tag--green"


def slug(text: str) -> str:
    """A file name made of the achievement's words: "level-1-award-in-health-and-safety"."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:80].rstrip("-") or "credential"


def qr_svg(url: str, *, label: str) -> Markup:
    """The link as a QR code in inline SVG, announced as an image named ``label``."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=4, light="#fff", dark="#000", svgclass="onestory-qr")
    named = Markup('<svg role="img" aria-label="{}" ').format(label)
    # segno's SVG holds only numbers and fixed markup; the one text in it is escaped above.
    return Markup(svg.replace("<svg ", str(named), 1))  # noqa: S704


@dataclass(frozen=True)
class CredentialView:
    """One credential as a page shows it."""

    credential: PassportCredential
    status: str
    tag: str

    @property
    def valid(self) -> bool:
        return self.status == "Valid"

    @property
    def awarded(self) -> str:
        return day_words(self.credential.awarded_on)


def _view(credential: PassportCredential) -> CredentialView:
    status, tag = status_of(credential)
    return CredentialView(credential, status, tag)


# --- the holder -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """A signed-in learner, and their passport (None until something is issued to them)."""

    user: UserAccount
    holder: PassportHolder | None

    @property
    def actor(self) -> Actor:
        # Acting for themselves: "own records only" matches records about their person.
        return Actor(
            user_or_client_id=f"user:{self.user.id}",
            role=self.user.role,
            organisation_code=None,
            organisation_kind=None,
            subject_id=self.holder.person_id if self.holder else None,
        )


def _holder(session: Session, user: UserAccount) -> Holder:
    """The learner's passport; anyone who is not a learner is told the page does not exist."""
    if user.role != Role.LEARNER:
        raise HTTPException(status_code=404)
    holder = session.scalar(select(PassportHolder).where(PassportHolder.account_id == user.id))
    return Holder(user, holder)


def _own_holder(session: Session, user: UserAccount) -> tuple[Holder, PassportHolder]:
    who = _holder(session, user)
    if who.holder is None:
        raise HTTPException(status_code=404)
    return who, who.holder


def _own_record(holder: PassportHolder, credential: PassportCredential) -> RecordRef:
    return RecordRef(RecordKind.LEARNING_RECORD, credential.record_id, holder.person_id)


def _allowed(
    request: Request,
    session: Session,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
) -> bool:
    return authorize(
        session,
        actor=actor,
        action=action,
        record=record,
        purpose=purpose,
        policies=_policies(request),
    ).allowed


def _readable_own(
    request: Request, session: Session, who: Holder, found: Sequence[PassportCredential]
) -> list[PassportCredential]:
    """The holder's credentials the rules let them read now: one ledgered decision each."""
    assert who.holder is not None
    return [
        c
        for c in found
        if _allowed(
            request, session, who.actor, Action.READ, _own_record(who.holder, c), OWN_ACCESS
        )
    ]


def _own_credential(
    request: Request, session: Session, who: Holder, credential_id: str, action: str
) -> PassportCredential:
    """One of the holder's credentials, if the rules allow ``action`` on it (ledgered); else 404."""
    holder = who.holder
    if holder is None:
        raise HTTPException(status_code=404)
    credential = session.get(PassportCredential, credential_id)
    if credential is None or credential.record_id not in credentials.holder_record_ids(
        session, holder
    ):
        raise HTTPException(status_code=404)
    allowed = _allowed(
        request, session, who.actor, action, _own_record(holder, credential), OWN_ACCESS
    )
    session.commit()
    if not allowed:
        raise HTTPException(status_code=404)
    return credential


@router.get("/passport", response_class=HTMLResponse)
def passport_home(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """The holder's credentials, newest first, with their status."""
    who = _holder(session, user)
    shown: list[CredentialView] = []
    if who.holder is not None:
        found = credentials.holder_credentials(session, who.holder)
        shown = [_view(c) for c in _readable_own(request, session, who, found)]
        session.commit()
    return render(
        request,
        _page("home.html"),
        {"holder": who.holder, "credentials": shown, "done": _done(request)},
    )


@router.get("/passport/credentials/{credential_id}", response_class=HTMLResponse)
def credential_page(
    request: Request, credential_id: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """One credential: what it says, what it leaves out, and its downloads."""
    who = _holder(session, user)
    credential = _own_credential(request, session, who, credential_id, Action.READ)
    return render(
        request,
        _page("credential.html"),
        {"view": _view(credential), "holder": who.holder, "slug": slug(credential.achievement)},
    )


@router.get("/passport/credentials/{credential_id}/download/{form}", response_model=None)
def download(
    request: Request, credential_id: str, form: str, session: SessionDep, user: SignedInUser
) -> Response:
    """The credential as it was signed, in one securing mechanism, as a file."""
    if form not in DOWNLOADS:
        raise HTTPException(status_code=404)
    who = _holder(session, user)
    credential = _own_credential(request, session, who, credential_id, Action.EXPORT)
    media_type, ending = DOWNLOADS[form]
    if form == "jwt":
        body = credential.jwt.encode("ascii")
    else:
        document = credential.rdfc if form == "rdfc" else credential.jcs
        body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{slug(credential.achievement)}{ending}"',
            "Cache-Control": "no-store",
        },
    )


# --- shares ---------------------------------------------------------------------------------


def _share_form(
    request: Request,
    session: Session,
    who: Holder,
    *,
    chosen: Sequence[str] = (),
    label: str = "",
    days: str = "30",
    errors: dict[str, Any] | None = None,
) -> HTMLResponse:
    assert who.holder is not None
    found = credentials.holder_credentials(session, who.holder)
    views = [_view(c) for c in _readable_own(request, session, who, found)]
    session.commit()
    return render(
        request,
        _page("share_new.html"),
        {
            "valid": [v for v in views if v.valid],
            "not_valid": [v for v in views if not v.valid],
            "chosen": set(chosen),
            "label": label,
            "days": days,
            "share_days": SHARE_DAYS,
            "errors": errors,
        },
        status_code=400 if errors else 200,
    )


@router.get("/passport/share", response_class=HTMLResponse)
def share_form(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """Choose which qualifications to show someone, and for how long."""
    who, _ = _own_holder(session, user)
    return _share_form(request, session, who)


def _shareable(
    request: Request, session: Session, who: Holder, chosen: Sequence[str]
) -> list[str] | None:
    """The chosen ids if the rules let the holder share each one (ledgered), else None."""
    holder = who.holder
    assert holder is not None
    mine = {c.id: c for c in credentials.holder_credentials(session, holder)}
    for credential_id in chosen:
        credential = mine.get(credential_id)
        if credential is None:
            return None
        if not _allowed(
            request, session, who.actor, Action.SHARE, _own_record(holder, credential), OWN_ACCESS
        ):
            return None
    return list(chosen)


@router.post("/passport/share", response_model=None)
def share_create(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    credential: Annotated[list[str] | None, Form()] = None,
    label: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    """Make a share of the chosen credentials and show its link once."""
    who, holder = _own_holder(session, user)
    chosen = list(dict.fromkeys(credential or []))
    problems: dict[str, str] = {}
    if not chosen:
        problems["credential"] = "Select at least one qualification to share"
    if days not in {str(d) for d in SHARE_DAYS}:
        problems["days"] = "Select how long the link should work"
    if len(label.strip()) > 200:
        problems["label"] = "The name of the link must be 200 characters or fewer"
    if not problems:
        allowed = _shareable(request, session, who, chosen)
        try:
            if allowed is None:
                raise PassportError("you can only share qualifications in your passport")
            share, token = shares.create_share(
                session, holder, allowed, label=label, days=int(days)
            )
        except PassportError as exc:
            session.commit()  # keep the ledgered decisions
            problems["credential"] = _sentence(str(exc))
        else:
            session.commit()
            request.session[TOKEN_KEY] = {"id": share.id, "token": token}
            return RedirectResponse(f"/passport/shares/{share.id}", status_code=303)
    return _share_form(
        request,
        session,
        who,
        chosen=chosen,
        label=label,
        days=days,
        errors=_errors(problems),
    )


def _sentence(text: str) -> str:
    """A service message as a sentence for an error summary: capital first, no full stop."""
    return text[:1].upper() + text[1:].rstrip(".")


def _own_share(session: Session, holder: PassportHolder, share_id: int) -> PassportShare:
    share = session.get(PassportShare, share_id)
    if share is None or share.holder_id != holder.id:
        raise HTTPException(status_code=404)
    return share


@router.get("/passport/shares/{share_id}", response_class=HTMLResponse)
def share_page(
    request: Request, share_id: int, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """One share: its link and QR code (only straight after it was made), and withdrawing it."""
    who, holder = _own_holder(session, user)
    share = _own_share(session, holder, share_id)
    shown = _readable_own(request, session, who, shares.shared_credentials(session, share))
    session.commit()
    url = None
    kept = request.session.get(TOKEN_KEY)
    if isinstance(kept, dict) and kept.get("id") == share.id:
        request.session.pop(TOKEN_KEY, None)
        url = shares.share_url(_base_url(request), str(kept["token"]))
    status, tag = share_status(share)
    return render(
        request,
        _page("share_show.html"),
        {
            "share": share,
            "credentials": [_view(c) for c in shown],
            "url": url,
            "qr": qr_svg(url, label="QR code that opens the link to your shared qualifications")
            if url
            else None,
            "status": status,
            "tag": tag,
            "day_words": day_words,
            "done": _done(request),
        },
    )


@router.get("/passport/shares", response_class=HTMLResponse)
def share_list(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """Every link the holder has made, whether it still works, and how often it was opened."""
    who, holder = _own_holder(session, user)
    found = {c.id: c for c in credentials.holder_credentials(session, holder)}
    readable = {c.id for c in _readable_own(request, session, who, list(found.values()))}
    session.commit()
    rows = []
    for share in shares.holder_shares(session, holder):
        status, tag = share_status(share)
        rows.append(
            {
                "share": share,
                "names": [found[i].achievement for i in share.credential_ids if i in readable],
                "status": status,
                "tag": tag,
                "live": status == "Working",
            }
        )
    return render(
        request,
        _page("share_list.html"),
        {"rows": rows, "day_words": day_words, "done": _done(request)},
    )


@router.post("/passport/shares/{share_id}/withdraw", response_model=None)
def share_withdraw(
    request: Request, share_id: int, session: SessionDep, user: SignedInUser
) -> Response:
    """Stop a link working, at once and for good."""
    _, holder = _own_holder(session, user)
    share = _own_share(session, holder, share_id)
    shares.withdraw_share(session, holder, share.id)
    session.commit()
    what = "card" if share.purpose == shares.CARD else "link"
    name = f" “{share.label}”" if share.label else ""
    return _redirect_done(
        request, f"The {what}{name} no longer works", f"/passport/shares/{share.id}"
    )


# --- the printable card ---------------------------------------------------------------------


@router.get("/passport/card", response_class=HTMLResponse)
def card_form(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """Choose the qualifications to print on a card (all valid ones to begin with)."""
    who, holder = _own_holder(session, user)
    views = [
        _view(c)
        for c in _readable_own(
            request, session, who, credentials.holder_credentials(session, holder)
        )
    ]
    session.commit()
    valid = [v for v in views if v.valid]
    return render(
        request,
        _page("card_choose.html"),
        {"valid": valid, "chosen": {v.credential.id for v in valid}, "errors": None},
    )


@router.post("/passport/card", response_class=HTMLResponse)
def card_make(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    credential: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Make the card's link and show the card, ready to print."""
    who, holder = _own_holder(session, user)
    chosen = list(dict.fromkeys(credential or []))
    problem = None
    if not chosen:
        problem = "Select at least one qualification to print on your card"
    else:
        allowed = _shareable(request, session, who, chosen)
        try:
            if allowed is None:
                raise PassportError("you can only print qualifications in your passport")
            share, token = shares.create_share(
                session, holder, allowed, purpose=shares.CARD, label="Printed card", days=CARD_DAYS
            )
        except PassportError as exc:
            problem = _sentence(str(exc))
        else:
            shown = shares.shared_credentials(session, share)
            session.commit()
            url = shares.share_url(_base_url(request), token)
            return render(
                request,
                _page("card.html"),
                {
                    "holder": holder,
                    "credentials": [_view(c) for c in shown],
                    "issuer": request.app.state.passport_issuer,
                    "share": share,
                    "url": url,
                    "qr": qr_svg(url, label="QR code that opens the check of these qualifications"),
                    "expires": day_words(share.expires_at),
                },
            )
    views = [
        _view(c)
        for c in _readable_own(
            request, session, who, credentials.holder_credentials(session, holder)
        )
    ]
    session.commit()
    return render(
        request,
        _page("card_choose.html"),
        {
            "valid": [v for v in views if v.valid],
            "chosen": set(chosen),
            "errors": _errors({"credential": problem}),
        },
        status_code=400,
    )


# --- settings -------------------------------------------------------------------------------


@router.get("/passport/settings", response_class=HTMLResponse)
def settings_form(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """Whether new qualifications name the prison where the holder studied."""
    _, holder = _own_holder(session, user)
    return render(
        request,
        _page("settings.html"),
        {"choice": "yes" if holder.name_establishment else "no", "errors": None},
    )


@router.post("/passport/settings", response_model=None)
def settings_save(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    name_establishment: Annotated[str, Form()] = "",
) -> Response:
    """Save the choice; it applies to credentials issued from now on, never to old ones."""
    _, holder = _own_holder(session, user)
    if name_establishment not in {"yes", "no"}:
        return render(
            request,
            _page("settings.html"),
            {
                "choice": "",
                "errors": _errors({"name_establishment": CHOOSE_ESTABLISHMENT}),
            },
            status_code=400,
        )
    holder.name_establishment = name_establishment == "yes"
    session.commit()
    message = (
        "New qualifications will name the prison where you studied"
        if holder.name_establishment
        else "New qualifications will not name the prison where you studied"
    )
    return _redirect_done(request, message, "/passport")


# --- staff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """A member of staff of an education provider, a prison or the probation service."""

    user: UserAccount
    actor: Actor

    @property
    def may_revoke(self) -> bool:
        return self.user.role == Role.EDUCATION_PROVIDER

    @property
    def may_give_access(self) -> bool:
        # Those who work with the person and can see them in person (the agreement decides).
        return self.user.role in (Role.PRISON_OFFICER, Role.PROBATION_OFFICER)


def _refused(session: Session, actor: Actor, action: str, record: RecordRef, why: str) -> None:
    """Ledger a refusal the agreements alone did not make (in the decisions' own form)."""
    append_at_commit(
        session,
        entry_type=DECISION,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=REHABILITATION,
        subjects=[Subject(str(record.kind), record.id)],
        payload={
            "action": str(action),
            "role": str(actor.role),
            "allowed": False,
            "rule": None,
            "reason": why,
            "justification": None,
        },
    )


def _sent_by(session: Session, staff: Staff, record_ids: Sequence[str]) -> set[str]:
    """The records among ``record_ids`` that the member of staff's own organisation sent: an
    education provider answers for its own awards only, never another provider's."""
    if not record_ids:
        return set()
    return set(
        session.scalars(
            select(AgencyRecord.id).where(
                AgencyRecord.id.in_(record_ids),
                AgencyRecord.agency == staff.actor.organisation_code,
            )
        )
    )


def _staff(user: UserAccount) -> Staff:
    if user.role not in STAFF_ROLES or user.organisation is None:
        raise HTTPException(status_code=404)
    return Staff(user, account_actor(user))


def _may_read_all(
    request: Request, session: Session, staff: Staff, person_id: str, record_ids: Sequence[str]
) -> bool:
    """Whether the rules let staff read every one of these learning records (each ledgered)."""
    allowed = [
        _allowed(
            request,
            session,
            staff.actor,
            Action.READ,
            RecordRef(RecordKind.LEARNING_RECORD, rid, person_id),
            REHABILITATION,
        )
        for rid in record_ids
    ]
    return bool(allowed) and all(allowed)


@dataclass(frozen=True)
class Found:
    """A learner a search found."""

    name: str
    prison_number: str | None
    holder: PassportHolder | None
    credentials: int


def _search(request: Request, session: Session, staff: Staff, query: str) -> list[Found]:
    """People whose learning records carry this prison number or ULN, that staff may read."""
    wanted = query.strip().upper()
    rows = session.execute(
        select(PersonMember.person_id, AgencyRecord.id)
        .join(AgencyRecord, AgencyRecord.id == PersonMember.record_id)
        .where(
            AgencyRecord.kind == LEARNING_KIND,
            (func.upper(AgencyRecord.prison_number) == wanted) | (AgencyRecord.uln == wanted),
        )
        .order_by(PersonMember.person_id)
    ).all()
    people: dict[str, list[str]] = {}
    for person_id, record_id in rows:
        people.setdefault(person_id, []).append(record_id)
    found = []
    for person_id, record_ids in people.items():
        if not _may_read_all(request, session, staff, person_id, record_ids):
            continue
        first = session.get(AgencyRecord, record_ids[0])
        assert first is not None
        holder = session.scalar(select(PassportHolder).where(PassportHolder.person_id == person_id))
        count = len(credentials.holder_credentials(session, holder)) if holder else 0
        learning = credentials.learning_of(first)
        found.append(
            Found(
                holder.full_name if holder else learning.holder_name,
                first.prison_number,
                holder,
                count,
            )
        )
    return found


@router.get("/passport/learners", response_class=HTMLResponse)
def learners(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    q: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Find a learner by a prison number or ULN from their learning records."""
    staff = _staff(user)
    errors = None
    found: list[Found] | None = None
    if q is not None:
        if not q.strip():
            errors = _errors({"q": "Enter a prison number or a ULN"})
        elif len(q.strip()) > 16:
            errors = _errors({"q": "A prison number or ULN is 16 characters or fewer"})
        else:
            found = _search(request, session, staff, q)
            session.commit()
    return render(
        request,
        _page("learners.html"),
        {"q": q or "", "found": found, "errors": errors, "staff": staff},
        status_code=400 if errors else 200,
    )


def _learner_holder(
    request: Request, session: Session, staff: Staff, holder_id: str
) -> PassportHolder:
    """The holder, if staff may read all their learning records now (ledgered); else 404."""
    holder = session.get(PassportHolder, holder_id)
    if holder is None:
        raise HTTPException(status_code=404)
    records = credentials.holder_record_ids(session, holder)
    allowed = _may_read_all(request, session, staff, holder.person_id, records)
    session.commit()
    if not allowed:
        raise HTTPException(status_code=404)
    return holder


def _learner_page(
    request: Request,
    session: Session,
    staff: Staff,
    holder: PassportHolder,
    *,
    errors: dict[str, Any] | None = None,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = credentials.holder_credentials(session, holder)
    views = [_view(c) for c in found]
    account = session.get(UserAccount, holder.account_id) if holder.account_id else None
    return render(
        request,
        _page("learner.html"),
        {
            "holder": holder,
            "credentials": views,
            "own_records": _sent_by(session, staff, [c.record_id for c in found]),
            "staff": staff,
            "account": account,
            "errors": errors,
            "failed": failed,
            "values": values or {},
            "done": _done(request),
        },
        status_code=status_code,
    )


@router.get("/passport/learners/{holder_id}", response_class=HTMLResponse)
def learner_page(
    request: Request, holder_id: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """A learner's credentials and their status, with the forms staff may use."""
    staff = _staff(user)
    holder = _learner_holder(request, session, staff, holder_id)
    return _learner_page(request, session, staff, holder)


@router.post(
    "/passport/learners/{holder_id}/credentials/{credential_id}/revoke", response_model=None
)
def revoke(
    request: Request,
    holder_id: str,
    credential_id: str,
    session: SessionDep,
    user: SignedInUser,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Revoke one credential, with a reason, for the education provider."""
    staff = _staff(user)
    holder = session.get(PassportHolder, holder_id)
    credential = session.get(PassportCredential, credential_id)
    if (
        holder is None
        or credential is None
        or credential.record_id not in credentials.holder_record_ids(session, holder)
    ):
        raise HTTPException(status_code=404)
    record = RecordRef(RecordKind.LEARNING_RECORD, credential.record_id, holder.person_id)
    allowed = _allowed(request, session, staff.actor, Action.UPDATE, record, REHABILITATION)
    if allowed and not _sent_by(session, staff, [credential.record_id]):
        # The agreement lets education providers change learning records; only the provider
        # that sent this one may revoke what was issued from it. Ledgered as a refusal too.
        _refused(session, staff.actor, Action.UPDATE, record, "sent by another organisation")
        allowed = False
    if not allowed:
        session.commit()
        raise HTTPException(status_code=404)
    field = f"reason-{credential.id}"
    if not reason.strip():
        session.commit()
        return _learner_page(
            request,
            session,
            staff,
            holder,
            errors=_errors({field: f"Enter why you are revoking {credential.achievement}"}),
            failed=credential.id,
            status_code=400,
        )
    try:
        credentials.revoke(
            session,
            request.app.state.passport_issuer,
            credential,
            actor=staff.actor.user_or_client_id,
            reason=reason,
            base_url=_base_url(request),
        )
    except PassportError as exc:
        # Nothing was changed (revoke checks before it writes); the decision stays ledgered.
        session.commit()
        return _learner_page(
            request,
            session,
            staff,
            holder,
            errors=_errors({field: _sentence(str(exc))}),
            failed=credential.id,
            values={field: reason},
            status_code=400,
        )
    session.commit()
    return _redirect_done(
        request,
        f"{credential.achievement} has been revoked. Anyone who checks it will be told so.",
        f"/passport/learners/{holder.id}",
    )


@router.post("/passport/learners/{holder_id}/access", response_model=None)
def give_access(
    request: Request,
    holder_id: str,
    session: SessionDep,
    user: SignedInUser,
    email: Annotated[str, Form()] = "",
) -> Response:
    """Make the learner an account so they can see their own passport."""
    staff = _staff(user)
    holder = _learner_holder(request, session, staff, holder_id)
    # Making someone an account is its own decision, ledgered, beyond reading their records.
    if not staff.may_give_access or not _allowed(
        request,
        session,
        staff.actor,
        Action.CREATE,
        RecordRef(RecordKind.USER, f"passport-holder:{holder.id}", holder.person_id),
        REHABILITATION,
    ):
        session.commit()
        raise HTTPException(status_code=404)
    email = email.strip()
    problem = None
    if holder.account_id is not None:
        problem = "This person can already see their passport"
    elif "@" not in email or len(email) > 320:
        problem = "Enter an email address in the correct format, like name@example.com"
    if problem is None:
        try:
            account = create_account(
                session,
                email=email,
                display_name=holder.full_name,
                role=Role.LEARNER,
                # Nobody knows it: the person is to sign in some other way, never with this.
                password=secrets.token_urlsafe(32),
            )
            session.flush()
        except AccountError:
            session.rollback()
            problem = "That email address already belongs to an account: enter another one"
        else:
            holder.account_id = account.id
            append_at_commit(
                session,
                entry_type=ACCESS_GIVEN,
                actor=staff.actor.user_or_client_id,
                actor_org=staff.actor.organisation_code,
                purpose=REHABILITATION,
                subjects=[Subject("passport_holder", holder.id)],
                payload={"account": f"user:{account.id}"},
            )
            session.commit()
            return _redirect_done(
                request,
                f"{holder.full_name} now has an account for their passport: they sign in with a "
                f"link sent to {account.email} (Sign in, then 'Sign in with a link')",
                f"/passport/learners/{holder.id}",
            )
    return _learner_page(
        request,
        session,
        staff,
        holder,
        errors=_errors({"email": problem}),
        values={"email": email},
        status_code=400,
    )


@router.post("/passport/learners/{holder_id}/issue", response_model=None)
def issue_now(
    request: Request, holder_id: str, session: SessionDep, user: SignedInUser
) -> Response:
    """Issue credentials for the learner's achievements that have none yet (education only)."""
    staff = _staff(user)
    if not staff.may_revoke:
        raise HTTPException(status_code=404)
    holder = _learner_holder(request, session, staff, holder_id)
    mine = _sent_by(session, staff, credentials.holder_record_ids(session, holder))
    pending = [
        record
        for record, _ in credentials.pending_records(session, person_id=holder.person_id)
        if record.id in mine
    ]
    issued = 0
    for record in pending:
        if not _allowed(
            request,
            session,
            staff.actor,
            Action.CREATE,
            RecordRef(RecordKind.LEARNING_RECORD, record.id, holder.person_id),
            REHABILITATION,
        ):
            continue
        try:
            credentials.issue(
                session,
                request.app.state.passport_issuer,
                record,
                holder,
                actor=staff.actor.user_or_client_id,
                base_url=_base_url(request),
            )
        except PassportError:
            continue  # not achieved after all; issue_pending reports these in bulk
        issued += 1
    session.commit()
    message = (
        f"{issued} new qualification{'s' if issued != 1 else ''} issued"
        if issued
        else "There were no new achievements to issue"
    )
    return _redirect_done(request, message, f"/passport/learners/{holder.id}")
