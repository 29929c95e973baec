"""The evidence pages: cases, items with their custody timeline, sharing, and public submission.

Staff of the police, the CPS, the courts and the defence see the cases whose evidence their
organisation holds, or that a live grant names them for. The holding organisation's officers add
items, share them, change their retention, dispose of them and make derived copies; everyone
else sees only what their live grants cover. An item that is not the reader's to see is "Page
not found", whether or not it exists; a reader whose access ended is refused the same way and
the attempt is a custody entry.

Showing an item's page is a read of its record (decided by the sharing rules and ledgered);
only the preview and the download hand out its content, and each is a ``viewed`` or
``downloaded`` custody entry (``evidence.delivery``). The public submission pages need no
sign-in and show nothing about the case but what the officer asked for.

Every page works without JavaScript: forms post and redirect, and previews use the browser's own
image, video, audio and PDF players.
"""

from __future__ import annotations

import mimetypes
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.domain.identifiers import CaseURN, IdentifierError
from onestory.evidence import custody, retention, service, submission, upload_service
from onestory.evidence.blobs import BlobError, size_words, stage
from onestory.evidence.delivery import Disposition, blob_store, content_response, policies_of
from onestory.evidence.tables import (
    CustodyAction,
    EvidenceGrant,
    EvidenceItem,
    ItemStatus,
    SubmissionLink,
)
from onestory.ledger.audit import b64
from onestory.ledger.checkpoints import latest_checkpoint
from onestory.ledger.log import inclusion_proof, leaf_hash, lock_for_append
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow
from onestory.victims.access import staff_actor
from onestory.victims.duties import LONDON
from onestory.victims.staff_forms import DONE_KEY, date_from, redirect_done, time_from
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.ratelimit import SlidingWindowLimiter
from onestory.web.templating import render

router = APIRouter()

STAFF_KINDS = frozenset({"police", "cps", "court", "defence"})
DEFAULT_GRANT_DAYS = 30
PREVIEW_KINDS = ("image/", "video/", "audio/")
# Content that a browser could run as a page of ours is never shown inline.
NEVER_INLINE = frozenset({"image/svg+xml"})
SUBMISSIONS_PER_HOUR = 10
# The content of an item may be framed by our own item page (the PDF preview) and nothing else,
# and never runs anything; PDFs need no sandbox flag, which would stop the browser's viewer.
CONTENT_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'self'"
CONTENT_CSP_SANDBOXED = CONTENT_CSP + "; sandbox"
PDF_CSP = CONTENT_CSP + "; object-src 'self'"

ACTION_WORDS = {
    "acquired": "Acquired",
    "uploaded": "Uploaded to the vault",
    "viewed": "Viewed",
    "downloaded": "Downloaded",
    "shared": "Shared",
    "access_revoked": "Access revoked",
    "access_refused": "Access refused",
    "derived": "Derived copy made",
    "exported": "Exported in a disclosure bundle",
    "retention_changed": "Retention changed",
    "disposed": "Disposed of",
    "integrity_failed": "Integrity check failed",
}
# What every custody entry carries about its item: not repeated in the timeline's details.
BASE_KEYS = frozenset({"item", "action", "caseUrn", "exhibitReference", "sha256"})


# --- who is asking --------------------------------------------------------------------------------


class _Staff:
    """A signed-in member of staff of an organisation that handles evidence."""

    def __init__(self, user: UserAccount) -> None:
        organisation = user.organisation
        if organisation is None or organisation.kind not in STAFF_KINDS:
            raise HTTPException(status_code=404)
        self.user = user
        self.organisation = organisation
        self.code: str = organisation.code
        self.kind: str = organisation.kind
        self.actor: Actor = staff_actor(user)

    @property
    def is_police(self) -> bool:
        return self.kind == "police"


def _now() -> datetime:
    return utcnow()


def _live_grants_of(session: Session, user_id: int) -> list[EvidenceGrant]:
    now = _now()
    return list(
        session.scalars(
            select(EvidenceGrant).where(
                EvidenceGrant.grantee_user_id == user_id,
                EvidenceGrant.revoked_at.is_(None),
                EvidenceGrant.expires_at > now,
            )
        )
    )


def _refuse_read(session: Session, staff: _Staff, item: EvidenceItem) -> None:
    """Record a read of the item's page by someone without a live grant, then 404."""
    ended = session.scalar(
        select(EvidenceGrant)
        .where(
            EvidenceGrant.grantee_user_id == staff.user.id,
            EvidenceGrant.case_urn == item.case_urn,
            (EvidenceGrant.item_id.is_(None)) | (EvidenceGrant.item_id == item.id),
        )
        .order_by(EvidenceGrant.granted_at.desc())
        .limit(1)
    )
    if ended is None:
        reason = "no grant gives this user access to this item"
    elif ended.revoked_at is not None:
        reason = f"access was revoked on {ended.revoked_at:%d %B %Y at %H:%M} UTC"
    else:
        reason = f"access expired on {ended.expires_at:%d %B %Y at %H:%M} UTC"
    custody.record(
        session,
        item,
        CustodyAction.ACCESS_REFUSED,
        actor=staff.actor.user_or_client_id,
        actor_org=staff.code,
        purpose=ended.purpose if ended else service.DISCLOSURE_PURPOSE,
        details={"attempted": "read", "reason": reason},
    )
    session.commit()
    raise HTTPException(status_code=404)


def _readable_item(request: Request, session: Session, staff: _Staff, item_id: str) -> EvidenceItem:
    """The item, if the sharing rules let this person read its record now (ledgered); else 404.

    The holding organisation reads for the investigation; anyone else needs a live grant and
    reads for the grant's purpose. A refusal of someone without one is a custody entry.
    """
    lock_for_append(session)
    item = session.get(EvidenceItem, item_id)
    if item is None:
        session.rollback()
        raise HTTPException(status_code=404)
    if service.is_holder(staff.actor, item):
        purpose: str = service.HOLDER_PURPOSE
    else:
        grant = service.live_grant(session, staff.actor, item)
        if grant is None:
            _refuse_read(session, staff, item)
            raise AssertionError("unreachable")  # pragma: no cover
        purpose = grant.purpose
    decision = authorize(
        session,
        actor=staff.actor,
        action=Action.READ,
        record=RecordRef(RecordKind.EVIDENCE, item.id),
        purpose=purpose,
        policies=policies_of(request),
    )
    session.commit()
    if not decision.allowed:
        raise HTTPException(status_code=404)
    return item


def _held_item(request: Request, session: Session, staff: _Staff, item_id: str) -> EvidenceItem:
    """An item the person's organisation holds (for the forms that change it); else 404."""
    lock_for_append(session)
    item = session.get(EvidenceItem, item_id)
    if item is None or not service.is_holder(staff.actor, item):
        session.rollback()
        raise HTTPException(status_code=404)
    return item


def _urn_or_404(text: str) -> str:
    try:
        return str(CaseURN(text))
    except IdentifierError:
        raise HTTPException(status_code=404) from None


# --- words and values for the templates ----------------------------------------------------------


def when_words(moment: datetime | None) -> str:
    """A moment in London as people write it: "3 March 2026, 2:05pm"."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    clock = local.strftime("%I:%M%p").lstrip("0").lower()
    return f"{local.day} {local.strftime('%B %Y')}, {clock}"


def day_words(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    return f"{local.day} {local.strftime('%B %Y')}"


def preview_kind(item: EvidenceItem) -> str | None:
    """Which of the browser's own players can show the item: image, video, audio, pdf, or None."""
    media = item.media_type.lower()
    if media in NEVER_INLINE:
        return None
    if media == "application/pdf":
        return "pdf"
    for prefix in PREVIEW_KINDS:
        if media.startswith(prefix):
            return prefix.rstrip("/")
    return None


def _end_of_day(day: date) -> datetime:
    """The last second of ``day`` in London, in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON).astimezone(UTC)


def _date_parts(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(LONDON)
    return {"day": str(local.day), "month": str(local.month), "year": str(local.year)}


def _schedule_items(checked: str | None) -> list[dict[str, Any]]:
    return [
        {
            "value": s.id,
            "text": s.label,
            "hint": {"text": s.explanation},
            "checked": s.id == checked,
        }
        for s in retention.schedules().values()
    ]


def _people(session: Session, actors: set[str]) -> dict[str, str]:
    """Display names for "user:N" actors."""
    ids = [int(a[5:]) for a in actors if a.startswith("user:") and a[5:].isdigit()]
    if not ids:
        return {}
    rows = session.execute(
        select(UserAccount.id, UserAccount.display_name).where(UserAccount.id.in_(ids))
    )
    return {f"user:{uid}": name for uid, name in rows}


def _who(actor: str, org: str | None, people: dict[str, str]) -> str:
    if actor in people:
        name = people[actor]
    elif actor.startswith("link:"):
        name = f"A member of the public, through submission link {actor[5:]}"
    elif actor.startswith("system:"):
        name = f"OneStory ({actor[7:]})"
    else:
        name = actor
    return f"{name} ({org})" if org else name


def _detail_rows(payload: dict[str, Any] | None) -> list[tuple[str, str]]:
    if payload is None:
        return [("Details", "erased at the end of the ledger entry's retention")]
    rows = []
    for key, value in payload.items():
        if key in BASE_KEYS or value is None or value == "":
            continue
        rows.append((key, str(value)))
    return rows


@dataclass(frozen=True)
class TimelineEntry:
    """One custody entry as the item page shows it."""

    seq: int
    when: str
    what: str
    who: str
    details: list[tuple[str, str]]
    leaf_hash: str
    proof: list[str] | None


def _timeline(session: Session, item: EvidenceItem) -> tuple[list[TimelineEntry], int]:
    checkpoint = latest_checkpoint(session)
    size = int(checkpoint.size) if checkpoint is not None else 0
    records = custody.history(session, [item.id])[item.id]
    people = _people(session, {r.actor for r in records})
    entries = []
    for record in records:
        proof = None
        if record.seq < size:
            proof = [b64(step) for step in inclusion_proof(session, record.seq, size)]
        entries.append(
            TimelineEntry(
                seq=record.seq,
                when=when_words(record.at),
                what=ACTION_WORDS.get(record.action, record.action),
                who=_who(record.actor, record.actor_org, people),
                details=_detail_rows(record.payload),
                leaf_hash=b64(leaf_hash(session, record.seq)),
                proof=proof,
            )
        )
    return entries, size


def _grant_status(grant: EvidenceGrant, now: datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    expires = grant.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return "live" if expires > now else "expired"


def _done(request: Request) -> str | None:
    done: str | None = request.session.pop(DONE_KEY, None)
    return done


def _errors(fields: dict[str, str]) -> dict[str, Any]:
    """Error messages by field id, and the summary that links to each."""
    found: dict[str, Any] = dict(fields)
    found["summary"] = [{"text": text, "href": f"#{field}"} for field, text in fields.items()]
    return found


# --- the list of cases ---------------------------------------------------------------------------


@router.get("/evidence", response_class=HTMLResponse, include_in_schema=False)
def evidence_home(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    urn: Annotated[str | None, Query()] = None,
) -> Response:
    """The cases the person's organisation holds evidence for, and those shared with them."""
    staff = _Staff(user)
    errors = None
    if urn is not None:
        try:
            return RedirectResponse(f"/evidence/cases/{CaseURN(urn)}", status_code=303)
        except IdentifierError as exc:
            errors = _errors({"urn": f"Enter a case URN like 01AB1234526 ({exc})"})
    held = session.execute(
        select(EvidenceItem.case_urn, func.count())
        .where(EvidenceItem.organisation == staff.code)
        .group_by(EvidenceItem.case_urn)
        .order_by(EvidenceItem.case_urn)
    ).all()
    shared: dict[str, set[str]] = {}
    for grant in _live_grants_of(session, user.id):
        covered = shared.setdefault(grant.case_urn, set())
        if grant.item_id is not None:
            covered.add(grant.item_id)
        else:
            covered.update(i.id for i in service.items_of_case(session, grant.case_urn))
    return render(
        request,
        "evidence/index.html",
        {
            "staff": staff,
            "held": [(case, int(count)) for case, count in held],
            "shared": sorted((case, len(ids)) for case, ids in shared.items()),
            "errors": errors,
            "urn": urn or "",
        },
        status_code=400 if errors else 200,
    )


# --- a case --------------------------------------------------------------------------------------


@dataclass
class CaseView:
    """What a case page shows one person."""

    urn: str
    held: list[EvidenceItem]
    shared: list[EvidenceItem]

    @property
    def is_holder(self) -> bool:
        return bool(self.held)


def _case_view(session: Session, staff: _Staff, urn: str) -> CaseView:
    items = service.items_of_case(session, urn)
    held = [i for i in items if service.is_holder(staff.actor, i)]
    shared = [
        i
        for i in items
        if not service.is_holder(staff.actor, i)
        and service.live_grant(session, staff.actor, i) is not None
    ]
    return CaseView(urn, held, shared)


def _case_page(
    request: Request,
    session: Session,
    staff: _Staff,
    urn: str,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    new_link: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = _case_view(session, staff, urn)
    if not view.held and not view.shared and not staff.is_police:
        raise HTTPException(status_code=404)
    now = _now()
    grants: list[dict[str, Any]] = []
    if view.held:
        held_ids = {i.id for i in view.held}
        by_id = {i.id: i for i in view.held}
        rows = [
            g
            for g in service.grants_of_case(session, urn)
            if (g.item_id in held_ids) or (g.item_id is None)
        ]
        names = {
            u.id: u
            for u in session.scalars(
                select(UserAccount).where(UserAccount.id.in_([g.grantee_user_id for g in rows]))
            )
        }
        for grant in rows:
            grantee = names.get(grant.grantee_user_id)
            item = by_id.get(grant.item_id) if grant.item_id else None
            grants.append(
                {
                    "grant": grant,
                    "grantee": grantee.display_name if grantee else f"user {grant.grantee_user_id}",
                    "grantee_email": grantee.email if grantee else "",
                    "covers": f"Exhibit {item.exhibit_reference}" if item else "The whole case",
                    "until": when_words(grant.expires_at),
                    "status": _grant_status(grant, now),
                }
            )
    form = {
        "seized_by": staff.user.display_name,
        "retention_schedule": retention.DEFAULT_SCHEDULE,
        "grant_until": _date_parts(now + timedelta(days=DEFAULT_GRANT_DAYS)),
        "grant_scope": "case",
        "link_days": str(submission.DEFAULT_DAYS),
    }
    form.update(values or {})
    return render(
        request,
        "evidence/case.html",
        {
            "staff": staff,
            "view": view,
            "grants": grants,
            "form": form,
            "errors": errors,
            "schedules": _schedule_items(str(form.get("retention_schedule"))),
            "new_link": new_link,
            "done": _done(request),
            "size_words": size_words,
        },
        status_code=status_code,
    )


@router.get("/evidence/cases/{case_urn:path}", response_class=HTMLResponse, include_in_schema=False)
def case_page(
    request: Request, case_urn: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """A case's items: the organisation's own with their forms, or those shared with the person."""
    staff = _Staff(user)
    urn = _urn_or_404(case_urn)
    return _case_page(request, session, staff, urn)


def _media_type(upload: UploadFile, filename: str) -> str:
    given = (upload.content_type or "").split(";", 1)[0].strip().lower()
    if given and given != "application/octet-stream" and "/" in given:
        return given
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _filename(upload: UploadFile | None) -> str:
    if upload is None or not upload.filename:
        return ""
    return Path(upload.filename.replace("\\", "/")).name[:255] or "evidence"


def _moment(
    prefix: str, day: str, month: str, year: str, clock: str, errors: dict[str, str]
) -> datetime | None:
    """A date and time entered in London, or an error against the field."""
    if not (day.strip() and month.strip() and year.strip()):
        errors[f"{prefix}-day"] = "Enter the date, with a day, month and year"
        return None
    found = date_from(day, month, year)
    if found is None:
        errors[f"{prefix}-day"] = "Enter a real date, for example 27 3 2026"
        return None
    at = time(0, 0)
    if clock.strip():
        parsed = time_from(clock)
        if parsed is None:
            errors[f"{prefix}-time"] = "Enter the time like 14:30 or 2:30pm"
            return None
        at = parsed
    moment = datetime.combine(found, at, tzinfo=LONDON).astimezone(UTC)
    if moment > _now() + timedelta(minutes=5):
        errors[f"{prefix}-day"] = "The date must be today or in the past"
        return None
    return moment


Text = Annotated[str, Form()]


class _ItemForm:
    """The "Add an item" form's fields, as posted (the file itself aside)."""

    def __init__(
        self,
        exhibit_reference: Annotated[str, Form(alias="exhibit-reference")] = "",
        description: Text = "",
        seized_by: Annotated[str, Form(alias="seized-by")] = "",
        seized_day: Annotated[str, Form(alias="seized-day")] = "",
        seized_month: Annotated[str, Form(alias="seized-month")] = "",
        seized_year: Annotated[str, Form(alias="seized-year")] = "",
        seized_time: Annotated[str, Form(alias="seized-time")] = "",
        seized_from: Annotated[str, Form(alias="seized-from")] = "",
        device: Text = "",
        method: Text = "",
        sender_sha256: Annotated[str, Form(alias="sender-sha256")] = "",
        retention_schedule: Annotated[str, Form(alias="retention-schedule")] = "",
    ) -> None:
        self.exhibit_reference = exhibit_reference
        self.description = description
        self.seized_by = seized_by
        self.seized = {"day": seized_day, "month": seized_month, "year": seized_year}
        self.seized_time = seized_time
        self.seized_from = seized_from
        self.device = device
        self.method = method
        self.sender_sha256 = sender_sha256
        self.retention_schedule = retention_schedule

    def values(self) -> dict[str, Any]:
        """What to put back in the form when it is shown again with errors."""
        return dict(vars(self))

    def check(
        self, urn: str, filename: str, media_type: str
    ) -> tuple[service.ItemDetails | None, str | None, dict[str, str]]:
        """The item's details and the sender's hash, or the problems, by field id."""
        problems: dict[str, str] = {}
        if not filename:
            problems["evidence-file"] = "Select the file to add"
        if not self.exhibit_reference.strip():
            problems["exhibit-reference"] = "Enter the exhibit reference, for example JS/1"
        if not self.description.strip():
            problems["description"] = "Describe the item"
        if not self.seized_by.strip():
            problems["seized-by"] = "Enter who seized or produced the item"
        seized = self.seized
        seized_at = _moment(
            "seized", seized["day"], seized["month"], seized["year"], self.seized_time, problems
        )
        sha = self.sender_sha256.strip().lower() or None
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            problems["sender-sha256"] = (
                "Enter the SHA-256 as 64 letters a to f and digits, or leave it"
            )
        if self.retention_schedule not in retention.schedules():
            problems["retention-schedule"] = "Select how long to keep the item"
        if problems or seized_at is None:
            return None, sha, problems
        try:
            details = service.ItemDetails(
                case_urn=CaseURN(urn),
                exhibit_reference=self.exhibit_reference,
                description=self.description,
                seized_by=self.seized_by,
                seized_at=seized_at,
                seized_from=self.seized_from or None,
                device=self.device or None,
                method=self.method or None,
                media_type=media_type,
                filename=filename,
                retention_schedule=self.retention_schedule,
            )
        except ValidationError as exc:
            problems["exhibit-reference"] = "; ".join(str(e["msg"]) for e in exc.errors())
            return None, sha, problems
        return details, sha, problems


ItemFormDep = Annotated[_ItemForm, Depends()]


@router.post("/evidence/cases/{case_urn:path}/items", response_model=None, include_in_schema=False)
def add_item(
    request: Request,
    case_urn: str,
    session: SessionDep,
    user: SignedInUser,
    form: ItemFormDep,
    evidence_file: Annotated[UploadFile | None, File(alias="evidence-file")] = None,
) -> Response:
    """Take in an item through the page: validated, streamed to staging, hashed, then added."""
    staff = _Staff(user)
    urn = _urn_or_404(case_urn)
    values = form.values()
    filename = _filename(evidence_file)
    media_type = _media_type(evidence_file, filename) if evidence_file is not None else ""
    details, sha, problems = form.check(urn, filename, media_type)
    if problems or details is None or evidence_file is None:
        return _case_page(
            request, session, staff, urn, errors=_errors(problems), values=values, status_code=400
        )
    store = blob_store(request)
    try:
        staged = stage(store, evidence_file.file, limit=request.app.state.settings.max_upload_bytes)
    except BlobError as exc:
        return _case_page(
            request,
            session,
            staff,
            urn,
            errors=_errors({"evidence-file": f"The file could not be kept: {exc}"}),
            values=values,
            status_code=400,
        )
    lock_for_append(session)
    try:
        item = service.add_item(
            session,
            policies=policies_of(request),
            store=store,
            actor=staff.actor,
            staged=staged,
            details=details,
            expected_sha256=sha,
            via="page",
        )
    except service.Refused:
        session.commit()  # the refusal is ledgered
        raise HTTPException(status_code=404) from None
    except service.HashMismatch as exc:
        session.rollback()
        field = {"sender-sha256": f"The file was not added: {exc}"}
        return _case_page(
            request, session, staff, urn, errors=_errors(field), values=values, status_code=400
        )
    except service.EvidenceError as exc:
        session.rollback()
        field = {"exhibit-reference": f"The file was not added: {exc}"}
        return _case_page(
            request, session, staff, urn, errors=_errors(field), values=values, status_code=400
        )
    session.commit()
    return redirect_done(
        request,
        f"Exhibit {item.exhibit_reference} added. SHA-256 {item.sha256}",
        f"/evidence/items/{item.id}",
    )


@router.post(
    "/evidence/cases/{case_urn:path}/uploads", response_model=None, include_in_schema=False
)
def prepare_upload(
    request: Request,
    case_urn: str,
    session: SessionDep,
    user: SignedInUser,
    form: ItemFormDep,
    file_name: Annotated[str, Form(alias="file-name")] = "",
    file_type: Annotated[str, Form(alias="file-type")] = "",
    file_size: Annotated[str, Form(alias="file-size")] = "",
) -> JSONResponse:
    """The page's resumable upload, first step: the same form, without the file, checked as the
    ordinary post is; then a resumable upload is opened for the file (evidence-upload.js sends
    the bytes to it in pieces, resuming after a dropped connection)."""
    staff = _Staff(user)
    urn = _urn_or_404(case_urn)
    filename = Path(file_name.replace("\\", "/")).name[:255]
    guessed, _ = mimetypes.guess_type(filename)
    given = file_type.split(";", 1)[0].strip().lower()
    media_type = given if given and "/" in given else guessed or "application/octet-stream"
    details, sha, problems = form.check(urn, filename, media_type)
    if not file_size.isdigit():
        problems["evidence-file"] = "Select the file to add"
    if problems or details is None:
        return JSONResponse({"errors": problems}, status_code=400)
    metadata = {
        key: str(value)
        for key, name in upload_service.METADATA_FIELDS.items()
        if (value := details.model_dump(mode="json").get(name)) is not None
    }
    if sha is not None:
        metadata[upload_service.SHA256_KEY] = sha
    try:
        upload = upload_service.create_upload(
            session,
            policies=policies_of(request),
            store=blob_store(request),
            actor=staff.actor,
            length=int(file_size),
            metadata=metadata,
        )
    except upload_service.CreationRefused:
        session.commit()  # the refusal is ledgered
        raise HTTPException(status_code=404) from None
    except upload_service.UploadError as exc:
        session.rollback()
        return JSONResponse({"errors": {"exhibit-reference": str(exc)}}, status_code=400)
    session.commit()
    return JSONResponse({"location": f"/api/evidence/uploads/{upload.id}"}, status_code=201)


@router.post("/evidence/cases/{case_urn:path}/grants", response_model=None, include_in_schema=False)
def add_grant(
    request: Request,
    case_urn: str,
    session: SessionDep,
    user: SignedInUser,
    grantee_email: Annotated[str, Form(alias="grantee-email")] = "",
    grant_scope: Annotated[str, Form(alias="grant-scope")] = "case",
    until_day: Annotated[str, Form(alias="grant-until-day")] = "",
    until_month: Annotated[str, Form(alias="grant-until-month")] = "",
    until_year: Annotated[str, Form(alias="grant-until-year")] = "",
) -> Response:
    """Give a named person access to the whole case, or to one item, until a date."""
    staff = _Staff(user)
    urn = _urn_or_404(case_urn)
    lock_for_append(session)
    view = _case_view(session, staff, urn)
    if not view.held:
        raise HTTPException(status_code=404)
    values = {
        "grantee_email": grantee_email,
        "grant_scope": grant_scope,
        "grant_until": {"day": until_day, "month": until_month, "year": until_year},
    }
    problems: dict[str, str] = {}
    grantee = session.scalar(
        select(UserAccount).where(func.lower(UserAccount.email) == grantee_email.strip().lower())
    )
    if not grantee_email.strip():
        problems["grantee-email"] = "Enter the email address of the person to share with"
    elif grantee is None:
        problems["grantee-email"] = f"No one has an account with the email {grantee_email.strip()}"
    item = None
    if grant_scope != "case":
        item = next((i for i in view.held if i.id == grant_scope), None)
        if item is None:
            problems["grant-scope"] = "Select the whole case or one of its exhibits"
    until = date_from(until_day, until_month, until_year)
    if until is None:
        problems["grant-until-day"] = "Enter the date the access ends, with a day, month and year"
    if not problems and grantee is not None and until is not None:
        try:
            service.grant_access(
                session,
                policies=policies_of(request),
                actor=staff.actor,
                case_urn=urn,
                item=item,
                grantee=grantee,
                expires_at=_end_of_day(until),
            )
        except service.Refused as exc:
            session.rollback()
            problems["grantee-email"] = f"The access was not given: {exc}"
        except service.EvidenceError as exc:
            session.rollback()
            field = (
                "grant-until-day" if "end" in str(exc) or "days" in str(exc) else "grantee-email"
            )
            problems[field] = f"The access was not given: {exc}"
        else:
            session.commit()
            covers = f"exhibit {item.exhibit_reference}" if item else f"case {urn}"
            return redirect_done(
                request,
                f"{grantee.display_name} can see {covers} until {day_words(_end_of_day(until))}",
                f"/evidence/cases/{urn}#sharing",
            )
    return _case_page(
        request, session, staff, urn, errors=_errors(problems), values=values, status_code=400
    )


@router.post("/evidence/grants/{grant_id}/revoke", response_model=None, include_in_schema=False)
def revoke(request: Request, grant_id: int, session: SessionDep, user: SignedInUser) -> Response:
    """End a grant now."""
    staff = _Staff(user)
    lock_for_append(session)
    grant = session.get(EvidenceGrant, grant_id)
    if grant is None:
        raise HTTPException(status_code=404)
    try:
        service.revoke_grant(session, policies=policies_of(request), actor=staff.actor, grant=grant)
    except service.Refused:
        session.commit()
        raise HTTPException(status_code=404) from None
    except service.EvidenceError as exc:
        session.rollback()
        return redirect_done(request, str(exc).capitalize(), f"/evidence/cases/{grant.case_urn}")
    session.commit()
    return redirect_done(request, "Access revoked", f"/evidence/cases/{grant.case_urn}#sharing")


@router.post(
    "/evidence/cases/{case_urn:path}/links", response_class=HTMLResponse, include_in_schema=False
)
def add_link(
    request: Request,
    case_urn: str,
    session: SessionDep,
    user: SignedInUser,
    link_request: Annotated[str, Form(alias="link-request")] = "",
    link_days: Annotated[str, Form(alias="link-days")] = "",
) -> HTMLResponse:
    """Make a submission link; the page shows its address this once."""
    staff = _Staff(user)
    urn = _urn_or_404(case_urn)
    if not staff.is_police:
        raise HTTPException(status_code=404)
    values = {"link_request": link_request, "link_days": link_days}
    problems: dict[str, str] = {}
    try:
        days = int(link_days.strip() or submission.DEFAULT_DAYS)
    except ValueError:
        problems["link-days"] = f"Enter a number of days from 1 to {submission.MAX_DAYS}"
        days = 0
    if not problems:
        lock_for_append(session)
        try:
            made = submission.create_link(
                session,
                policies=policies_of(request),
                actor=staff.actor,
                case_urn=urn,
                request_text=link_request,
                days=days,
            )
        except service.Refused:
            session.commit()
            raise HTTPException(status_code=404) from None
        except submission.LinkError as exc:
            session.rollback()
            field = "link-days" if "days" in str(exc) else "link-request"
            problems[field] = str(exc).capitalize()
        else:
            session.commit()
            base = request.app.state.settings.public_base_url.rstrip("/")
            return _case_page(request, session, staff, urn, new_link=base + made.path)
    return _case_page(
        request, session, staff, urn, errors=_errors(problems), values=values, status_code=400
    )


# --- an item -------------------------------------------------------------------------------------


def _item_page(
    request: Request,
    session: Session,
    staff: _Staff,
    item: EvidenceItem,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    holder = service.is_holder(staff.actor, item)
    timeline, checkpoint_size = _timeline(session, item)
    original = session.get(EvidenceItem, item.derived_from_id) if item.derived_from_id else None
    if original is not None and not service.may_see(session, staff.actor, original):
        original = None
    copies = [
        c
        for c in session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.derived_from_id == item.id)
            .order_by(EvidenceItem.created_at)
        )
        if service.may_see(session, staff.actor, c)
    ]
    # Who sent a file through a submission link: for the holding force's eyes only.
    sender = (
        session.scalar(select(SubmissionLink).where(SubmissionLink.item_id == item.id))
        if holder
        else None
    )
    now = _now()
    retain_until = item.retain_until
    if retain_until.tzinfo is None:
        retain_until = retain_until.replace(tzinfo=UTC)
    form = {"retention_schedule": item.retention_schedule, "retain_until": {}}
    form.update(values or {})
    return render(
        request,
        "evidence/item.html",
        {
            "staff": staff,
            "item": item,
            "holder": holder,
            "held": item.status == ItemStatus.HELD,
            "preview": preview_kind(item) if item.status == ItemStatus.HELD else None,
            "schedule": retention.schedules().get(item.retention_schedule),
            "schedules": _schedule_items(str(form.get("retention_schedule"))),
            "due": retain_until <= now,
            "original": original,
            "copies": copies,
            "sender": sender,
            "timeline": timeline,
            "checkpoint_size": checkpoint_size,
            "when": when_words,
            "day": day_words,
            "size_words": size_words,
            "form": form,
            "errors": errors,
            "done": _done(request) or _just_added(request, item),
        },
        status_code=status_code,
    )


def _just_added(request: Request, item: EvidenceItem) -> str | None:
    """The banner after a resumable page upload, which arrives here by the script's redirect."""
    if request.query_params.get("added") != "1":
        return None
    return f"Exhibit {item.exhibit_reference} added. SHA-256 {item.sha256}"


@router.get("/evidence/items/{item_id}", response_class=HTMLResponse, include_in_schema=False)
def item_page(
    request: Request, item_id: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """An item's facts of acquisition, its preview, its custody timeline and, for the holder,
    the forms that change it."""
    staff = _Staff(user)
    item = _readable_item(request, session, staff, item_id)
    return _item_page(request, session, staff, item)


def _content(
    request: Request, session: Session, user: UserAccount, item_id: str, disposition: Disposition
) -> Response:
    staff = _Staff(user)
    lock_for_append(session)
    item = session.get(EvidenceItem, item_id)
    if item is None:
        session.rollback()
        raise HTTPException(status_code=404)
    kind = preview_kind(item)
    if kind is None:
        disposition = "attachment"
    try:
        response = content_response(request, session, staff.actor, item, disposition)
    except service.Refused:
        raise HTTPException(status_code=404) from None
    except service.Unavailable as exc:
        return render(
            request,
            "evidence/unavailable.html",
            {"message": str(exc), "item_id": item_id},
            status_code=410,
        )
    csp = PDF_CSP if kind == "pdf" and disposition == "inline" else CONTENT_CSP_SANDBOXED
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@router.get("/evidence/items/{item_id}/content", response_model=None, include_in_schema=False)
def item_content(
    request: Request, item_id: str, session: SessionDep, user: SignedInUser
) -> Response:
    """The item's content for the preview (a ``viewed`` custody entry)."""
    return _content(request, session, user, item_id, "inline")


@router.get("/evidence/items/{item_id}/download", response_model=None, include_in_schema=False)
def item_download(
    request: Request, item_id: str, session: SessionDep, user: SignedInUser
) -> Response:
    """The item's content as a file to save (a ``downloaded`` custody entry)."""
    return _content(request, session, user, item_id, "attachment")


@router.post("/evidence/items/{item_id}/retention", response_model=None, include_in_schema=False)
def change_retention(
    request: Request,
    item_id: str,
    session: SessionDep,
    user: SignedInUser,
    schedule: Annotated[str, Form(alias="retention-schedule")] = "",
    until_day: Annotated[str, Form(alias="retain-until-day")] = "",
    until_month: Annotated[str, Form(alias="retain-until-month")] = "",
    until_year: Annotated[str, Form(alias="retain-until-year")] = "",
    reason: Annotated[str, Form(alias="retention-reason")] = "",
) -> Response:
    """Put the item on another schedule, or keep it until a date; the reason is recorded."""
    staff = _Staff(user)
    item = _held_item(request, session, staff, item_id)
    values = {
        "retention_schedule": schedule,
        "retain_until": {"day": until_day, "month": until_month, "year": until_year},
        "retention_reason": reason,
    }
    problems: dict[str, str] = {}
    given_date = any(x.strip() for x in (until_day, until_month, until_year))
    until = date_from(until_day, until_month, until_year) if given_date else None
    if given_date and until is None:
        problems["retain-until-day"] = "Enter a real date, with a day, month and year"
    if not given_date and schedule not in retention.schedules():
        problems["retention-schedule"] = "Select a schedule, or enter the date to keep it until"
    if not reason.strip():
        problems["retention-reason"] = "Say why the retention is changing"
    if not problems:
        try:
            service.change_retention(
                session,
                policies=policies_of(request),
                actor=staff.actor,
                item=item,
                schedule_id=None if given_date else schedule,
                until=_end_of_day(until) if until else None,
                reason=reason,
            )
        except service.Refused:
            session.commit()
            raise HTTPException(status_code=404) from None
        except service.EvidenceError as exc:
            session.rollback()
            problems["retention-reason"] = f"The retention was not changed: {exc}"
        else:
            session.commit()
            return redirect_done(
                request,
                f"Exhibit {item.exhibit_reference} is now kept until "
                f"{day_words(item.retain_until)}",
                f"/evidence/items/{item.id}",
            )
    session.rollback()
    item = _held_item(request, session, staff, item_id)
    return _item_page(
        request, session, staff, item, errors=_errors(problems), values=values, status_code=400
    )


def _dispose_page(
    request: Request,
    staff: _Staff,
    item: EvidenceItem,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    retain_until = item.retain_until
    if retain_until.tzinfo is None:
        retain_until = retain_until.replace(tzinfo=UTC)
    return render(
        request,
        "evidence/dispose.html",
        {
            "item": item,
            "due": retain_until <= _now() and item.status == ItemStatus.HELD,
            "retain_until": day_words(item.retain_until),
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get(
    "/evidence/items/{item_id}/dispose", response_class=HTMLResponse, include_in_schema=False
)
def dispose_page(
    request: Request, item_id: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """Confirm the disposal of an item whose retention has ended."""
    staff = _Staff(user)
    item = _held_item(request, session, staff, item_id)
    session.rollback()
    return _dispose_page(request, staff, item)


@router.post("/evidence/items/{item_id}/dispose", response_model=None, include_in_schema=False)
def dispose(
    request: Request,
    item_id: str,
    session: SessionDep,
    user: SignedInUser,
    reason: Annotated[str, Form(alias="dispose-reason")] = "",
) -> Response:
    """Delete the content, keeping the hash, the record and the custody."""
    staff = _Staff(user)
    item = _held_item(request, session, staff, item_id)
    if not reason.strip():
        session.rollback()
        errors = _errors({"dispose-reason": "Say why the item is being disposed of"})
        return _dispose_page(request, staff, item, errors, 400)
    try:
        release = service.dispose_by(
            session,
            policies=policies_of(request),
            actor=staff.actor,
            item=item,
            reason=reason.strip(),
        )
    except service.Refused:
        session.commit()
        raise HTTPException(status_code=404) from None
    except (service.EvidenceError, retention.RetentionError) as exc:
        session.rollback()
        item = _held_item(request, session, staff, item_id)
        session.rollback()
        errors = _errors({"dispose-reason": f"The item was not disposed of: {exc}"})
        return _dispose_page(request, staff, item, errors, 400)
    session.commit()
    if release is not None:
        service.release_content(session, blob_store(request), release)
    return redirect_done(
        request,
        f"Exhibit {item.exhibit_reference} was disposed of: its record and hash are kept",
        f"/evidence/items/{item.id}",
    )


@router.post("/evidence/items/{item_id}/derived", response_model=None, include_in_schema=False)
def add_derived(
    request: Request,
    item_id: str,
    session: SessionDep,
    user: SignedInUser,
    derived_file: Annotated[UploadFile | None, File(alias="derived-file")] = None,
    derivation: Text = "",
) -> Response:
    """Add a copy made from the item (a redacted version, a still), linked to it."""
    staff = _Staff(user)
    item = _held_item(request, session, staff, item_id)
    problems: dict[str, str] = {}
    filename = _filename(derived_file)
    if derived_file is None or not filename:
        problems["derived-file"] = "Select the file of the copy"
    if not derivation.strip():
        problems["derivation"] = "Say what was done to make the copy, for example faces blurred"
    if problems or derived_file is None:
        session.rollback()
        item = _held_item(request, session, staff, item_id)
        values = {"derivation": derivation}
        return _item_page(
            request, session, staff, item, errors=_errors(problems), values=values, status_code=400
        )
    count = session.scalar(
        select(func.count())
        .select_from(EvidenceItem)
        .where(EvidenceItem.derived_from_id == item.id)
    )
    details = service.ItemDetails(
        case_urn=CaseURN(item.case_urn),
        exhibit_reference=f"{item.exhibit_reference}/C{int(count or 0) + 1}"[-64:],
        description=f"Copy of exhibit {item.exhibit_reference}: {derivation.strip()}",
        seized_by=user.display_name,
        seized_at=_now(),
        seized_from=f"Exhibit {item.exhibit_reference}",
        device=None,
        method=derivation.strip()[:500],
        media_type=_media_type(derived_file, filename),
        filename=filename,
        retention_schedule=item.retention_schedule,
    )
    store = blob_store(request)
    staged = stage(store, derived_file.file, limit=request.app.state.settings.max_upload_bytes)
    try:
        copy = service.add_item(
            session,
            policies=policies_of(request),
            store=store,
            actor=staff.actor,
            staged=staged,
            details=details,
            via="page",
            derived_from=item,
            derivation=derivation.strip(),
        )
    except service.Refused:
        session.commit()
        raise HTTPException(status_code=404) from None
    except service.EvidenceError as exc:
        session.rollback()
        item = _held_item(request, session, staff, item_id)
        errors = _errors({"derived-file": f"The copy was not added: {exc}"})
        return _item_page(request, session, staff, item, errors=errors, status_code=400)
    session.commit()
    return redirect_done(
        request,
        f"Copy {copy.exhibit_reference} of exhibit {item.exhibit_reference} added",
        f"/evidence/items/{copy.id}",
    )


# --- public submission ---------------------------------------------------------------------------

_limiter_lock = threading.Lock()


def _submission_limiter(request: Request) -> SlidingWindowLimiter:
    """Uploads through links, per client address (slows down anyone guessing or flooding)."""
    with _limiter_lock:
        limiter: SlidingWindowLimiter | None = getattr(
            request.app.state, "evidence_submission_limiter", None
        )
        if limiter is None:
            limiter = SlidingWindowLimiter(limit=SUBMISSIONS_PER_HOUR, window=3600)
            request.app.state.evidence_submission_limiter = limiter
        return limiter


def _gone(request: Request, reason: str) -> HTMLResponse:
    return render(request, "evidence/submit_gone.html", {"reason": reason}, status_code=410)


def _submit_page(
    request: Request,
    link_text: str,
    token: str,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "evidence/submit.html",
        {
            "request_text": link_text,
            "token": token,
            "errors": errors,
            "form": values or {"recorded": {}},
        },
        status_code=status_code,
    )


@router.get("/evidence/submit/{token}", response_class=HTMLResponse, include_in_schema=False)
def submit_page(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """What the officer asked for, and the form to send it (no sign-in)."""
    try:
        link = submission.find_link(session, token)
    except submission.LinkUnavailable as exc:
        return _gone(request, exc.reason)
    return _submit_page(request, link.request_text, token)


@router.post("/evidence/submit/{token}", response_class=HTMLResponse, include_in_schema=False)
def submit(
    request: Request,
    token: str,
    session: SessionDep,
    submitted_file: Annotated[UploadFile | None, File(alias="submitted-file")] = None,
    recorded_day: Annotated[str, Form(alias="recorded-day")] = "",
    recorded_month: Annotated[str, Form(alias="recorded-month")] = "",
    recorded_year: Annotated[str, Form(alias="recorded-year")] = "",
    recorded_time: Annotated[str, Form(alias="recorded-time")] = "",
    recorded_where: Annotated[str, Form(alias="recorded-where")] = "",
    sender_name: Annotated[str, Form(alias="sender-name")] = "",
    sender_contact: Annotated[str, Form(alias="sender-contact")] = "",
    note: Text = "",
    declaration: Text = "",
) -> HTMLResponse:
    """Take the file in through the link, once."""
    try:
        link = submission.find_link(session, token)
    except submission.LinkUnavailable as exc:
        return _gone(request, exc.reason)
    limiter = _submission_limiter(request)
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(address)
    if wait is not None:
        minutes = max(1, int(wait // 60) + 1)
        return render(
            request,
            "evidence/submit_gone.html",
            {
                "reason": f"Too many files have been sent from this connection. Try again in "
                f"{minutes} minutes.",
                "heading": "Try again later",
            },
            status_code=429,
        )
    values = {
        "recorded": {"day": recorded_day, "month": recorded_month, "year": recorded_year},
        "recorded_time": recorded_time,
        "recorded_where": recorded_where,
        "sender_name": sender_name,
        "sender_contact": sender_contact,
        "note": note,
    }
    problems: dict[str, str] = {}
    filename = _filename(submitted_file)
    if submitted_file is None or not filename:
        problems["submitted-file"] = "Select the file to send"
    recorded_at = _moment(
        "recorded", recorded_day, recorded_month, recorded_year, recorded_time, problems
    )
    if len(sender_name) > 200:
        problems["sender-name"] = "Your name must be 200 characters or fewer"
    if len(sender_contact) > 500 or len(recorded_where) > 500 or len(note) > 2000:
        problems["note"] = "Shorten what you wrote: the boxes take up to 500 or 2,000 characters"
    if declaration != "yes":
        problems["declaration"] = "Confirm the file is true and has not been changed"
    if problems or submitted_file is None or recorded_at is None:
        return _submit_page(
            request,
            link.request_text,
            token,
            errors=_errors(problems),
            values=values,
            status_code=400,
        )
    limiter.record(address)
    store = blob_store(request)
    staged = stage(store, submitted_file.file, limit=request.app.state.settings.max_upload_bytes)
    lock_for_append(session)
    try:
        item = submission.take_submission(
            session,
            store=store,
            token=token,
            staged=staged,
            submission=submission.Submission(
                filename=filename,
                media_type=_media_type(submitted_file, filename),
                recorded_at=recorded_at,
                recorded_where=recorded_where.strip() or None,
                name=sender_name.strip() or None,
                contact=sender_contact.strip() or None,
                note=note.strip() or None,
            ),
        )
    except submission.LinkUnavailable as exc:
        session.rollback()
        return _gone(request, exc.reason)
    except (service.EvidenceError, ValidationError) as exc:
        session.rollback()
        return _submit_page(
            request,
            link.request_text,
            token,
            errors=_errors({"submitted-file": f"The file was not sent: {exc}"}),
            values=values,
            status_code=400,
        )
    session.commit()
    return render(
        request,
        "evidence/submit_done.html",
        {"exhibit_reference": item.exhibit_reference, "sha256": item.sha256},
    )
