"""The holder's passport pages through the whole application, on SQLite and PostgreSQL.

A learner signs in through the real form, sees their own credentials, downloads each secured
form (the bytes verify with OneStory's own key), shares a chosen few behind a link that
``shares.live_share`` opens until it is withdrawn, prints a card, and changes whether new
credentials name their prison. Nobody else's credential opens, and staff cannot use these pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from passport_helpers import Learner, add_learner, add_organisations_and_staff
from sqlalchemy import Engine, select

from onestory.config import Settings
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.passport import credentials, dataintegrity, jose, shares
from onestory.passport.issuer import Trust
from onestory.passport.tables import PassportCredential, PassportHolder, PassportShare
from onestory.sharing.tables import UserAccount
from onestory.web.app import create_app

PASSWORD = "correct horse battery staple"
LEARNER_EMAIL = "jordan.reece@example.test"


@dataclass(frozen=True)
class World:
    """The application, its learner (with issued credentials) and a second holder."""

    app: FastAPI
    learner: Learner
    holder_id: str
    other_credential: str


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="e" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
        public_base_url="https://onestory.example.test",
    )
    app = create_app(settings, engine=engine)
    with app.state.sessions() as session:
        add_organisations_and_staff(session)
        learner = add_learner(session)
        add_learner(
            session,
            person_id="P0000000000000000002",
            forenames="Sam",
            surname="Other",
            prison_number="B2345CD",
            uln="8888888887",
            account_email=None,
        )
        session.commit()
        credentials.issue_pending(
            session, app.state.passport_issuer, actor="test", base_url=settings.public_base_url
        )
        holder = session.scalars(
            select(PassportHolder).where(PassportHolder.person_id == learner.person_id)
        ).one()
        account = session.scalars(
            select(UserAccount).where(UserAccount.email == LEARNER_EMAIL)
        ).one()
        holder.account_id = account.id
        other = session.scalars(
            select(PassportHolder).where(PassportHolder.person_id == "P0000000000000000002")
        ).one()
        other_credential = credentials.holder_credentials(session, other)[0].id
        session.commit()
        return World(app, learner, holder.id, other_credential)


@pytest.fixture
def client(world: World) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(world.app) as c:
        yield c


def sign_in(client: PageCheckingClient, email: str) -> None:
    token = csrf_token_from(client.get("/sign-in"))
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200, f"signing in as {email} failed: {response.text[:500]}"


def own_credentials(world: World) -> list[PassportCredential]:
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None
        found = credentials.holder_credentials(session, holder)
        session.expunge_all()
        return found


def decisions(world: World, action: str) -> list[dict[str, object]]:
    """The payloads of the ledgered sharing decisions for ``action``."""
    with world.app.state.sessions() as session:
        rows = session.scalars(
            select(LedgerPayload.payload)
            .join(LedgerEntry, LedgerEntry.seq == LedgerPayload.seq)
            .where(LedgerEntry.entry_type == "sharing.decision")
            .order_by(LedgerEntry.seq)
        )
        return [p for p in rows if p.get("action") == action]


def test_the_learner_sees_their_credentials_with_status(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, LEARNER_EMAIL)
    page = client.get("/passport")
    assert page.status_code == 200
    text = soup_of(page).get_text(" ", strip=True)
    assert "Your skills passport" in text
    for credential in own_credentials(world):
        assert credential.achievement in text
    assert "Level 2 Certificate in Barbering" not in text  # still in progress
    assert "Sam Other" not in text
    assert text.count("Valid") == 2
    # One ledgered read per credential shown, each allowed by the learner's own agreement.
    reads = decisions(world, "read")
    assert len(reads) == 2 and all(d["rule"] == "learner-own-passport" for d in reads)
    nav = soup_of(page).select(".govuk-service-navigation__link")
    assert "Your passport" in [a.get_text(strip=True) for a in nav]


@pytest.mark.parametrize("form", ["rdfc", "jcs", "jwt"])
def test_each_download_is_the_credential_as_signed_and_verifies(
    client: PageCheckingClient, world: World, form: str
) -> None:
    sign_in(client, LEARNER_EMAIL)
    credential = own_credentials(world)[0]
    page = client.get(f"/passport/credentials/{credential.id}")
    assert page.status_code == 200
    assert "does not name your prison" in page.text
    link = soup_of(page).select_one(f"#download-{form}")
    assert link is not None
    response = client.get(str(link["href"]))
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    trust = Trust.of([world.app.state.passport_issuer])
    if form == "jwt":
        assert response.headers["content-type"].startswith("application/vc+jwt")
        assert disposition.endswith('.jwt"')
        assert response.content == credential.jwt.encode()
        assert jose.verify_vc_jwt(response.text, resolve_key=trust.jose_resolver).ok
    else:
        assert response.headers["content-type"].startswith("application/ld+json")
        assert disposition.endswith('-jcs.json"' if form == "jcs" else '.json"')
        stored = credential.rdfc if form == "rdfc" else credential.jcs
        assert response.content == json.dumps(stored, indent=2, ensure_ascii=False).encode()
        document = json.loads(response.content)
        assert dataintegrity.verify(document, resolve_key=trust.resolve).ok
        suite = "eddsa-rdfc-2022" if form == "rdfc" else "eddsa-jcs-2022"
        assert document["proof"]["cryptosuite"] == suite
    exports = decisions(world, "export")
    assert [d["allowed"] for d in exports] == [True]


def test_another_holders_credential_is_not_found(client: PageCheckingClient, world: World) -> None:
    sign_in(client, LEARNER_EMAIL)
    assert client.get(f"/passport/credentials/{world.other_credential}").status_code == 404
    assert (
        client.get(f"/passport/credentials/{world.other_credential}/download/rdfc").status_code
        == 404
    )
    assert client.get("/passport/credentials/not-a-credential").status_code == 404
    mine = own_credentials(world)[0]
    assert client.get(f"/passport/credentials/{mine.id}/download/pdf").status_code == 404


@pytest.mark.parametrize("email", ["tutor@novus.test", "officer@leeds.test"])
def test_staff_cannot_use_the_holder_pages(
    client: PageCheckingClient, world: World, email: str
) -> None:
    sign_in(client, email)
    mine = own_credentials(world)[0]
    for path in (
        "/passport",
        f"/passport/credentials/{mine.id}",
        f"/passport/credentials/{mine.id}/download/jwt",
        "/passport/share",
        "/passport/shares",
        "/passport/card",
        "/passport/settings",
    ):
        assert client.get(path).status_code == 404, path


def test_signed_out_people_are_sent_to_sign_in(client: PageCheckingClient, world: World) -> None:
    response = client.get("/passport", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["location"]


def test_a_learner_with_nothing_issued_sees_a_plain_page(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None
        holder.account_id = None
        session.commit()
    sign_in(client, LEARNER_EMAIL)
    page = client.get("/passport")
    assert page.status_code == 200
    assert "Nothing has been issued to you yet" in page.text
    assert client.get("/passport/share").status_code == 404


def _share(
    client: PageCheckingClient, ids: list[str], label: str = "", days: str = "30"
) -> httpx.Response:
    token = csrf_token_from(client.get("/passport/share"))
    return client.post(
        "/passport/share",
        data={"csrf_token": token, "credential": ids, "label": label, "days": days},
        follow_redirects=False,
    )


def test_a_share_link_works_until_it_is_withdrawn(client: PageCheckingClient, world: World) -> None:
    sign_in(client, LEARNER_EMAIL)
    chosen = own_credentials(world)[0]
    response = _share(client, [chosen.id], label="For Bright Futures Construction")
    assert response.status_code == 303
    share_page = client.get(response.headers["location"])
    assert share_page.status_code == 200
    url_text = soup_of(share_page).select_one("#share-url")
    assert url_text is not None
    url = url_text.get_text(strip=True)
    match = re.fullmatch(r"https://onestory\.example\.test/passport/s/([A-Za-z0-9_-]+)", url)
    assert match, url
    svg = soup_of(share_page).select_one("#share-qr svg")
    assert svg is not None and svg.get("role") == "img"
    assert "QR code" in str(svg.get("aria-label"))
    assert svg.select("path")
    # Shown once: the same page later has no link.
    again = client.get(response.headers["location"])
    assert soup_of(again).select_one("#share-url") is None
    with world.app.state.sessions() as session:
        live = shares.live_share(session, match.group(1))
        assert live is not None
        assert live.credential_ids == [chosen.id]
        assert live.label == "For Bright Futures Construction"
        share_id = live.id
    listing = client.get("/passport/shares")
    assert "For Bright Futures Construction" in listing.text
    withdraw = client.post(
        f"/passport/shares/{share_id}/withdraw",
        data={"csrf_token": csrf_token_from(listing)},
        follow_redirects=False,
    )
    assert withdraw.status_code == 303
    assert "no longer works" in client.get(withdraw.headers["location"]).text
    with world.app.state.sessions() as session:
        assert shares.live_share(session, match.group(1)) is None
    assert [d["allowed"] for d in decisions(world, "share")] == [True]


def test_sharing_needs_a_choice_and_a_valid_credential(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, LEARNER_EMAIL)
    empty = _share(client, [])
    assert empty.status_code == 400
    summary = soup_of(empty).select_one(".govuk-error-summary")
    assert summary is not None
    assert "Select at least one qualification to share" in summary.get_text()
    foreign = _share(client, [world.other_credential])
    assert foreign.status_code == 400
    assert "You can only share qualifications in your passport" in foreign.text
    with world.app.state.sessions() as session:
        revoked = session.get(PassportCredential, own_credentials(world)[0].id)
        assert revoked is not None
        credentials.revoke(
            session,
            world.app.state.passport_issuer,
            revoked,
            actor="test",
            reason="result withdrawn",
            base_url="https://onestory.example.test",
        )
        session.commit()
        revoked_id = revoked.id
    refused = _share(client, [revoked_id])
    assert refused.status_code == 400
    summary = soup_of(refused).select_one(".govuk-error-summary")
    assert summary is not None
    assert "only share qualifications in your passport that are valid" in summary.get_text()
    assert "Revoked on" in client.get("/passport").text
    with world.app.state.sessions() as session:
        assert session.scalars(select(PassportShare)).all() == []


def test_the_card_shows_the_chosen_credentials_and_a_qr_code(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, LEARNER_EMAIL)
    chooser = client.get("/passport/card")
    boxes = soup_of(chooser).select("input[name=credential]")
    assert len(boxes) == 2 and all(b.has_attr("checked") for b in boxes)
    first = own_credentials(world)[0]
    card = client.post(
        "/passport/card", data={"csrf_token": csrf_token_from(chooser), "credential": [first.id]}
    )
    assert card.status_code == 200
    soup = soup_of(card)
    section = soup.select_one("#card")
    assert section is not None
    text = section.get_text(" ", strip=True)
    assert "Jordan Reece" in text and first.achievement in text and "Novus" in text
    assert world.app.state.passport_issuer.name in text
    assert section.select_one("svg[role=img]") is not None
    assert soup.select_one("link[href='/assets/onestory/passport-card.css']") is not None
    assert client.get("/assets/onestory/passport-card.css").status_code == 200
    with world.app.state.sessions() as session:
        card_share = session.scalars(select(PassportShare)).one()
        assert card_share.purpose == shares.CARD
        assert card_share.credential_ids == [first.id]
        assert card_share.expires_at is not None
    nothing = client.post("/passport/card", data={"csrf_token": csrf_token_from(chooser)})
    assert nothing.status_code == 400
    assert "Select at least one qualification to print" in nothing.text


def test_the_holder_chooses_whether_new_credentials_name_the_prison(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, LEARNER_EMAIL)
    form = client.get("/passport/settings")
    checked = soup_of(form).select_one("input[name=name_establishment][checked]")
    assert checked is not None and checked["value"] == "no"
    assert "would then know you were in prison" in form.text
    token = csrf_token_from(form)
    missing = client.post("/passport/settings", data={"csrf_token": token})
    assert missing.status_code == 400
    saved = client.post(
        "/passport/settings", data={"csrf_token": token, "name_establishment": "yes"}
    )
    assert saved.status_code == 200
    assert "New qualifications will name the prison" in saved.text
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None and holder.name_establishment is True


def test_another_holders_share_can_be_neither_seen_nor_withdrawn(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        other = session.scalars(
            select(PassportHolder).where(PassportHolder.id != world.holder_id)
        ).one()
        theirs, token = shares.create_share(session, other, [world.other_credential])
        session.commit()
        share_id = theirs.id
    sign_in(client, LEARNER_EMAIL)
    assert client.get(f"/passport/shares/{share_id}").status_code == 404
    listing = client.get("/passport/shares")
    refused = client.post(
        f"/passport/shares/{share_id}/withdraw", data={"csrf_token": csrf_token_from(listing)}
    )
    assert refused.status_code == 404
    with world.app.state.sessions() as session:
        assert shares.live_share(session, token) is not None
