"""The application factory: the one place that builds the FastAPI app and mounts every router.

Contexts provide routers and pages; they never import this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from onestory import __version__
from onestory.config import ConfigurationError, Settings, get_settings
from onestory.evidence import api as evidence_api
from onestory.evidence import bundle_api as evidence_bundle_api
from onestory.evidence import uploads as evidence_uploads
from onestory.evidence import web as evidence_web
from onestory.exchange import api as exchange_api
from onestory.exchange import ingest_web as exchange_ingest_web
from onestory.exchange import records_api as exchange_records_api
from onestory.exchange import webhooks as exchange_webhooks
from onestory.exchange import webhooks_api as exchange_webhooks_api
from onestory.insights import web as insights_web
from onestory.ledger import api as ledger_api
from onestory.ledger.checkpoints import load_or_create_signer
from onestory.ledger.schedule import cut_checkpoints_every
from onestory.linkage import web as linkage_web
from onestory.notify import worker as notify_worker
from onestory.notify.channels import channel_from_settings
from onestory.passport import verify_web as passport_verify_web
from onestory.passport import web as passport_web
from onestory.passport.issuer import IssuerError, load_issuer
from onestory.passport.schedule import issue_every
from onestory.passport.verify import trust_from_settings
from onestory.sharing.policy import load_policies
from onestory.store import create_engine_for, session_factory
from onestory.subscribers import connect_event_subscribers
from onestory.victims import agency_web as victims_agency_web
from onestory.victims import api as victims_api
from onestory.victims import complaints_web as victims_complaints_web
from onestory.victims import court_web as victims_court_web
from onestory.victims import timeline as victims_timeline
from onestory.victims import web as victims_web
from onestory.web import (
    account,
    admin,
    api_auth,
    api_docs,
    auth,
    email_link,
    errors,
    health,
    oidc,
    pages,
)
from onestory.web.bodylimit import BodyLimitMiddleware
from onestory.web.csrf import CsrfError, verify_csrf
from onestory.web.identity import SignInRequired
from onestory.web.security import SecurityHeadersMiddleware
from onestory.web.templating import add_template_package, templating_prefixes

STATIC_DIR = Path(__file__).parent / "static"
GOVUK_DIR = STATIC_DIR / "govuk"
GOVUK_FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
SESSION_COOKIE = "onestory_session"
SESSION_MAX_AGE_SECONDS = 8 * 60 * 60


def check_govuk_assets(directory: Path = GOVUK_DIR) -> None:
    """Refuse to start without GOV.UK Frontend's built files, saying how to get them."""
    missing = [
        str(path)
        for path in [directory / "assets", *(directory / name for name in GOVUK_FILES)]
        if not path.exists()
    ]
    if missing:
        raise ConfigurationError(
            "GOV.UK Frontend's built assets are missing (" + ", ".join(missing) + "). "
            "Run `make demo` or `make test` from the repository root: they fetch them with npm "
            "into src/onestory/web/static/govuk/."
        )


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the OneStory web application.

    Without ``engine``, one is made from ``settings.effective_database_url`` and disposed of
    when the application shuts down; a given engine stays the caller's.
    """
    settings = settings or get_settings()
    check_govuk_assets()
    owns_engine = engine is None
    if engine is None:
        if not settings.database_url:
            settings.ensure_data_dir()
        engine = create_engine_for(settings.effective_database_url)
    secret_key = settings.resolve_secret_key()
    # A broken agreement stops start-up here, naming the file and line (deny by default means
    # there is no safe way to run with some agreements unreadable).
    policies = load_policies(settings.policies_dir)
    # Read (or create) the ledger key once: the checkpoint schedule signs with it and the API
    # publishes its verifier key, without touching the key file on every request.
    signer = load_or_create_signer(settings.ensure_data_dir(), settings.ledger_origin)
    production = settings.env == "production"
    # Victims' Code rules and the message channel are checked now, like the policies: a broken
    # rule file or a channel missing its settings stops start-up rather than the first event.
    connect_event_subscribers(policies)
    channel = channel_from_settings(settings)
    # A delivered message meets the duty it was sent for.
    notify_worker.register_delivery_hook(victims_timeline.on_delivered)
    # The passport's issuing key, read (or created) once, like the ledger's.
    passport_issuer = load_issuer(settings.ensure_data_dir(), settings.public_base_url)
    # Other issuers the verifier accepts: an unreadable entry stops start-up, naming it.
    try:
        passport_trust = trust_from_settings(passport_issuer, settings)
    except IssuerError as exc:
        raise ConfigurationError(f"ONESTORY_PASSPORT_TRUSTED_ISSUERS: {exc}") from exc
    for prefix in ("victims", "exchange", "linkage", "evidence", "passport", "insights"):
        if prefix not in templating_prefixes():
            add_template_package(prefix, f"onestory.{prefix}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checkpoints = deliveries = webhook_deliveries = issuing = None
        if settings.passport_issue_interval:
            issuing = asyncio.create_task(
                issue_every(
                    settings.passport_issue_interval,
                    app.state.sessions,
                    passport_issuer,
                    settings.public_base_url,
                )
            )
        if settings.notify_interval:
            deliveries = asyncio.create_task(
                notify_worker.deliver_every(settings.notify_interval, app.state.sessions, channel)
            )
        if settings.webhook_interval:
            webhook_deliveries = asyncio.create_task(
                exchange_webhooks.deliver_every(
                    settings.webhook_interval, app.state.sessions, production=production
                )
            )
        if settings.ledger_checkpoint_interval:
            checkpoints = asyncio.create_task(
                cut_checkpoints_every(
                    settings.ledger_checkpoint_interval, app.state.sessions, signer
                )
            )
        yield
        for task in (checkpoints, deliveries, webhook_deliveries, issuing):
            if task is not None:
                task.cancel()
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="OneStory",
        version=__version__,
        summary="One record of a criminal case across the justice agencies of England and Wales.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # our own page at /api/docs: see web.api_docs
        redoc_url=None,
        dependencies=[Depends(verify_csrf)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.authenticator = auth.PasswordAuthenticator()
    app.state.policies = policies
    app.state.ledger_verifier_key = signer.verifier_key()
    app.state.passport_issuer = passport_issuer
    app.state.passport_trust = passport_trust

    # Every request body is capped as it arrives (the resumable uploads check their own length).
    app.add_middleware(
        BodyLimitMiddleware, limit=settings.max_upload_bytes, exempt=("/api/evidence/uploads",)
    )
    # Added last = runs first: the security headers wrap everything, sessions included.
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_SECONDS,
        same_site="lax",
        https_only=production,
    )
    app.add_middleware(SecurityHeadersMiddleware, production=production)

    app.add_exception_handler(CsrfError, errors.csrf_error)
    app.add_exception_handler(api_auth.ApiAuthError, api_auth.api_auth_error)
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_exception_handler(SignInRequired, errors.sign_in_required)
    app.add_exception_handler(Exception, errors.server_error)

    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(oidc.router)
    app.include_router(email_link.router)
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(api_docs.router)
    app.include_router(ledger_api.router)
    app.include_router(api_auth.router)
    app.include_router(exchange_api.router)
    app.include_router(victims_api.router)
    app.include_router(victims_web.router)
    app.include_router(victims_agency_web.router)
    app.include_router(victims_court_web.router)
    app.include_router(victims_complaints_web.router)
    app.include_router(exchange_ingest_web.router)
    app.include_router(exchange_records_api.router)
    app.include_router(exchange_webhooks_api.router)
    app.include_router(linkage_web.router)
    app.include_router(evidence_uploads.router)
    app.include_router(evidence_api.router)
    app.include_router(evidence_bundle_api.router)
    app.include_router(evidence_web.router)
    app.include_router(passport_verify_web.router)
    app.include_router(passport_web.router)
    app.include_router(insights_web.router)
    _mount_static(app)
    return app


def _mount_static(app: FastAPI) -> None:
    # The two GOV.UK Frontend bundles sit beside its assets folder in the npm package; serving
    # them under /assets too keeps one URL prefix, matching the paths compiled into the CSS.
    for name in GOVUK_FILES:
        app.add_api_route(
            f"/assets/{name}",
            _file_endpoint(GOVUK_DIR / name),
            methods=["GET", "HEAD"],
            include_in_schema=False,
        )
    app.mount("/assets/onestory", StaticFiles(directory=STATIC_DIR / "onestory"), name="onestory")
    app.mount("/assets", StaticFiles(directory=GOVUK_DIR / "assets"), name="assets")


def _file_endpoint(path: Path) -> Callable[[], Awaitable[FileResponse]]:
    async def serve() -> FileResponse:
        return FileResponse(path)

    return serve
