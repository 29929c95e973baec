"""Building blocks the evidence tests share: the people of one prosecution (a police officer, an
officer of another force, a CPS prosecutor, a defence lawyer, a court officer), an item added
from bytes through ``service.add_item``, and signing in through the real form.

A module of its own (not ``conftest``) so test modules can import it by a name unique in the
repository; ``conftest.py`` wraps it in fixtures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from

from onestory.domain.identifiers import CaseURN
from onestory.evidence import service
from onestory.evidence.blobs import BlobStore, stage
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import Actor
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount

PASSWORD = "correct horse battery staple"
CASE_URN = "01AB1234526"
ORGANISATIONS = (
    ("POL01", "Metropolitan Police Service", "police", "01"),
    ("POL04", "Lancashire Constabulary", "police", "04"),
    ("CPS-LN", "CPS London North", "cps", None),
    ("DEF1", "Able and Baker Solicitors", "defence", None),
    ("STRAMC", "Stratford Magistrates' Court", "court", None),
)


@dataclass(frozen=True)
class Person:
    """A member of staff: their account id, email, name and the actor they act as."""

    id: int
    email: str
    name: str
    actor: Actor


@dataclass(frozen=True)
class People:
    """Everyone in the evidence tests' one prosecution."""

    officer: Person  # POL01, holds the evidence
    other_force: Person  # POL04, no grant
    prosecutor: Person  # CPS-LN
    defence: Person  # DEF1, a defence lawyer
    court: Person  # STRAMC


def add_people(app: FastAPI) -> People:
    """The organisations and one account each, committed."""
    made: dict[str, Person] = {}
    with app.state.sessions() as session:
        orgs = {}
        for code, name, kind, area in ORGANISATIONS:
            orgs[code] = Organisation(code=code, name=name, kind=kind, police_area=area)
            session.add(orgs[code])
        accounts = {
            "officer": ("pc.jones@pol01.test", "PC Sam Jones", "police_officer", "POL01"),
            "other_force": ("pc.hill@pol04.test", "PC Ali Hill", "police_officer", "POL04"),
            "prosecutor": ("lawyer@cps.test", "Priya Shah", "cps_prosecutor", "CPS-LN"),
            "defence": ("solicitor@ableandbaker.test", "Dan Able", "defence_lawyer", "DEF1"),
            "court": ("clerk@stratford.test", "Chris Clerk", "court_officer", "STRAMC"),
        }
        users = {}
        for key, (email, name, role, org) in accounts.items():
            users[key] = UserAccount(
                email=email,
                display_name=name,
                role=role,
                organisation=orgs[org],
                password_hash=hash_password(PASSWORD),
            )
            session.add(users[key])
        session.commit()
        for key, user in users.items():
            made[key] = Person(user.id, user.email, user.display_name, account_actor(user))
    return People(**made)


def add_item_bytes(
    app: FastAPI,
    store: BlobStore,
    actor: Actor,
    data: bytes,
    *,
    exhibit: str = "SJ/1",
    case_urn: str = CASE_URN,
    media_type: str = "application/octet-stream",
    filename: str = "evidence.bin",
    seized_at: datetime | None = None,
    retention_schedule: str = "standard",
) -> str:
    """Add an item from ``data`` through ``service.add_item`` (committed); its id."""
    with app.state.sessions() as session:
        item = service.add_item(
            session,
            policies=app.state.policies,
            store=store,
            actor=actor,
            staged=stage(store, io.BytesIO(data)),
            details=service.ItemDetails(
                case_urn=CaseURN(case_urn),
                exhibit_reference=exhibit,
                description=f"Exhibit {exhibit} for the tests",
                seized_by="PC Sam Jones",
                seized_at=seized_at or datetime(2026, 11, 1, 10, 30, tzinfo=UTC),
                seized_from="10 High Street",
                device="Test phone",
                method="Copied for the tests",
                media_type=media_type,
                filename=filename,
                retention_schedule=retention_schedule,
            ),
            via="test",
        )
        session.commit()
        return item.id


def sign_in(client: PageCheckingClient, email: str) -> None:
    """Sign in through the real form."""
    token = csrf_token_from(client.get("/sign-in"))
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200, f"signing in as {email} failed: {response.text[:500]}"
