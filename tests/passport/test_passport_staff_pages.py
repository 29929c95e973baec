"""The staff pages of the skills passport, on SQLite and PostgreSQL.

Education providers, prison officers and probation officers find a learner by prison number or
ULN and see their credentials; only the education provider revokes, with a reason. Every read
and every refusal is a ledgered decision, and a refusal reveals nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from passport_helpers import Learner, add_learner, add_organisations_and_staff
from sqlalchemy import Engine, select

from onestory.config import Settings
from onestory.domain.learning import LearningOutcome, LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.passport import credentials
from onestory.passport.tables import PassportCredential, PassportHolder
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount
from onestory.web.app import create_app

PASSWORD = "correct horse battery staple"
TUTOR = "tutor@novus.test"
OFFICER = "officer@leeds.test"
PROBATION = "pp@probation.test"
EMPLOYER = "hr@brightfutures.test"
BASE = "https://onestory.example.test"


@dataclass(frozen=True)
class World:
    app: FastAPI
    learner: Learner
    holder_id: str


def build(engine: Engine, tmp_path: Path, policies_dir: Path | None = None) -> World:
    """The application with staff and one learner whose achievements have credentials."""
    extra = {"policies_dir": policies_dir} if policies_dir else {}
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="e" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
        public_base_url=BASE,
        **extra,
    )
    app = create_app(settings, engine=engine)
    with app.state.sessions() as session:
        add_organisations_and_staff(session)
        learner = add_learner(session, account_email=None)
        session.commit()
        credentials.issue_pending(session, app.state.passport_issuer, actor="test", base_url=BASE)
        holder = session.scalars(select(PassportHolder)).one()
        return World(app, learner, holder.id)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build(engine, tmp_path)


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


def ledger(world: World, entry_type: str) -> list[tuple[str, dict[str, object]]]:
    """(actor, payload) of each ledger entry of ``entry_type``, in order."""
    with world.app.state.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.actor, LedgerPayload.payload)
            .join(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
            .where(LedgerEntry.entry_type == entry_type)
            .order_by(LedgerEntry.seq)
        )
        return [(actor, payload) for actor, payload in rows]


def user_id(world: World, email: str) -> str:
    with world.app.state.sessions() as session:
        account = session.scalars(select(UserAccount.id).where(UserAccount.email == email)).one()
        return f"user:{account}"


def held(world: World) -> list[PassportCredential]:
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None
        found = credentials.holder_credentials(session, holder)
        session.expunge_all()
        return found


@pytest.mark.parametrize(
    ("email", "query"),
    [
        (TUTOR, "A1234BC"),
        (OFFICER, "a1234bc"),
        (PROBATION, "9999999999"),
    ],
    ids=["tutor-prison-number", "officer-prison-number-lower-case", "probation-uln"],
)
def test_staff_find_the_learner_and_see_their_credentials(
    client: PageCheckingClient, world: World, email: str, query: str
) -> None:
    sign_in(client, email)
    found = client.get("/passport/learners", params={"q": query})
    assert found.status_code == 200
    link = soup_of(found).select_one(f"#results a[href='/passport/learners/{world.holder_id}']")
    assert link is not None and link.get_text(strip=True) == "Jordan Reece"
    page = client.get(str(link["href"]))
    assert page.status_code == 200
    for credential in held(world):
        assert credential.achievement in page.text
    reads = [p for actor, p in ledger(world, "sharing.decision") if actor == user_id(world, email)]
    assert reads and all(p["allowed"] and p["action"] == "read" for p in reads)
    nav = [a.get_text(strip=True) for a in soup_of(page).select(".govuk-service-navigation__link")]
    assert "Learners" in nav


def test_an_unknown_number_finds_no_one_and_a_blank_one_is_an_error(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, OFFICER)
    none_found = client.get("/passport/learners", params={"q": "Z9999ZZ"})
    assert "No learner found" in none_found.text
    blank = client.get("/passport/learners", params={"q": " "})
    assert blank.status_code == 400
    summary = soup_of(blank).select_one(".govuk-error-summary a[href='#q']")
    assert summary is not None and "Enter a prison number or a ULN" in summary.get_text()


def test_people_outside_the_agreement_find_no_one_and_open_nothing(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, EMPLOYER)
    assert client.get("/passport/learners", params={"q": "A1234BC"}).status_code == 404
    assert client.get(f"/passport/learners/{world.holder_id}").status_code == 404


def test_a_refused_search_looks_like_no_learner_and_is_ledgered(
    engine: Engine, tmp_path: Path
) -> None:
    # The same rules without the agreement that lets prison staff read learning records.
    rules = tmp_path / "policies"
    rules.mkdir()
    for source in Settings(env="test", secret_key="e" * 48).policies_dir.glob("*.yaml"):
        if source.name != "education-learning-records.yaml":
            (rules / source.name).write_bytes(source.read_bytes())
    refused_world = build(engine, tmp_path, policies_dir=rules)
    with PageCheckingClient(refused_world.app) as client:
        sign_in(client, OFFICER)
        found = client.get("/passport/learners", params={"q": "A1234BC"})
        assert found.status_code == 200
        assert "No learner found" in found.text
        assert "Jordan" not in found.text
        assert client.get(f"/passport/learners/{refused_world.holder_id}").status_code == 404
    officer = user_id(refused_world, OFFICER)
    reads = [p for actor, p in ledger(refused_world, "sharing.decision") if actor == officer]
    assert reads and not any(p["allowed"] for p in reads)


def test_the_education_provider_revokes_with_a_reason(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, TUTOR)
    credential = held(world)[0]
    page = client.get(f"/passport/learners/{world.holder_id}")
    form = soup_of(page).select_one(
        f"form[action='/passport/learners/{world.holder_id}/credentials/{credential.id}/revoke']"
    )
    assert form is not None
    action = str(form["action"])
    token = csrf_token_from(page)
    missing = client.post(action, data={"csrf_token": token, "reason": "  "})
    assert missing.status_code == 400
    summary = soup_of(missing).select_one(".govuk-error-summary")
    assert summary is not None
    assert f"Enter why you are revoking {credential.achievement}" in summary.get_text()
    link = summary.select_one("a")
    assert link is not None and link["href"] == f"#reason-{credential.id}"
    assert soup_of(missing).select_one(f"#reason-{credential.id}") is not None
    done = client.post(
        action,
        data={"csrf_token": token, "reason": "Awarding body withdrew the result"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    banner = soup_of(after).select_one(".govuk-notification-banner")
    assert banner is not None and "has been revoked" in banner.get_text()
    assert "Revoked on" in after.text
    with world.app.state.sessions() as session:
        revoked = session.get(PassportCredential, credential.id)
        assert revoked is not None and revoked.revoked_at is not None
        assert revoked.revoked_reason == "Awarding body withdrew the result"
    tutor = user_id(world, TUTOR)
    updates = [
        p
        for actor, p in ledger(world, "sharing.decision")
        if actor == tutor and p["action"] == "update"
    ]
    assert [p["allowed"] for p in updates] == [True, True]  # the missing reason, then the revoke
    [(actor, payload)] = ledger(world, credentials.REVOKED)
    assert actor == tutor and payload["reason"] == "Awarding body withdrew the result"
    again = client.post(action, data={"csrf_token": token, "reason": "twice"})
    assert again.status_code == 400
    assert "was already revoked" in again.text


def test_a_prison_officer_cannot_revoke(client: PageCheckingClient, world: World) -> None:
    sign_in(client, OFFICER)
    credential = held(world)[0]
    page = client.get(f"/passport/learners/{world.holder_id}")
    assert soup_of(page).select("form[action$='/revoke']") == []
    assert soup_of(page).select("form[action$='/issue']") == []
    refused = client.post(
        f"/passport/learners/{world.holder_id}/credentials/{credential.id}/revoke",
        data={"csrf_token": csrf_token_from(page), "reason": "I want to"},
    )
    assert refused.status_code == 404
    with world.app.state.sessions() as session:
        untouched = session.get(PassportCredential, credential.id)
        assert untouched is not None and untouched.revoked_at is None
    officer = user_id(world, OFFICER)
    [update] = [
        p
        for actor, p in ledger(world, "sharing.decision")
        if actor == officer and p["action"] == "update"
    ]
    assert update["allowed"] is False
    assert "no agreement lets a prison_officer update learning_record" in str(update["reason"])


def test_staff_give_the_learner_access_and_the_learner_then_sees_their_passport(
    client: PageCheckingClient, world: World
) -> None:
    sign_in(client, PROBATION)
    page = client.get(f"/passport/learners/{world.holder_id}")
    token = csrf_token_from(page)
    action = f"/passport/learners/{world.holder_id}/access"
    bad = client.post(action, data={"csrf_token": token, "email": "not an address"})
    assert bad.status_code == 400
    assert soup_of(bad).select_one(".govuk-error-summary a[href='#email']") is not None
    taken = client.post(action, data={"csrf_token": token, "email": TUTOR})
    assert taken.status_code == 400
    assert "already belongs to an account" in taken.text
    done = client.post(action, data={"csrf_token": token, "email": "jordan@example.test"})
    assert done.status_code == 200
    assert "now has an account for their passport" in done.text
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None and holder.account_id is not None
        account = session.get(UserAccount, holder.account_id)
        assert account is not None
        assert (account.email, account.role) == ("jordan@example.test", "learner")
    [(actor, payload)] = ledger(world, "passport.holder.access_given")
    assert actor == user_id(world, PROBATION)
    assert payload == {"account": f"user:{holder.account_id}"}
    already = client.post(action, data={"csrf_token": token, "email": "again@example.test"})
    assert already.status_code == 400


def test_the_education_provider_issues_new_achievements_now(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        in_progress = session.get(AgencyRecord, world.learner.record_ids[2])
        assert in_progress is not None
        body = dict(in_progress.body)
        record = LearningRecord.model_validate(body["record"]).model_copy(
            update={"outcome": LearningOutcome.ACHIEVED, "completed_on": date(2026, 7, 1)}
        )
        body["record"] = record.model_dump(mode="json")
        in_progress.body = body
        session.commit()
    sign_in(client, TUTOR)
    page = client.get(f"/passport/learners/{world.holder_id}")
    done = client.post(
        f"/passport/learners/{world.holder_id}/issue",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert done.status_code == 200
    assert "1 new qualification issued" in done.text
    assert "Level 2 Certificate in Barbering" in done.text
    assert len(held(world)) == 3


def test_an_education_provider_cannot_revoke_another_provider_s_award(
    client: PageCheckingClient, world: World
) -> None:
    """The agreement lets providers change learning records; only the sender revokes."""
    with world.app.state.sessions() as session:
        other = Organisation(code="EDU-MKC", name="Milton Keynes College", kind="education")
        session.add(other)
        session.add(
            UserAccount(
                email="tutor@mkc.test",
                display_name="Mo Tutor",
                role="education_provider",
                organisation=other,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()
    credential = held(world)[0]
    sign_in(client, "tutor@mkc.test")
    page = client.get(f"/passport/learners/{world.holder_id}")
    assert page.status_code == 200
    assert soup_of(page).select("form[action$='/revoke']") == []
    refused = client.post(
        f"/passport/learners/{world.holder_id}/credentials/{credential.id}/revoke",
        data={"csrf_token": csrf_token_from(page), "reason": "not ours"},
    )
    assert refused.status_code == 404
    assert all(c.revoked_at is None for c in held(world))
    mo = user_id(world, "tutor@mkc.test")
    refusals = [
        p for actor, p in ledger(world, "sharing.decision")
        if actor == mo and p["action"] == "update"
    ]  # fmt: skip
    assert [p["allowed"] for p in refusals] == [True, False]
    assert refusals[-1]["reason"] == "sent by another organisation"


def test_an_education_provider_cannot_give_a_learner_an_account(
    client: PageCheckingClient, world: World
) -> None:
    """Giving access is for the prison or probation officer who sees the person."""
    sign_in(client, TUTOR)
    page = client.get(f"/passport/learners/{world.holder_id}")
    assert soup_of(page).select("form[action$='/access']") == []
    refused = client.post(
        f"/passport/learners/{world.holder_id}/access",
        data={"csrf_token": csrf_token_from(page), "email": "tutor.own@example.test"},
    )
    assert refused.status_code == 404
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None and holder.account_id is None
