"""Verification for anyone, without signing in: the check page, the API, share links, and what a
verifier elsewhere needs to check our credentials (our DID document and our status lists).

Every answer comes from ``passport.verify``: the page, the API and a holder's share link show the
same verdict. Trust is this instance's own issuer plus ``passport_trusted_issuers``; status lists
of this instance are read from its database, so a revocation shows at once.

A share link opened is a disclosure the holder agreed to, so each opening is a ledger entry
(``passport.share.viewed``) naming the holder, and the share's view count goes up: the holder can
see their link was used.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, Final

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as ReceivedFile

from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit
from onestory.passport import credentials, shares
from onestory.passport.issuer import Issuer, Trust, did_web_document_path
from onestory.passport.tables import PassportShare
from onestory.passport.verify import (
    DatabaseStatusLists,
    Verdict,
    trust_from_settings,
    verify,
)
from onestory.web.deps import SessionDep
from onestory.web.ratelimit import SlidingWindowLimiter
from onestory.web.templating import render

router = APIRouter()

MAX_INPUT_BYTES: Final = 1024 * 1024
API_CHECKS_PER_MINUTE: Final = 60
SHARE_VIEWED: Final = "passport.share.viewed"
DID_MEDIA_TYPE: Final = "application/did+json"
VC_LD_MEDIA_TYPE: Final = "application/vc+ld+json"
# Status lists change when a credential is revoked: a short cache keeps revocation prompt.
STATUS_CACHE: Final = "public, max-age=300"
TEXTAREA = "credential"
FILE_FIELD = "credential-file"
TOO_BIG = "The file must be smaller than 1 MB"

_limiter_lock = threading.Lock()


def _page(name: str) -> str:
    """A template of ours (the ``passport`` prefix serves ``templates/``; ours sit in
    ``passport/`` there)."""
    return f"passport/{name}"


def _issuer(request: Request) -> Issuer:
    issuer: Issuer = request.app.state.passport_issuer
    return issuer


def _base_url(request: Request) -> str:
    return str(request.app.state.settings.public_base_url)


def web_trust(request: Request) -> Trust:
    """This instance's issuer and the configured ones, read once per application."""
    trust: Trust | None = getattr(request.app.state, "passport_trust", None)
    if trust is None:
        trust = trust_from_settings(_issuer(request), request.app.state.settings)
        request.app.state.passport_trust = trust
    return trust


def check(request: Request, session: Session, given: str | bytes | dict[str, Any]) -> Verdict:
    """The verdict on ``given``, with this instance's trust and its own status lists."""
    lists = DatabaseStatusLists(session, _issuer(request), _base_url(request))
    return verify(given, trust=web_trust(request), status_lists=lists)


# --- what other verifiers fetch -------------------------------------------------------------------


def _did_document(request: Request) -> Response:
    return Response(
        json.dumps(_issuer(request).did_document(), indent=2),
        media_type=DID_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/.well-known/did.json", tags=["passport"], response_class=Response)
def did_document(request: Request) -> Response:
    """This instance's DID document (did:web): the public key its credentials are signed with."""
    return _did_document(request)


def _register_did_web_path() -> None:
    """Serve the DID document where did:web puts it for a base URL with a path too.

    The path depends on the configured base URL, which is known only per application, so one
    catch-all route answers ``/<segments>/did.json`` when it is this issuer's document path.
    """

    @router.get("/{path:path}/did.json", include_in_schema=False, response_class=Response)
    def did_document_at_path(request: Request, path: str) -> Response:
        issuer = _issuer(request)
        wanted = did_web_document_path(issuer.did) if issuer.did.startswith("did:web:") else None
        if wanted is None or wanted != f"/{path}/did.json":
            raise HTTPException(status_code=404)
        return _did_document(request)


@router.get(
    "/passport/status/{list_id}",
    tags=["passport"],
    response_class=Response,
    responses={404: {"description": "No such status list"}},
)
def status_list(request: Request, list_id: int, session: SessionDep) -> Response:
    """A Bitstring Status List credential: which of this instance's credentials are revoked."""
    document = credentials.status_list_document(
        session, _issuer(request), list_id, base_url=_base_url(request)
    )
    if document is None:
        raise HTTPException(status_code=404)
    return Response(
        json.dumps(document), media_type=VC_LD_MEDIA_TYPE, headers={"Cache-Control": STATUS_CACHE}
    )


# --- the check page -------------------------------------------------------------------------------


def _errors(field: str, text: str) -> dict[str, Any]:
    return {field: text, "summary": [{"text": text, "href": f"#{field}"}]}


def _form_page(
    request: Request, *, errors: dict[str, Any] | None = None, pasted: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        _page("verify.html"),
        {"errors": errors, "pasted": pasted},
        status_code=status,
    )


def _result_page(
    request: Request, verdict: Verdict, *, share_json: str | None = None
) -> HTMLResponse:
    return render(
        request,
        _page("verify_result.html"),
        {"verdict": verdict, "share_json": share_json},
    )


@router.get("/passport/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request) -> HTMLResponse:
    """Check a qualification: paste it or choose its file."""
    return _form_page(request)


@router.post("/passport/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_submitted(
    request: Request,
    session: SessionDep,
    pasted: Annotated[str, Form(alias=TEXTAREA)] = "",
    upload: Annotated[UploadFile | str | None, File(alias=FILE_FIELD)] = None,
) -> HTMLResponse:
    """The plain answer for what was pasted or uploaded, or the form again saying what is wrong."""
    # The same allowance as the API: a check costs real work, and anyone may ask.
    limiter = _api_limiter(request)
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(address)
    if wait is not None:
        text = f"You have checked a lot of credentials: try again in {int(wait) + 1} seconds"
        page = _form_page(request, errors=_errors(TEXTAREA, text), pasted=pasted, status=429)
        page.headers["Retry-After"] = str(int(wait) + 1)
        return page
    limiter.record(address)
    # Starlette's class: what the form parser hands over, whichever subclass is declared.
    has_file = isinstance(upload, ReceivedFile) and bool(upload.filename)
    if pasted.strip() and has_file:
        return _form_page(
            request,
            errors=_errors(TEXTAREA, "Paste a credential or choose a file, not both"),
            pasted=pasted,
            status=400,
        )
    field = FILE_FIELD if has_file else TEXTAREA
    given: str | bytes
    if isinstance(upload, ReceivedFile) and has_file:
        given = upload.file.read(MAX_INPUT_BYTES + 1)
        if len(given) > MAX_INPUT_BYTES:
            return _form_page(request, errors=_errors(FILE_FIELD, TOO_BIG), status=400)
        if not given.strip():
            return _form_page(
                request, errors=_errors(FILE_FIELD, "The selected file is empty"), status=400
            )
    elif pasted.strip():
        if len(pasted.encode("utf-8")) > MAX_INPUT_BYTES:
            text = "What you paste must be smaller than 1 MB; save it as a file and choose it"
            return _form_page(request, errors=_errors(TEXTAREA, text), status=400)
        given = pasted
    else:
        return _form_page(
            request, errors=_errors(TEXTAREA, "Paste a credential or choose a file"), status=400
        )
    verdict = check(request, session, given)
    if verdict.kind == "unknown":
        return _form_page(
            request,
            errors=_errors(field, verdict.checks[0].detail),
            pasted=pasted,
            status=400,
        )
    return _result_page(request, verdict)


# --- a holder's share link ------------------------------------------------------------------------


def _live_share(session: Session, token: str) -> PassportShare:
    share = shares.live_share(session, token)
    if share is None:
        raise HTTPException(status_code=404)
    return share


def _viewed(session: Session, share: PassportShare, *, form: str, outcome: str | None) -> None:
    """Count the view and ledger it, so the holder sees their link was used (caller commits)."""
    share.views += 1
    payload: dict[str, Any] = {
        "share": share.id,
        "purpose": share.purpose,
        "credentials": list(share.credential_ids),
        "form": form,
    }
    if outcome is not None:
        payload["outcome"] = outcome
    append_at_commit(
        session,
        entry_type=SHARE_VIEWED,
        actor=f"share:{share.id}",
        purpose="rehabilitation",
        subjects=[Subject("passport_holder", share.holder_id)],
        payload=payload,
    )


def _gone(request: Request) -> HTMLResponse:
    return render(request, _page("shared_gone.html"), status_code=404)


@router.get("/passport/s/{token}.json", response_model=None, include_in_schema=False)
def shared_json(request: Request, token: str, session: SessionDep) -> Response:
    """The shared presentation as a file, for the verifier's own records or tools."""
    share = shares.live_share(session, token)
    if share is None:
        return _gone(request)
    document = shares.presentation(shares.shared_credentials(session, share))
    _viewed(session, share, form="json", outcome=None)
    session.commit()
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="presentation.json"'},
    )


@router.get("/passport/s/{token}", response_class=HTMLResponse, include_in_schema=False)
def shared(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """What a holder chose to show, checked as anyone would check it."""
    share = shares.live_share(session, token)
    if share is None:
        return _gone(request)
    document = shares.presentation(shares.shared_credentials(session, share))
    verdict = check(request, session, document)
    _viewed(session, share, form="page", outcome=verdict.outcome)
    session.commit()
    return _result_page(request, verdict, share_json=f"/passport/s/{token}.json")


# --- the API --------------------------------------------------------------------------------------


def _api_limiter(request: Request) -> SlidingWindowLimiter:
    """Checks per client address: verification is costly, so one client cannot hog it."""
    with _limiter_lock:
        limiter: SlidingWindowLimiter | None = getattr(
            request.app.state, "passport_verify_limiter", None
        )
        if limiter is None:
            limiter = SlidingWindowLimiter(limit=API_CHECKS_PER_MINUTE, window=60)
            request.app.state.passport_verify_limiter = limiter
        return limiter


def _api_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _api_input(body: bytes, media_type: str) -> str | bytes | dict[str, Any] | JSONResponse:
    """What to verify from the request body: a credential or presentation, or a JWT."""
    if media_type.startswith("text/") or media_type.endswith("jwt"):
        return body
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _api_error(400, "not_json", f"the body is not JSON ({exc})")
    if isinstance(value, dict) and set(value) == {"jwt"}:
        if not isinstance(value["jwt"], str):
            return _api_error(400, "not_a_jwt", "'jwt' must be a string: a compact JWT")
        return str(value["jwt"])
    if not isinstance(value, dict):
        return _api_error(400, "not_an_object", "the body must be a JSON object")
    return value


VERDICT_EXAMPLE: Final = {
    "outcome": "valid",
    "headline": "This qualification is genuine and has not been revoked",
    "kind": "credential",
    "checks": [{"name": "Format recognised", "passed": True, "detail": "..."}],
    "credentials": [{"outcome": "valid", "achievement": "Level 1 Award in ..."}],
}


@router.post(
    "/api/passport/verify",
    tags=["passport"],
    summary="Check a credential, presentation or JWT",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": 'A credential or presentation (JSON), `{"jwt": "..."}`, or a '
            "compact vc+jwt / vp+jwt as text/plain. At most 1 MB.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "200": {
                "description": "The verdict: `outcome` is one of valid, unchecked, "
                "not_yet_valid, expired, revoked, malformed, unknown_issuer, tampered",
                "content": {"application/json": {"example": VERDICT_EXAMPLE}},
            },
            "400": {"description": "The body is not JSON or not an object"},
            "413": {"description": "The body is larger than 1 MB"},
            "429": {"description": "Too many checks from this address; see Retry-After"},
        },
    },
)
async def verify_api(request: Request) -> JSONResponse:
    """The same verdict as the check page, as JSON. No sign-in needed; a JWT may be sent as
    text/plain or as ``{"jwt": "..."}``."""
    limiter = _api_limiter(request)
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(address)
    if wait is not None:
        return _api_error(
            429,
            "too_many_checks",
            f"too many checks from this address; try again in {int(wait) + 1} seconds",
            **{"Retry-After": str(int(wait) + 1)},
        )
    limiter.record(address)
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_INPUT_BYTES:
        return _api_error(413, "too_large", "the body must be at most 1 MB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_INPUT_BYTES:
            return _api_error(413, "too_large", "the body must be at most 1 MB")
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    given = _api_input(body, media_type)
    if isinstance(given, JSONResponse):
        return given

    def run() -> Verdict:
        with request.app.state.sessions() as session:
            return check(request, session, given)

    verdict = await run_in_threadpool(run)
    return JSONResponse(verdict.as_json())


# Last, so the fixed routes above are matched first.
_register_did_web_path()
