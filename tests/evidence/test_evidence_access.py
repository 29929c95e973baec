"""Access to evidence after a grant expires or is revoked is refused, and the attempt is in the
ledger; a live grant works; an officer of another force without a grant is refused.

Each refusal is checked twice: through the item page (404, as for an item that does not exist)
and through ``service.open_item`` (``Refused``); both leave an ``evidence.custody.access_refused``
entry naming the item, with the reason in its payload. The clock is moved by setting the grant's
``expires_at`` in the past, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from evidence_helpers import People, add_item_bytes, sign_in
from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import select

from onestory.evidence import service
from onestory.evidence.blobs import BlobStore
from onestory.evidence.tables import EvidenceGrant, EvidenceItem
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.tables import UserAccount
from onestory.store.base import utcnow

REFUSED = "evidence.custody.access_refused"


def _grant(app: FastAPI, people: People, item_id: str, grantee_id: int) -> int:
    with app.state.sessions() as session:
        item = session.get_one(EvidenceItem, item_id)
        grant = service.grant_access(
            session,
            policies=app.state.policies,
            actor=people.officer.actor,
            case_urn=item.case_urn,
            item=item,
            grantee=session.get_one(UserAccount, grantee_id),
            expires_at=utcnow() + timedelta(days=30),
        )
        session.commit()
        return grant.id


def _refusals(app: FastAPI, item_id: str) -> list[dict[str, object]]:
    """The payloads of the item's access_refused ledger entries, oldest first."""
    with app.state.sessions() as session:
        rows = session.execute(
            select(LedgerEntry, LedgerPayload)
            .join(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
            .where(LedgerEntry.entry_type == REFUSED)
            .order_by(LedgerEntry.seq)
        ).all()
        found = []
        for entry, payload in rows:
            if {"kind": "evidence", "id": item_id} in entry.subjects:
                found.append(dict(payload.payload) | {"actor": entry.actor})
        return found


def _open(app: FastAPI, people: People, item_id: str, who: str) -> None:
    """Open the item's content as ``who`` through the service (commits the refusal)."""
    person = getattr(people, who)
    with app.state.sessions() as session:
        item = session.get_one(EvidenceItem, item_id)
        try:
            service.open_item(session, policies=app.state.policies, actor=person.actor, item=item)
        finally:
            session.commit()


@pytest.fixture
def shared(
    evidence_app: FastAPI, evidence_people: People, evidence_store: BlobStore
) -> tuple[str, int]:
    """An item held by POL01 and a live grant on it to the CPS prosecutor."""
    item_id = add_item_bytes(
        evidence_app,
        evidence_store,
        evidence_people.officer.actor,
        b"\x89PNG not really, but bytes all the same",
        media_type="image/png",
        filename="scene.png",
    )
    return item_id, _grant(evidence_app, evidence_people, item_id, evidence_people.prosecutor.id)


def test_a_live_grant_opens_the_item_page_and_its_content(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    shared: tuple[str, int],
) -> None:
    item_id, _ = shared
    sign_in(evidence_client, evidence_people.prosecutor.email)
    page = evidence_client.get(f"/evidence/items/{item_id}")
    assert page.status_code == 200
    assert "Exhibit SJ/1" in page.text
    content = evidence_client.get(f"/evidence/items/{item_id}/download")
    assert content.status_code == 200
    assert content.content == b"\x89PNG not really, but bytes all the same"
    assert _refusals(evidence_app, item_id) == []


def test_access_after_revocation_is_refused_and_ledgered(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    shared: tuple[str, int],
) -> None:
    item_id, grant_id = shared
    with evidence_app.state.sessions() as session:
        grant = session.get_one(EvidenceGrant, grant_id)
        service.revoke_grant(
            session,
            policies=evidence_app.state.policies,
            actor=evidence_people.officer.actor,
            grant=grant,
        )
        session.commit()
    sign_in(evidence_client, evidence_people.prosecutor.email)
    assert evidence_client.get(f"/evidence/items/{item_id}").status_code == 404
    assert evidence_client.get(f"/evidence/items/{item_id}/download").status_code == 404
    with pytest.raises(service.Refused, match="revoked"):
        _open(evidence_app, evidence_people, item_id, "prosecutor")
    refusals = _refusals(evidence_app, item_id)
    assert len(refusals) == 3, refusals  # the page, the download, the service
    actor = f"user:{evidence_people.prosecutor.id}"
    for refusal in refusals:
        assert refusal["item"] == item_id
        assert refusal["actor"] == actor
        assert "access was revoked on" in str(refusal["reason"])
    assert [r["attempted"] for r in refusals] == ["read", "downloaded", "viewed"]


def test_access_after_expiry_is_refused_and_ledgered(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    shared: tuple[str, int],
) -> None:
    item_id, grant_id = shared
    sign_in(evidence_client, evidence_people.prosecutor.email)
    assert evidence_client.get(f"/evidence/items/{item_id}").status_code == 200
    with evidence_app.state.sessions() as session:
        grant = session.get_one(EvidenceGrant, grant_id)
        grant.expires_at = utcnow() - timedelta(minutes=1)  # the clock moves past the end
        session.commit()
    assert evidence_client.get(f"/evidence/items/{item_id}").status_code == 404
    assert evidence_client.get(f"/evidence/items/{item_id}/content").status_code == 404
    with pytest.raises(service.Refused, match="expired"):
        _open(evidence_app, evidence_people, item_id, "prosecutor")
    refusals = _refusals(evidence_app, item_id)
    assert [r["attempted"] for r in refusals] == ["read", "viewed", "viewed"]
    assert all("access expired on" in str(r["reason"]) for r in refusals), refusals
    # The case no longer lists it for the prosecutor either.
    home = evidence_client.get("/evidence")
    assert "/evidence/cases/01AB1234526" not in home.text


def test_an_officer_of_another_force_without_a_grant_is_refused(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    shared: tuple[str, int],
) -> None:
    item_id, _ = shared
    sign_in(evidence_client, evidence_people.other_force.email)
    assert evidence_client.get(f"/evidence/items/{item_id}").status_code == 404
    assert evidence_client.get(f"/evidence/items/{item_id}/download").status_code == 404
    # Their case page lists nothing of POL01's (they may still add their own items).
    case = evidence_client.get("/evidence/cases/01AB1234526")
    assert case.status_code == 200
    assert "SJ/1" not in case.text
    with pytest.raises(service.Refused, match="no grant"):
        _open(evidence_app, evidence_people, item_id, "other_force")
    refusals = _refusals(evidence_app, item_id)
    assert len(refusals) == 3
    assert {r["actor"] for r in refusals} == {f"user:{evidence_people.other_force.id}"}
    assert all(r["reason"] == "no grant gives this user access to this item" for r in refusals)


def test_a_grant_to_one_item_does_not_open_another_of_the_case(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    evidence_store: BlobStore,
    shared: tuple[str, int],
) -> None:
    other = add_item_bytes(
        evidence_app, evidence_store, evidence_people.officer.actor, b"second", exhibit="SJ/2"
    )
    sign_in(evidence_client, evidence_people.prosecutor.email)
    case = evidence_client.get("/evidence/cases/01AB1234526")
    assert "SJ/1" in case.text and "SJ/2" not in case.text
    assert evidence_client.get(f"/evidence/items/{other}").status_code == 404
    assert len(_refusals(evidence_app, other)) == 1
