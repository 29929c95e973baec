"""The pages about OneStory itself: the start page, one page per capability, and the
accessibility statement and privacy notice."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.exchange.tables import StoredEvent
from onestory.ledger.checkpoints import latest_checkpoint
from onestory.ledger.log import tree_size
from onestory.sharing.tables import Organisation, UserAccount
from onestory.web.deps import SessionDep
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Capability:
    """One thing OneStory does, as the start page lists it."""

    slug: str
    title: str
    summary: str


CAPABILITIES = (
    Capability(
        "tell-us-once",
        "Tell us once",
        "Victims tell their story once, choose who sees it and follow their case.",
    ),
    Capability(
        "exchange-and-linkage",
        "Exchange and linkage",
        "Agencies share records in one format and recognise the same person across systems.",
    ),
    Capability(
        "evidence",
        "Digital evidence",
        "Evidence is stored and shared with a record of who handled it that anyone can check.",
    ),
    Capability(
        "skills-passport",
        "Skills passport",
        "People in prison and on probation keep a record of their learning that employers "
        "can check.",
    ),
    Capability(
        "insights",
        "Insights",
        "Open statistics show whether each part of the justice system is working.",
    ),
    Capability(
        "trust-and-the-ledger",
        "Trust and the ledger",
        "Every look at a person's record is logged, and the person can see who looked.",
    ),
)
CAPABILITIES_BY_SLUG = {capability.slug: capability for capability in CAPABILITIES}


@dataclass(frozen=True)
class Holdings:
    """How much this copy of OneStory holds."""

    organisations: int
    accounts: int
    events: int
    ledger_entries: int
    ledger_signed: int | None


def count_holdings(session: Session) -> Holdings:
    """Count the organisations, accounts and events in the database."""

    def count(table: type[Organisation] | type[UserAccount] | type[StoredEvent]) -> int:
        return session.scalar(select(func.count()).select_from(table)) or 0

    return Holdings(
        organisations=count(Organisation),
        accounts=count(UserAccount),
        events=count(StoredEvent),
        ledger_entries=tree_size(session),
        ledger_signed=latest.size if (latest := latest_checkpoint(session)) else None,
    )


@router.get("/", response_class=HTMLResponse)
def start(request: Request, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "start.html",
        {"capabilities": CAPABILITIES, "holdings": count_holdings(session)},
    )


@router.get("/capabilities/{slug}", response_class=HTMLResponse)
def capability(request: Request, slug: str) -> HTMLResponse:
    found = CAPABILITIES_BY_SLUG.get(slug)
    if found is None:
        raise HTTPException(status_code=404)
    return render(request, f"capabilities/{found.slug}.html", {"capability": found})


@router.get("/accessibility", response_class=HTMLResponse)
def accessibility(request: Request) -> HTMLResponse:
    return render(request, "accessibility.html")


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request) -> HTMLResponse:
    return render(request, "privacy.html")
