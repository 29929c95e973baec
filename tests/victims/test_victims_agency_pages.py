"""Tell us once, the agencies' side: worklists, a story as each agency may see it, and what
police, courts and Witness Care Units record -- on SQLite and PostgreSQL, through real pages."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from victims_helpers import add_account, add_organisations, fill_draft, full_answers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, csrf_token_from, soup_of
from web_helpers import sign_in

from onestory.config import Settings
from onestory.exchange.intake import subscribe
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import DECISION
from onestory.sharing.consent import withdraw_consent
from onestory.sharing.tables import UserAccount
from onestory.victims import agency_web, timeline
from onestory.victims.access import victim_actor
from onestory.victims.duties import due_at
from onestory.victims.stories import story_by_reference, submit_story, update_story
from onestory.victims.tables import DutyClock
from onestory.web import templating
from onestory.web.app import create_app

URN = "01AB1234526"
STAFF = (
    ("police@pol01.example.org", "police_officer", "POL01"),
    ("police@pol04.example.org", "police_officer", "POL04"),
    ("wcu@wcu01.example.org", "witness_care_officer", "WCU01"),
    ("support@vs.example.org", "victim_support_worker", "VS"),
    ("court@stramc.example.org", "court_officer", "STRAMC"),
    ("analyst@example.org", "analyst", None),
)
POLICE, OTHER_FORCE, WCU, SUPPORT, COURT, ANALYST = (email for email, _, _ in STAFF)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    """The application with the agencies' pages, whether or not web.app mounts them yet."""
    settings = Settings(env="test", data_dir=tmp_path, secret_key="x" * 48)
    application = create_app(settings, engine=engine)
    if "victims" not in templating._prefixed:
        templating.add_template_package("victims", "onestory.victims")
    if not any(getattr(r, "path", None) == "/worklist" for r in application.routes):
        application.include_router(agency_web.router)
    subscribe(timeline.on_event)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(app) as test_client:
        yield test_client


@pytest.fixture
def reference(app: FastAPI) -> str:
    """A story told in police area 01, support service chosen, and every member of staff."""
    with app.state.sessions() as session:
        add_organisations(session)
        victim_user = add_account(session, "jo@example.org", "victim")
        for email, role, org in STAFF:
            add_account(session, email, role, org)
        token = fill_draft(session, victim_user.id, full_answers(support="yes"))
        submitted = submit_story(session, app.state.policies, user=victim_user, draft_token=token)
        session.commit()
        return submitted.story.reference


def _decisions(app: FastAPI) -> int:
    with app.state.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.entry_type == DECISION)
            )
            or 0
        )


def _story_row(response, reference: str):  # type: ignore[no-untyped-def]
    return soup_of(response).find(id=f"story-{reference}")


def _link_case(app: FastAPI, reference: str, urn: str = URN) -> None:
    with app.state.sessions() as session:
        story = story_by_reference(session, reference)
        assert story is not None
        story.case_urn = urn
        session.commit()


def _post(client: PageCheckingClient, page: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page))
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_police_worklist_shows_needs_first_and_new_then_updated(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, POLICE)
    before = _decisions(app)
    worklist = client.get("/worklist")
    assert worklist.status_code == 200
    row = _story_row(worklist, reference)
    assert row is not None
    text = row.get_text(" ", strip=True)
    assert "Jo Bloggs" in text and reference in text and "New" in text
    assert "Large print please" in text and "Do not leave messages" in text
    assert "broke into my car" not in worklist.text  # the list never reads the account
    assert _decisions(app) > before  # each read was ledgered (and committed)

    before = _decisions(app)
    page = client.get(f"/worklist/{reference}")
    assert page.status_code == 200
    assert "Someone broke into my car and took my bag." in page.text
    # Needs and safe contact come before the account of the crime.
    assert page.text.index("Large print please") < page.text.index("broke into my car")
    assert _decisions(app) > before

    row = _story_row(client.get("/worklist"), reference)
    assert row is not None and "New" not in row.get_text(" ", strip=True)

    with app.state.sessions() as session:
        story = story_by_reference(session, reference)
        assert story is not None
        victim = session.scalar(select(UserAccount).where(UserAccount.email == "jo@example.org"))
        assert victim is not None
        update_story(
            session,
            app.state.policies,
            actor=victim_actor(victim, story.victim),
            story=story,
            what_happened="Someone broke into my car and took my bag and my laptop.",
            happened_on=story.versions[-1].happened_on,
            happened_where=story.versions[-1].happened_where,
            crime_reference=None,
        )
        session.commit()

    row = _story_row(client.get("/worklist"), reference)
    assert row is not None and "Updated" in row.get_text(" ", strip=True)
    page = client.get(f"/worklist/{reference}")
    changed = soup_of(page).find(id="changed")
    assert changed is not None
    assert "Changed since you last looked: What happened" in changed.get_text(" ", strip=True)
    assert "my laptop" in page.text
    assert "Earlier versions (1)" in page.text
    row = _story_row(client.get("/worklist"), reference)
    assert row is not None and "Updated" not in row.get_text(" ", strip=True)


def test_witness_care_sees_needs_and_contact_but_not_the_account(
    client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, WCU)
    row = _story_row(client.get("/worklist"), reference)
    assert row is not None and "Large print please" in row.get_text(" ", strip=True)
    page = client.get(f"/worklist/{reference}")
    assert page.status_code == 200
    assert "Large print please" in page.text and "Jo Bloggs" in page.text
    assert "broke into my car" not in page.text
    not_shared = soup_of(page).find(id="not-shared")
    assert not_shared is not None
    assert "what happened, in the victim's words" in not_shared.get_text(" ", strip=True)


def test_victim_support_sees_the_story_only_while_consent_is_given(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, SUPPORT)
    assert _story_row(client.get("/worklist"), reference) is not None
    assert "broke into my car" in client.get(f"/worklist/{reference}").text

    with app.state.sessions() as session:
        story = story_by_reference(session, reference)
        victim = session.scalar(select(UserAccount).where(UserAccount.email == "jo@example.org"))
        assert story is not None and victim is not None
        withdraw_consent(
            session,
            actor=victim_actor(victim, story.victim),
            subject_id=story.victim_id,
            organisation_kind="victim_support",
            organisation_code="VS",
            purpose="victim_support",
        )
        session.commit()

    assert _story_row(client.get("/worklist"), reference) is None
    before = _decisions(app)
    assert client.get(f"/worklist/{reference}").status_code == 404
    assert _decisions(app) > before  # the refusals are ledgered too


def test_other_organisations_get_not_found_and_others_nothing(
    client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, OTHER_FORCE)
    assert _story_row(client.get("/worklist"), reference) is None
    assert client.get(f"/worklist/{reference}").status_code == 404
    assert client.get("/worklist/OS-NOPE-NOPE").status_code == 404

    for email in (COURT, ANALYST):
        sign_in(client, email)
        page = client.get("/worklist")
        assert page.status_code == 200
        assert "There is nothing for you here" in page.text
        assert client.get(f"/worklist/{reference}").status_code == 404


def test_police_link_a_case_and_record_a_charge(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, POLICE)
    page = f"/worklist/{reference}"
    assert soup_of(client.get(page)).find(id="needs-urn") is not None  # no URN yet: say so

    bad = _post(client, page, f"{page}/case", {"urn": "01AB12", "crime_reference": ""})
    assert bad.status_code == 400
    summary = soup_of(bad).find(class_="govuk-error-summary")
    assert summary is not None
    assert "case URN '01AB12': expected FFUUNNNNNYY" in summary.get_text(" ", strip=True)

    linked = _post(client, page, f"{page}/case", {"urn": "01ab 1234526", "crime_reference": "CR/1"})
    assert linked.status_code == 303 and linked.headers["location"] == page
    shown = client.get(page)
    assert f"Linked to police case {URN}" in shown.text
    assert "govuk-notification-banner--success" in shown.text

    missing = _post(client, page, f"{page}/charge", {"decision": "charge"})
    assert missing.status_code == 400 and "Enter the date of the decision" in missing.text

    charged = _post(
        client,
        page,
        f"{page}/charge",
        {"decision": "charge", "decided-day": "2", "decided-month": "3", "decided-year": "2026"},
    )
    assert charged.status_code == 303
    shown = client.get(page)
    assert "Charging decision recorded: The suspect was charged" in shown.text
    entries = soup_of(shown).find(id="timeline")
    assert entries is not None and "The suspect was charged" in entries.get_text(" ", strip=True)
    with app.state.sessions() as session:
        clock = session.scalar(select(DutyClock).where(DutyClock.rule_id == "R6.3"))
        assert clock is not None and clock.owner_code == "POL01"


def test_a_charge_needs_a_linked_case_first(client: PageCheckingClient, reference: str) -> None:
    sign_in(client, POLICE)
    page = f"/worklist/{reference}"
    token = csrf_token_from(client.get(page))
    response = client.post(
        f"{page}/charge",
        data={"decision": "charge", "decided-day": "2", "decided-month": "3",
              "decided-year": "2026", "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Link the story to a police case (its URN)" in response.text


def test_court_lists_a_hearing_and_witness_care_tells_the_victim(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    _link_case(app, reference)
    sign_in(client, COURT)
    found = client.get("/cases", params={"urn": URN.lower()}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/cases/{URN}"
    case_page = f"/cases/{URN}"
    assert client.get(case_page).status_code == 200
    assert "Jo Bloggs" not in client.get(case_page).text  # no victim data for courts

    no_time = _post(
        client,
        case_page,
        f"{case_page}/hearings",
        {"court": "STRAMC", "hearing_type": "trial", "hearing-day": "10",
         "hearing-month": "6", "hearing-year": "2026", "hearing-time": "25:00"},
    )  # fmt: skip
    assert no_time.status_code == 400 and "Enter the time of the hearing" in no_time.text

    listed = _post(
        client,
        case_page,
        f"{case_page}/hearings",
        {"court": "STRAMC", "hearing_type": "trial", "hearing-day": "10",
         "hearing-month": "6", "hearing-year": "2026", "hearing-time": "10am"},
    )  # fmt: skip
    assert listed.status_code == 303
    shown = client.get(case_page)
    assert "Hearing listed: trial on Wednesday 10 June 2026" in shown.text
    assert "A trial was listed at Stratford Magistrates" in shown.text

    with app.state.sessions() as session:
        clock = session.scalar(select(DutyClock).where(DutyClock.rule_id == "R8.2"))
        assert clock is not None and clock.owner_code == "WCU01"
        assert timeline.duty_status(clock) == "pending"
        duty_id = clock.id

    sign_in(client, WCU)
    duties = soup_of(client.get("/worklist")).find(id="duties")
    assert duties is not None
    assert "Tell the victim the date, time and place of a hearing" in duties.get_text(" ")
    page = f"/worklist/{reference}"
    story_page = client.get(page)
    assert soup_of(story_page).find(id=f"told-{duty_id}") is not None

    unchosen = _post(client, page, f"{page}/duties/{duty_id}/told", {"channel": ""})
    assert unchosen.status_code == 400 and "Select how you told the victim" in unchosen.text

    told = _post(client, page, f"{page}/duties/{duty_id}/told", {"channel": "phone"})
    assert told.status_code == 303
    shown = client.get(page)
    assert "Recorded that you told the victim (phone)" in shown.text
    assert soup_of(shown).find(id=f"told-{duty_id}") is None
    with app.state.sessions() as session:
        clock = session.get(DutyClock, duty_id)
        assert clock is not None and clock.met_at is not None
        assert timeline.duty_status(clock) == "met_on_time"
        assert clock.met_by == "victim.told by WCU01 (phone)"


def test_court_records_an_outcome_and_a_sentence(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    _link_case(app, reference)
    sign_in(client, COURT)
    case_page = f"/cases/{URN}"
    _post(
        client,
        case_page,
        f"{case_page}/hearings",
        {"court": "STRAMC", "hearing_type": "sentence", "hearing-day": "10",
         "hearing-month": "6", "hearing-year": "2026", "hearing-time": "2:30pm"},
    )  # fmt: skip
    hearing = soup_of(client.get(case_page)).find("input", attrs={"name": "hearing_id"})
    assert hearing is not None
    resulted = _post(
        client, case_page, f"{case_page}/outcomes", {"hearing_id": str(hearing["value"])}
    )
    assert resulted.status_code == 303
    sentenced = _post(
        client,
        case_page,
        f"{case_page}/sentences",
        {"sentence_type": "immediate_custody", "custody_months": "18"},
    )
    assert sentenced.status_code == 303
    shown = client.get(case_page).text
    assert "The hearing took place" in shown
    assert "The court passed sentence: a prison sentence of 18 months" in shown
    with app.state.sessions() as session:
        rules = set(session.scalars(select(DutyClock.rule_id)))
        assert {"R8.1", "R9.2"} <= rules


def test_case_pages_are_for_courts_only(
    app: FastAPI, client: PageCheckingClient, reference: str
) -> None:
    sign_in(client, POLICE)
    assert client.get(f"/cases/{URN}").status_code == 404
    sign_in(client, COURT)
    assert client.get("/cases/NOT-A-URN").status_code == 404
    bad = client.get("/cases", params={"urn": "nope"})
    assert bad.status_code == 400
    assert "case URN 'nope': expected FFUUNNNNNYY" in soup_of(bad).get_text(" ")


def test_deadlines_are_written_as_london_days() -> None:
    deadline = due_at(datetime(2026, 3, 2, 10, tzinfo=UTC), 1)
    assert agency_web.due_words(deadline) == "Tuesday 3 March 2026, end of day"
    summer = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)  # 2:30pm in London
    assert agency_web.due_words(summer) == "Wednesday 10 June 2026, 2:30pm"
