"""Agency files over the web: an upload page for agency staff, and an API for agency systems.

Uploads are copied in blocks to a temporary file in the data directory and ingested from there
(``exchange.ingest``), so a large extract is never held whole in memory. Each organisation sees
only the files its own staff and systems delivered, and the rows quarantined from them.

Quarantined rows are people's records as the agency sent them, so every read and every
correction is decided by the sharing rules (``sharing.authorize``, ledgered) for the purpose the
agency holds such records for: police records for investigation, CPS and court records for
prosecution, prison and probation records for offender management (``policies/exchange-ingest``
is the agreement). A refusal, or a row of another organisation, is "Page not found".
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.exchange import mapping
from onestory.exchange.ingest import (
    EVENTS,
    FileSummary,
    IngestBusy,
    IngestError,
    ingest_file,
    resubmit,
    row_fields,
    withdraw,
)
from onestory.exchange.tables import OPEN, IngestFile, QuarantinedRow
from onestory.ledger.log import lock_for_append
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.victims.access import staff_actor
from onestory.victims.staff_forms import DONE_KEY, form_errors, redirect_done, require_or_404
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter()

# Why each kind of agency holds the records it sends: the purpose every read and correction of
# them is decided for.
PURPOSES: dict[str, Purpose] = {
    "police": Purpose.INVESTIGATION,
    "cps": Purpose.PROSECUTION,
    "court": Purpose.PROSECUTION,
    "prison": Purpose.OFFENDER_MANAGEMENT,
    "probation": Purpose.OFFENDER_MANAGEMENT,
    "education": Purpose.REHABILITATION,
}
UPLOAD_BLOCK = 1 << 20
UPLOADS = "uploads"
CREATE_SCOPE = scope(Action.CREATE, RecordKind.PERSON)
READ_SCOPE = scope(Action.READ, RecordKind.QUARANTINED_ROW)
NOT_FOUND = "no such file, or not one your organisation delivered"


def _upload_dir(request: Request) -> Path:
    folder = Path(request.app.state.settings.data_dir) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class TooLarge(Exception):
    """An upload over ``Settings.max_upload_bytes``; nothing of it is kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the file is larger than the {limit:,} bytes this service takes in one upload; "
            "split it, or send it with `onestory ingest` on the server"
        )


def _limit(request: Request) -> int:
    return int(request.app.state.settings.max_upload_bytes)


def _copy_to_temporary(request: Request, source: IO[bytes]) -> Path:
    limit = _limit(request)
    with tempfile.NamedTemporaryFile(dir=_upload_dir(request), suffix=".part", delete=False) as out:
        path = Path(out.name)
        written = 0
        while block := source.read(UPLOAD_BLOCK):
            written += len(block)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise TooLarge(limit)
            out.write(block)
        return path


def _as_delivered(exc: Exception, temporary: Path, name: str) -> str:
    """The error as the sender should read it: naming their file, not our temporary copy."""
    return str(exc).replace(str(temporary), name).replace(temporary.name, name)


def _files_of(session: Session, organisation: str) -> list[IngestFile]:
    return list(
        session.scalars(
            select(IngestFile)
            .where(IngestFile.organisation == organisation)
            .order_by(IngestFile.started_at.desc(), IngestFile.id.desc())
        )
    )


def _file_of(session: Session, organisation: str, file_id: int) -> IngestFile | None:
    """The file, if ``organisation`` sent it; another's file is as good as missing."""
    file = session.get(IngestFile, file_id)
    if file is None or file.organisation != organisation:
        return None
    return file


# --- pages ---------------------------------------------------------------------------------------


class _Staff:
    """A signed-in member of an agency that sends files, and why they handle its records."""

    def __init__(self, user: UserAccount) -> None:
        organisation = user.organisation
        kind = organisation.kind if organisation else None
        if organisation is None or kind not in PURPOSES:
            raise HTTPException(status_code=404)
        self.user = user
        self.organisation = organisation
        self.kind: str = kind
        self.purpose = PURPOSES[kind]
        self.actor: Actor = staff_actor(user)


def _layout_choices(kind: str) -> list[dict[str, Any]]:
    try:
        layouts = mapping.layouts_for(kind)
    except mapping.MappingError:
        layouts = []
    choices: list[dict[str, Any]] = [{"value": "", "text": "Recognise it from the file"}]
    choices += [{"value": layout.name, "text": layout.name} for layout in layouts]
    return choices


def _upload_page(
    request: Request,
    session: Session,
    staff: _Staff,
    *,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    files = [FileSummary.of(f) for f in _files_of(session, staff.organisation.code)]
    return render(
        request,
        "exchange/ingest.html",
        {
            "organisation": staff.organisation,
            "layouts": _layout_choices(staff.kind),
            "files": files,
            "errors": errors,
            "done": request.session.pop(DONE_KEY, None),
        },
        status_code=status_code,
    )


@router.get("/ingest", response_class=HTMLResponse, include_in_schema=False)
def upload_page(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """The upload form and the organisation's files (summaries only: no personal data)."""
    return _upload_page(request, session, _Staff(user))


@router.post("/ingest", response_model=None, include_in_schema=False)
def upload(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    extract: Annotated[UploadFile | None, File()] = None,
    layout: Annotated[str, Form()] = "",
) -> Response:
    """Take an uploaded extract: copied to disk, ingested, then its summary page."""
    staff = _Staff(user)
    if extract is None or not extract.filename:
        errors = form_errors("extract", "Select the file to upload")
        return _upload_page(request, session, staff, errors=errors, status_code=400)
    name = Path(extract.filename).name
    require_or_404(
        request,
        session,
        staff.actor,
        Action.CREATE,
        RecordRef(RecordKind.PERSON, f"upload:{staff.organisation.code}"),
        staff.purpose,
    )
    session.commit()  # the decision is kept whatever the file turns out to be
    try:
        temporary = _copy_to_temporary(request, extract.file)
    except TooLarge as exc:
        return _upload_page(
            request, session, staff, errors=form_errors("extract", str(exc)), status_code=413
        )
    try:
        summary = ingest_file(
            request.app.state.sessions,
            staff.kind,
            temporary,
            actor=staff.actor.user_or_client_id,
            actor_org=staff.organisation.code,
            layout=layout or None,
            name=name,
        )
    except (IngestError, mapping.MappingError) as exc:
        message = _as_delivered(exc, temporary, name)
        status = 409 if isinstance(exc, IngestBusy) else 400
        return _upload_page(
            request, session, staff, errors=form_errors("extract", message), status_code=status
        )
    finally:
        temporary.unlink(missing_ok=True)
    if summary.already_received:
        message = f"{name} was already received: nothing changed"
    else:
        message = f"{name} received: {summary.accepted} records accepted"
    return redirect_done(request, message, f"/ingest/files/{summary.id}")


@router.get("/ingest/files/{file_id}", response_class=HTMLResponse, include_in_schema=False)
def file_page(
    request: Request, file_id: int, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """What became of one file's rows."""
    staff = _Staff(user)
    file = _file_of(session, staff.organisation.code, file_id)
    if file is None:
        raise HTTPException(status_code=404)
    open_rows = session.scalar(
        select(func.count())
        .select_from(QuarantinedRow)
        .where(QuarantinedRow.file_id == file.id, QuarantinedRow.status == OPEN)
    )
    return render(
        request,
        "exchange/ingest_file.html",
        {
            "file": FileSummary.of(file),
            "open_rows": open_rows or 0,
            "done": request.session.pop(DONE_KEY, None),
        },
    )


def _read_file_rows(
    request: Request, session: Session, staff: _Staff, files: Iterable[IngestFile]
) -> None:
    """Authorise reading the quarantined rows of each file (404 on any refusal)."""
    for file in files:
        require_or_404(
            request,
            session,
            staff.actor,
            Action.READ,
            RecordRef(RecordKind.QUARANTINED_ROW, f"ingest_file:{file.id}"),
            staff.purpose,
        )


@router.get("/quarantine", response_class=HTMLResponse, include_in_schema=False)
def quarantine_page(
    request: Request,
    session: SessionDep,
    user: SignedInUser,
    file: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """The organisation's open quarantined rows, with what is wrong with each."""
    staff = _Staff(user)
    lock_for_append(session)  # this page reads, then ledgers each file's decision
    files = _files_of(session, staff.organisation.code)
    if file is not None:
        files = [f for f in files if f.id == file]
        if not files:
            raise HTTPException(status_code=404)
    by_id = {f.id: f for f in files}
    rows = list(
        session.scalars(
            select(QuarantinedRow)
            .where(QuarantinedRow.file_id.in_(list(by_id)), QuarantinedRow.status == OPEN)
            .order_by(QuarantinedRow.file_id, QuarantinedRow.id)
        )
    )
    _read_file_rows(request, session, staff, [by_id[i] for i in sorted({r.file_id for r in rows})])
    session.commit()
    return render(
        request,
        "exchange/quarantine_list.html",
        {"rows": rows, "files": by_id, "only_file": by_id.get(file) if file else None},
    )


def _row_of(
    request: Request, session: Session, staff: _Staff, row_id: int, action: str
) -> QuarantinedRow:
    lock_for_append(session)
    row = session.get(QuarantinedRow, row_id)
    if row is None or _file_of(session, staff.organisation.code, row.file_id) is None:
        raise HTTPException(status_code=404)
    require_or_404(
        request,
        session,
        staff.actor,
        action,
        RecordRef(RecordKind.QUARANTINED_ROW, f"quarantined_row:{row.id}"),
        staff.purpose,
    )
    return row


def _row_page(
    request: Request,
    row: QuarantinedRow,
    *,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "exchange/quarantine_row.html",
        {
            "row": row,
            "fields": row_fields(row),
            "errors": errors,
            "done": request.session.pop(DONE_KEY, None),
        },
        status_code=status_code,
    )


@router.get("/quarantine/{row_id}", response_class=HTMLResponse, include_in_schema=False)
def row_page(
    request: Request, row_id: int, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    """One quarantined row: as received, each problem and its fix, and a correction form."""
    staff = _Staff(user)
    row = _row_of(request, session, staff, row_id, Action.READ)
    session.commit()
    return _row_page(request, row)


@router.post("/quarantine/{row_id}/resubmit", response_model=None, include_in_schema=False)
def resubmit_row(
    request: Request,
    row_id: int,
    session: SessionDep,
    user: SignedInUser,
    names: Annotated[list[str] | None, Form(alias="name")] = None,
    values: Annotated[list[str] | None, Form(alias="value")] = None,
) -> Response:
    """Map the corrected row again; it becomes a record, or the page says what is still wrong."""
    staff = _Staff(user)
    row = _row_of(request, session, staff, row_id, Action.UPDATE)
    names, values = names or [], values or []
    if len(names) != len(values):
        session.commit()  # the row was shown to decide on: that decision stays ledgered
        raise HTTPException(status_code=400, detail="the form's fields and values do not match")
    shown = dict(row_fields(row))
    corrections = {n: v for n, v in zip(names, values, strict=True) if shown.get(n) != v}
    try:
        resubmit(
            session,
            row.id,
            corrections,
            actor=staff.actor.user_or_client_id,
            actor_org=staff.organisation.code,
        )
    except IngestError as exc:
        # Refused before anything changed; the decision to let this person see and change the
        # row (ledgered at commit) stays, since the page shows the row again.
        session.commit()
        return _row_page(request, row, errors=form_errors("field-0", str(exc)), status_code=400)
    session.commit()
    if row.status == OPEN:
        summary = [
            {"text": f"{p.get('field') or 'The row'}: {p['problem']}", "href": "#problems"}
            for p in row.problems
        ]
        return _row_page(request, row, errors={"summary": summary}, status_code=400)
    return redirect_done(
        request, f"Row {row.record_key} accepted as record {row.record_id}", f"/quarantine/{row.id}"
    )


@router.post("/quarantine/{row_id}/withdraw", response_model=None, include_in_schema=False)
def withdraw_row(
    request: Request,
    row_id: int,
    session: SessionDep,
    user: SignedInUser,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Close a row that will not be corrected, saying why."""
    staff = _Staff(user)
    row = _row_of(request, session, staff, row_id, Action.UPDATE)
    try:
        withdraw(
            session,
            row.id,
            reason=reason,
            actor=staff.actor.user_or_client_id,
            actor_org=staff.organisation.code,
        )
    except IngestError as exc:
        session.commit()  # as for a resubmission: nothing changed, the decision stays ledgered
        return _row_page(request, row, errors=form_errors("reason", str(exc)), status_code=400)
    session.commit()
    return redirect_done(request, f"Row {row.record_key} withdrawn", f"/quarantine/{row.id}")


# --- the API for agency systems -------------------------------------------------------------------


def _api_error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message})


def _client_purpose(
    session: Session, client_id: int, agency: str | None, wanted: str
) -> tuple[ApiClient, Actor, Purpose]:
    """The client, its actor and its purpose; 403 for a key without ``wanted`` or of another
    kind of agency."""
    client = session.get(ApiClient, client_id)
    if client is None:
        raise _api_error(401, "invalid_key", "The API key is not recognised")
    if wanted not in client.scopes:
        raise _api_error(
            403,
            "insufficient_scope",
            f"This API key does not have the scope {wanted}; ask your administrator for a key "
            "that does",
        )
    kind = client.organisation.kind
    if agency is not None and agency != kind:
        raise _api_error(
            403,
            "wrong_agency",
            f"this key acts for {client.organisation.code}, a {kind} organisation: it can send "
            f"{kind} files only, not {agency}",
        )
    if kind not in PURPOSES:
        raise _api_error(
            403, "no_agreement", f"no agreement covers files from {kind} organisations"
        )
    return client, client_actor(client), PURPOSES[kind]


def _authorise_upload(request: Request, client_id: int, agency: str) -> tuple[str, str]:
    with request.app.state.sessions() as session:
        client, actor, purpose = _client_purpose(session, client_id, agency, CREATE_SCOPE)
        decision = authorize(
            session,
            actor=actor,
            action=Action.CREATE,
            record=RecordRef(RecordKind.PERSON, f"upload:{client.organisation.code}"),
            purpose=purpose,
            policies=request.app.state.policies,
        )
        session.commit()
    if not decision.allowed:
        raise _api_error(403, "not_allowed", f"not allowed: {decision.reason}")
    return actor.user_or_client_id, client.organisation.code


async def _save_body(request: Request, chunks: AsyncIterator[bytes]) -> Path:
    folder = await run_in_threadpool(_upload_dir, request)
    handle = tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    limit, written = _limit(request), 0
    try:
        with handle:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise _api_error(413, "too_large", str(TooLarge(limit)))
                await run_in_threadpool(handle.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.post(
    "/api/ingest/{agency}",
    tags=["exchange"],
    status_code=201,
    responses={200: {"description": "The same file was already received: nothing changed"}},
)
async def post_file(
    agency: str,
    request: Request,
    client: ApiClientDep,
    layout: Annotated[str | None, Query(description="The layout (default: recognised)")] = None,
    name: Annotated[str | None, Query(max_length=255, description="The file's name")] = None,
) -> JSONResponse:
    """Send one extract in the agency's own layout, as the raw request body.

    Needs a key with the scope ``create:person`` acting for an organisation of kind
    ``agency``. The answer is the file's summary: rows accepted, quarantined (``rejected``) and
    already held (``duplicate``). The file's SHA-256 is the idempotency key: sending the same
    bytes again answers 200 with the same summary and changes nothing.
    """
    if agency == EVENTS:
        raise _api_error(
            422,
            "events_one_by_one",
            "send events one at a time to POST /api/events; event files are taken by "
            "`onestory ingest events`",
        )
    actor, organisation = await run_in_threadpool(_authorise_upload, request, client.id, agency)
    temporary = await _save_body(request, request.stream())
    shown = name or f"{agency}-upload"
    try:
        summary = await run_in_threadpool(
            lambda: ingest_file(
                request.app.state.sessions,
                agency,
                temporary,
                actor=actor,
                actor_org=organisation,
                layout=layout,
                name=shown,
            )
        )
    except IngestBusy as exc:
        raise _api_error(409, "busy", _as_delivered(exc, temporary, shown)) from exc
    except (IngestError, mapping.MappingError) as exc:
        raise _api_error(422, "unreadable_file", _as_delivered(exc, temporary, shown)) from exc
    finally:
        with suppress(OSError):
            temporary.unlink()
    return JSONResponse(summary.as_json(), status_code=200 if summary.already_received else 201)


@router.get("/api/ingest/files/{file_id}", tags=["exchange"])
def get_file(file_id: int, client: ApiClientDep, session: SessionDep) -> dict[str, Any]:
    """One file's summary, if this client's organisation delivered it."""
    client, _, _ = _client_purpose(session, client.id, None, CREATE_SCOPE)
    file = _file_of(session, client.organisation.code, file_id)
    if file is None:
        raise _api_error(404, "not_found", NOT_FOUND)
    return FileSummary.of(file).as_json()


@router.get("/api/quarantine", tags=["exchange"])
def get_quarantine(
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    file: Annotated[int, Query(description="The file whose quarantined rows to list")],
    status: Annotated[
        Literal["open", "resubmitted", "withdrawn", "all"],
        Query(description="Which rows: open, resubmitted, withdrawn or all"),
    ] = "open",
) -> dict[str, Any]:
    """The rows of one file that were quarantined, each with its problems and how to fix them."""
    client, actor, purpose = _client_purpose(session, client.id, None, READ_SCOPE)
    lock_for_append(session)
    held = _file_of(session, client.organisation.code, file)
    if held is None:
        session.rollback()
        raise _api_error(404, "not_found", NOT_FOUND)
    decision = authorize(
        session,
        actor=actor,
        action=Action.READ,
        record=RecordRef(RecordKind.QUARANTINED_ROW, f"ingest_file:{held.id}"),
        purpose=purpose,
        policies=request.app.state.policies,
    )
    query = select(QuarantinedRow).where(QuarantinedRow.file_id == held.id)
    if status != "all":
        query = query.where(QuarantinedRow.status == status)
    rows = list(session.scalars(query.order_by(QuarantinedRow.id))) if decision.allowed else []
    session.commit()
    if not decision.allowed:
        raise _api_error(404, "not_found", NOT_FOUND)
    return {
        "file": held.id,
        "rows": [
            {
                "id": r.id,
                "recordKey": r.record_key,
                "line": r.line,
                "status": r.status,
                "raw": r.raw,
                "fields": r.fields,
                "problems": r.problems,
                "recordId": r.record_id,
            }
            for r in rows
        ],
    }
