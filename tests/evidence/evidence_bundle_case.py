"""A small case for the bundle tests: a police force holding three exhibits, one shared with a
prosecutor, accounts for them and for a prosecutor with no grant, bundling as the operator, and
the officer viewing or disposing of an item."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from onestory.evidence import service
from onestory.evidence.blobs import stage, store_for
from onestory.evidence.bundle import Bundle, bundles_dir, make_bundle
from onestory.ledger.checkpoints import load_or_create_signer
from onestory.sharing.accounts import account_actor
from onestory.sharing.passwords import hash_password
from onestory.sharing.policy import PolicySet, load_policies
from onestory.sharing.tables import Organisation, UserAccount
from onestory.store.base import utcnow

PASSWORD = "correct horse battery staple"
ORIGIN = "onestory.test/ledger"
CASE = "61GD7528225/2"
OFFICER = "officer@pol01.test"
PROSECUTOR = "prosecutor@cps-ln.test"
STRANGER = "prosecutor@cps-nw.test"
ORGANISATIONS = (
    ("POL01", "Metropolitan Police Service", "police"),
    ("CPS-LN", "CPS London North", "cps"),
    ("CPS-NW", "CPS North West", "cps"),
)
ACCOUNTS = (
    (OFFICER, "police_officer", "POL01"),
    (PROSECUTOR, "cps_prosecutor", "CPS-LN"),
    (STRANGER, "cps_prosecutor", "CPS-NW"),
)
# (exhibit, file name, media type, bytes): the second is what the prosecutor is given.
EXHIBITS = (
    ("JS/1", "doorbell camera.mp4", "video/mp4", b"\x00\x01video" * 40_000),
    ("JS/2", "../photo of the scene.jpg", "image/jpeg", b"\xff\xd8jpeg" * 3_000),
    ("JS/3", "statement.pdf", "application/pdf", b"%PDF-1.7 statement\n" * 500),
)
SHARED = "JS/2"


@dataclass
class Case:
    """The ids of what ``build_case`` made."""

    items: dict[str, str]
    users: dict[str, int]


def policies() -> PolicySet:
    return load_policies(Path(__file__).resolve().parents[2] / "policies")


def build_case(
    sessions: sessionmaker[Session], data_dir: Path, policy_set: PolicySet, case: str = CASE
) -> Case:
    """Organisations, accounts, three items added by the officer, and the prosecutor's grant."""
    store = store_for(data_dir)
    with sessions() as session:
        organisations = {}
        for code, name, kind in ORGANISATIONS:
            organisations[code] = Organisation(code=code, name=name, kind=kind)
            session.add(organisations[code])
        users = {}
        for email, role, code in ACCOUNTS:
            users[email] = UserAccount(
                email=email,
                display_name=email.split("@")[0],
                role=role,
                organisation=organisations[code],
                password_hash=hash_password(PASSWORD),
            )
            session.add(users[email])
        session.flush()
        officer = account_actor(users[OFFICER])
        items = {}
        for exhibit, filename, media_type, data in EXHIBITS:
            details = service.ItemDetails(
                case_urn=case,
                exhibit_reference=exhibit,
                description=f"Exhibit {exhibit}",
                seized_by="PC 123 Morgan",
                seized_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
                seized_from="12 High Street",
                device="Doorbell camera",
                method="Download by the owner",
                media_type=media_type,
                filename=filename,
            )
            item = service.add_item(
                session,
                policies=policy_set,
                store=store,
                actor=officer,
                staged=stage(store, io.BytesIO(data)),
                details=details,
            )
            items[exhibit] = item.id
        session.commit()
        shared = session.get_one(service.EvidenceItem, items[SHARED])
        service.grant_access(
            session,
            policies=policy_set,
            actor=officer,
            case_urn=case,
            item=shared,
            grantee=users[PROSECUTOR],
            expires_at=utcnow() + timedelta(days=30),
        )
        session.commit()
        return Case(items, {email: user.id for email, user in users.items()})


def operator_bundle(
    sessions: sessionmaker[Session],
    data_dir: Path,
    case: str = CASE,
    origin: str = ORIGIN,
    progress: Callable[[int], None] | None = None,
) -> Bundle:
    """Bundle every item of the case, as ``onestory evidence bundle`` does."""
    signer = load_or_create_signer(data_dir, origin)
    with sessions() as session:
        return make_bundle(
            session,
            sessions=sessions,
            store=store_for(data_dir),
            signer=signer,
            items=service.items_of_case(session, case),
            case_urn=case,
            actor="cli:test",
            actor_org=None,
            purpose=service.DISCLOSURE_PURPOSE,
            work_dir=bundles_dir(data_dir),
            progress=progress,
        )


def officer_views(sessions: sessionmaker[Session], case: Case, exhibit: str) -> None:
    """The officer opens an item (a ``viewed`` custody entry)."""
    with sessions() as session:
        officer = account_actor(session.get_one(UserAccount, case.users[OFFICER]))
        item = session.get_one(service.EvidenceItem, case.items[exhibit])
        service.open_item(session, policies=policies(), actor=officer, item=item)
        session.commit()


def officer_disposes(
    sessions: sessionmaker[Session], data_dir: Path, case: Case, item_id: str
) -> None:
    """The officer disposes of an item, its retention having ended (set directly: the service
    refuses a retention date in the past)."""
    with sessions() as session:
        officer = account_actor(session.get_one(UserAccount, case.users[OFFICER]))
        item = session.get_one(service.EvidenceItem, item_id)
        item.retain_until = utcnow() - timedelta(minutes=1)
        released = service.dispose_by(
            session, policies=policies(), actor=officer, item=item, reason="end of retention"
        )
        session.commit()
        if released is not None:
            service.release_content(session, store_for(data_dir), released)


def verifier_key(data_dir: Path, origin: str = ORIGIN) -> str:
    return load_or_create_signer(data_dir, origin).verifier_key()
