"""The review queue, a person's page and the linkage API, through the real application.

Staff whose role reads person records (a police officer, for investigation) see the pair side by
side with the model's explanation and decide it; the decision is an override and a ledger
entry. Anyone the sharing rules refuse gets "Page not found", and the refusal is ledgered.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "victims"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, csrf_token_from, soup_of
from test_index_world import build_index, make_world
from victims_helpers import add_account, add_organisations
from web_helpers import sign_in

from onestory.config import Settings
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.tables import LedgerEntry
from onestory.linkage import index
from onestory.linkage.tables import LinkOverride, PersonMember, ReviewItem
from onestory.sharing.authorize import DECISION, Actor
from onestory.sharing.clients import issue_key, scope
from onestory.sharing.tables import UserAccount
from onestory.web.app import create_app

POLICE = "police@pol01.example.org"
DETECTIVE = "detective@pol01.example.org"  # a second reviewer at the same force
PROBATION = "probation@ps.example.org"
SUPPORT = "support@vs.example.org"
ADMIN = Actor("user:1", "administrator", None, None)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(env="test", data_dir=tmp_path, secret_key="l" * 48, notify_interval=0)
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(app) as test_client:
        yield test_client


@pytest.fixture
def item_id(app: FastAPI) -> int:
    """An index over a small world, staff to look at it, and one pair queued for review."""
    world = make_world(12, seed=11)
    with app.state.sessions() as session:
        add_organisations(session)
        add_account(session, POLICE, "police_officer", "POL01")
        add_account(session, PROBATION, "probation_officer", "PS-LDN")
        add_account(session, SUPPORT, "victim_support_worker", "VS")
        session.commit()
    build_index(app.state.sessions, world)
    a, b = sorted((world.records_of(0)[0], world.records_of(1)[0]))
    with app.state.sessions() as session:
        explanation, _ = index.link_explanation(session, a, b)
        item = ReviewItem(
            record_a=a,
            record_b=b,
            match_weight=explanation["total_match_weight"],
            match_probability=0.7,
            explanation=explanation,
        )
        session.add(item)
        session.commit()
        return item.id


def ledgered(app: FastAPI, entry_type: str) -> int:
    with app.state.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.entry_type == entry_type)
            )
            or 0
        )


def test_a_reviewer_sees_the_pair_and_its_explanation_and_decides_it(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    sign_in(client, POLICE)
    queue = client.get("/linkage/review")
    assert queue.status_code == 200
    assert soup_of(queue).find(id="queue").find("a", href=f"/linkage/review/{item_id}")
    with app.state.sessions() as session:
        waiting = index.review_counts(session)["open"]
    counts = " ".join(soup_of(queue).find(id="counts").stripped_strings)
    assert f"{waiting} waiting for a decision" in counts and waiting >= 1
    before = ledgered(app, DECISION)
    page = client.get(f"/linkage/review/{item_id}")
    assert page.status_code == 200
    soup = soup_of(page)
    pair = soup.find(id="pair").get_text(" ")
    assert "Date of birth" in pair and "PNC ID" in pair and "Case URN" in pair
    explanation = soup.find(id="explanation")
    rows = explanation.find_all("tr")
    # One row per comparison, the prior, the total; each with its weight.
    with app.state.sessions() as session:
        stored = session.get(ReviewItem, item_id)
        assert stored is not None and stored.explanation is not None
        comparisons = stored.explanation["comparisons"]
    assert len(rows) == 1 + len(comparisons) + 2
    assert "Date of birth" in explanation.get_text() or "Dob" in explanation.get_text()
    total = f"{stored.explanation['total_match_weight']:+.2f}"
    assert total in rows[-1].get_text()
    # Who both records are about, and what each says: four decisions, all ledgered.
    assert ledgered(app, DECISION) == before + 4

    token = csrf_token_from(page)
    missing = client.post(
        f"/linkage/review/{item_id}", data={"decision": "different", "csrf_token": token}
    )
    assert missing.status_code == 400
    assert "Enter the reason" in missing.text
    done = client.post(
        f"/linkage/review/{item_id}",
        data={"decision": "different", "reason": "Different dates of birth", "csrf_token": token},
    )
    assert done.status_code == 200 and "different people" in done.text
    with app.state.sessions() as session:
        override = session.scalars(select(LinkOverride)).one()
        assert override.rule == "never" and override.decided_by.startswith("user:")
        decided = session.get(ReviewItem, item_id)
        assert decided is not None and decided.status == "rejected"
    assert ledgered(app, "linkage.review.decided") == 1
    assert ledgered(app, "linkage.override.set") == 1


def test_a_person_page_shows_every_agency_record(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    with app.state.sessions() as session:
        member = session.scalars(select(PersonMember).order_by(PersonMember.record_id)).first()
        assert member is not None
        person_id = member.person_id
        records = index.person_records(session, person_id)
    sign_in(client, PROBATION)
    page = client.get(f"/people/{person_id}")
    assert page.status_code == 200
    text = soup_of(page).get_text(" ")
    assert person_id in text and "offender management" in text
    for record in records:
        assert soup_of(page).find(id=f"agency-{record.agency}")
        assert record.body["record"]["caseUrn"] in text
    assert "has not been merged or split" in text


def test_what_a_record_says_is_shown_only_to_those_who_may_read_that_kind(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    with app.state.sessions() as session:
        probation = session.scalars(
            select(AgencyRecord).where(AgencyRecord.kind == "probation.case")
        ).first()
        assert probation is not None
        person_id = index.person_of_record(session, probation.id)
    urn = probation.body["record"]["caseUrn"]
    sign_in(client, POLICE)  # police read people and cases for investigation, not probation
    text = soup_of(client.get(f"/people/{person_id}")).get_text(" ")
    assert probation.surname in text and urn not in text
    assert "not shared with you for investigation" in text


def test_staff_the_rules_refuse_get_page_not_found(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    with app.state.sessions() as session:
        person_id = session.scalars(select(PersonMember.person_id)).first()
    sign_in(client, SUPPORT)
    assert client.get("/linkage/review").status_code == 404
    assert client.get(f"/linkage/review/{item_id}").status_code == 404
    assert client.get(f"/people/{person_id}").status_code == 404
    # Signed out: sent to sign in, never shown anything.
    client.cookies.clear()
    assert client.get(f"/people/{person_id}", follow_redirects=False).status_code in (303, 307)


def test_the_api_gives_a_person_and_a_pairs_explanation_to_clients_allowed(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    with app.state.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        a, b = item.record_a, item.record_b
        person_id = index.person_of_record(session, a)
        _, police_key = issue_key(
            session, actor=ADMIN, organisation_code="POL01", name="Force system",
            role="police_officer", scopes=[scope("read", "person")],
        )  # fmt: skip
        _, unscoped = issue_key(
            session, actor=ADMIN, organisation_code="POL01", name="Other system",
            role="police_officer", scopes=[scope("read", "case")],
        )  # fmt: skip
        session.commit()
    police = {"Authorization": f"Bearer {police_key}"}
    person = client.get(
        f"/api/people/{person_id}", params={"purpose": "investigation"}, headers=police
    )
    assert person.status_code == 200, person.text
    records = {r["id"]: r for r in person.json()["records"]}
    assert a in records
    # The key may read people, not cases: who each record is about, never what it says.
    assert all(r["body"] is None for r in records.values())
    link = client.get(f"/api/links/{a}/{b}", params={"purpose": "investigation"}, headers=police)
    assert link.status_code == 200, link.text
    body = link.json()
    assert body["explanation"]["comparisons"] and body["modelVersion"] == 1
    assert {"recordA", "recordB", "personA", "personB", "linkThreshold"} <= set(body)
    # The wrong purpose, and a key without the scope: the same 404 as for nothing at all.
    wrong = client.get(
        f"/api/people/{person_id}", params={"purpose": "compensation"}, headers=police
    )
    assert wrong.status_code == 404
    other = {"Authorization": f"Bearer {unscoped}"}
    assert (
        client.get(
            f"/api/links/{a}/{b}", params={"purpose": "investigation"}, headers=other
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/people/P-NOSUCHPERSON", params={"purpose": "investigation"}, headers=police
        ).status_code
        == 404
    )


def test_accepting_a_pair_merges_the_people_and_the_old_id_leads_to_the_survivor(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    with app.state.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        before = {index.person_of_record(session, r) for r in (item.record_a, item.record_b)}
    assert len(before) == 2
    sign_in(client, POLICE)
    token = csrf_token_from(client.get(f"/linkage/review/{item_id}"))
    client.post(
        f"/linkage/review/{item_id}",
        data={"decision": "same", "reason": "Same PNC ID on the charge sheet", "csrf_token": token},
    )
    with app.state.sessions() as session:
        after = {index.person_of_record(session, r) for r in (item.record_a, item.record_b)}
    assert len(after) == 1
    (survivor,) = after
    (absorbed,) = before - after
    moved = client.get(f"/people/{absorbed}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/people/{survivor}"
    page = client.get(f"/people/{survivor}")
    changes = soup_of(page).find(id="changes").get_text(" ")
    assert "Merged" in changes and absorbed in changes
    assert ledgered(app, "linkage.person.merged") == 1


def _second_reviewer(app: FastAPI) -> None:
    with app.state.sessions() as session:
        add_account(session, DETECTIVE, "police_officer", "POL01")
        session.commit()


def _user_id(app: FastAPI, email: str) -> str:
    with app.state.sessions() as session:
        user = session.scalars(select(UserAccount).where(UserAccount.email == email)).one()
        return f"user:{user.id}"


def test_a_pair_someone_else_decided_meanwhile_is_refused_and_the_first_decision_stands(
    app: FastAPI, client: PageCheckingClient, item_id: int
) -> None:
    _second_reviewer(app)
    sign_in(client, POLICE)
    with PageCheckingClient(app) as other:
        sign_in(other, DETECTIVE)
        # Both reviewers have the pair open; the first decides it.
        token = csrf_token_from(client.get(f"/linkage/review/{item_id}"))
        other_token = csrf_token_from(other.get(f"/linkage/review/{item_id}"))
        done = client.post(
            f"/linkage/review/{item_id}",
            data={"decision": "different", "reason": "Different dates of birth",
                  "csrf_token": token},
        )  # fmt: skip
        assert done.status_code == 200 and "different people" in done.text
        reads = ledgered(app, DECISION)
        late = other.post(
            f"/linkage/review/{item_id}",
            data={"decision": "same", "reason": "Same PNC ID", "csrf_token": other_token},
        )
        assert late.status_code == 409, late.text
        soup = soup_of(late)
        summary = soup.find(class_="govuk-error-summary").get_text(" ")
        assert "This pair was decided by someone else at " in summary
        assert "nothing changed" in summary
        assert "different people" in soup.find(id="decided").get_text()
        assert soup.find("form", action=f"/linkage/review/{item_id}") is None
        # What the refused reviewer was shown was authorised and ledgered like any other read.
        assert ledgered(app, DECISION) > reads
        # Sending it again (a double click) says it was you.
        again = client.post(
            f"/linkage/review/{item_id}",
            data={"decision": "same", "reason": "Second thoughts", "csrf_token": token},
        )
        assert again.status_code == 409
        assert "This pair was decided by you at " in soup_of(again).get_text(" ")
    with app.state.sessions() as session:
        override = session.scalars(select(LinkOverride)).one()
        assert override.rule == "never" and override.reason == "Different dates of birth"
        item = session.get(ReviewItem, item_id)
        assert item is not None and item.status == "rejected"
        assert item.decided_by == _user_id(app, POLICE)
    assert ledgered(app, "linkage.review.decided") == 1
    assert ledgered(app, "linkage.override.set") == 1
    assert ledgered(app, "linkage.person.merged") == 0


def test_two_reviewers_deciding_a_pair_at_once_make_one_decision(
    app: FastAPI, client: PageCheckingClient, item_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second reviewer's request arrives while the first's is deciding, holding the lock:
    it waits, then finds the pair decided. (Before the fix it had read the pair as open before
    the first committed, and wrote a second decision over the first.)"""
    _second_reviewer(app)
    deciding = threading.Event()
    decide = index.decide_review

    def slow_decide(*args: object, **kwargs: object) -> object:
        if not deciding.is_set():
            deciding.set()  # the first reviewer holds the ledger's lock from here to commit
            time.sleep(0.3)  # time for the second request to arrive and wait for it
        return decide(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(index, "decide_review", slow_decide)
    sign_in(client, POLICE)
    answers: dict[str, httpx.Response] = {}
    with PageCheckingClient(app) as other:
        sign_in(other, DETECTIVE)
        forms = {
            "first": (client, csrf_token_from(client.get(f"/linkage/review/{item_id}")), "same"),
            "second": (other, csrf_token_from(other.get(f"/linkage/review/{item_id}")),
                       "different"),
        }  # fmt: skip

        def post(who: str) -> None:
            reviewer, token, decision = forms[who]
            answers[who] = reviewer.post(
                f"/linkage/review/{item_id}",
                data={"decision": decision, "reason": f"{who} look", "csrf_token": token},
            )

        first = threading.Thread(target=post, args=("first",))
        first.start()
        assert deciding.wait(30)
        second = threading.Thread(target=post, args=("second",))
        second.start()
        first.join(60)
        second.join(60)
    assert answers["first"].status_code == 200, answers["first"].text
    assert answers["second"].status_code == 409, answers["second"].text
    assert "decided by someone else" in answers["second"].text
    with app.state.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None and item.status == "accepted" and item.reason == "first look"
        assert session.scalars(select(LinkOverride)).one().rule == "always"
    assert ledgered(app, "linkage.review.decided") == 1
    assert ledgered(app, "linkage.override.set") == 1
