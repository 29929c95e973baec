"""``onestory demo``: a synthetic world taken in through the real exchange, linked, with sign-ins.

Each agency's extract goes through the same bulk ingest an agency's file would (mapping,
quarantine, ledger), and so do the common-model events; re-running reuses what exists: the
world is generated once per data directory, a file already taken is recognised by its hash and
skipped, and the demo accounts (with their passwords, kept in the data directory and readable
only by its owner) are created once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.exchange.ingest import EVENTS, FileSummary, Sessions, ingest_file
from onestory.exchange.mapping import load_layouts
from onestory.sharing.accounts import create_account
from onestory.sharing.tables import Organisation, UserAccount

DEMO_SIGN_INS_FILE = "demo-sign-ins.json"

# One sign-in per kind of user, each in the first organisation of its kind.
DEMO_ROLES: tuple[tuple[str, str, str, str | None], ...] = (
    # (role, label, the email's local part, kind of organisation)
    ("police_officer", "Police officer", "police", "police"),
    ("cps_prosecutor", "CPS prosecutor", "cps", "cps"),
    ("court_officer", "Court officer", "court", "court"),
    ("witness_care_officer", "Witness Care officer", "witness-care", "witness_care"),
    ("prison_officer", "Prison officer", "prison", "prison"),
    ("probation_officer", "Probation officer", "probation", "probation"),
    ("victim_support_worker", "Victim support worker", "victim-support", "victim_support"),
    ("education_provider", "Education provider", "education", "education"),
    ("defence_lawyer", "Defence lawyer", "defence", "defence"),
    ("analyst", "Analyst", "analyst", None),
    ("victim", "Victim (member of the public)", "victim", None),
    ("learner", "Learner (skills passport)", "learner", None),
    ("administrator", "Administrator", "admin", None),
)


@dataclass(frozen=True)
class DemoSignIn:
    """A demo account's role, organisation, email and password."""

    role: str
    label: str
    organisation: str | None
    email: str
    password: str


def ensure_demo_accounts(session: Session, data_dir: Path) -> list[DemoSignIn]:
    """Create the demo accounts that are missing, and return every demo sign-in."""
    store = data_dir / DEMO_SIGN_INS_FILE
    known: dict[str, dict[str, str | None]] = {}
    if store.exists():
        known = {row["email"]: row for row in json.loads(store.read_text(encoding="utf-8"))}
    sign_ins: list[DemoSignIn] = []
    for role, label, local_part, kind in DEMO_ROLES:
        email = f"{local_part}@demo.onestory.test"
        organisation = None
        if kind is not None:
            organisation = session.scalar(
                select(Organisation.code)
                .where(Organisation.kind == kind)
                .order_by(Organisation.code)
                .limit(1)
            )
        account = session.scalar(select(UserAccount).where(UserAccount.email == email))
        row = known.get(email)
        if account is None or row is None or not row.get("password"):
            if account is not None:
                # The password was lost with the sign-ins file; start the account afresh.
                session.delete(account)
                session.flush()
            password = secrets.token_urlsafe(12)
            create_account(
                session,
                email=email,
                display_name=label,
                role=role,
                password=password,
                organisation_code=organisation,
            )
        else:
            password = str(row["password"])
        sign_ins.append(DemoSignIn(role, label, organisation, email, password))
    session.commit()
    store.write_text(json.dumps([s.__dict__ for s in sign_ins], indent=2) + "\n", encoding="utf-8")
    store.chmod(0o600)
    return sign_ins


EVENTS_FILE = "events.jsonl"


def ingest_world(
    sessions: Sessions, world: Path, *, actor: str, bar: Callable[[], Progress]
) -> list[FileSummary]:
    """Take every agency extract in ``world``, then its events, through the bulk ingest.

    Extracts go first so that the records are there when the events that refer to them arrive;
    each file shows a progress bar made by ``bar``.
    """
    files: list[tuple[str, str | None, Path]] = [
        (layout.agency_kind, layout.name, world / layout.file_name)
        for layout in load_layouts().values()
        if (world / layout.file_name).exists()
    ]
    files.append((EVENTS, None, world / EVENTS_FILE))
    summaries = []
    for agency, layout, path in files:
        with bar() as progress:
            task = progress.add_task(f"Ingesting {path.name}", total=path.stat().st_size)
            summaries.append(
                ingest_file(
                    sessions,
                    agency,
                    path,
                    actor=actor,
                    layout=layout,
                    progress=partial(progress.advance, task),
                )
            )
    return summaries
