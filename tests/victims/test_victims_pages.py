"""The victim's pages, through the real application: telling the story once, page by page,
then following the case -- on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from sqlalchemy import func, select
from victims_helpers import PASSWORD, add_organisations

from onestory.notify.tables import NotifyMessage
from onestory.victims.tables import Story, StoryDraft, StoryVersion

EMOJI_RTL = (
    "He said 😡🔥 then wrote \u05e9\u05dc\u05d5\u05dd and "
    "\u0645\u0631\u062d\u0628\u0627 on the wall."
)


def _register(client: PageCheckingClient, email: str = "jo@example.org") -> None:
    token = csrf_token_from(client.get("/register"))
    response = client.post(
        "/register",
        data={"csrf_token": token, "name": "Jo Bloggs", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    assert "About you" in response.text


def _post(client: PageCheckingClient, path: str, data: dict[str, object], status: int = 200):
    token = csrf_token_from(client.get(path))
    response = client.post(path, data={"csrf_token": token, **data})
    assert response.status_code == status, response.text[:2000]
    return response


ANSWERS: list[tuple[str, dict[str, object]]] = [
    (
        "about-you",
        {
            "full_name": "Jo Bloggs",
            "date_of_birth-day": "1",
            "date_of_birth-month": "4",
            "date_of_birth-year": "1990",
            "email": "jo@example.org",
            "phone": "07700 900123",
        },
    ),
    ("what-happened", {"what_happened": EMOJI_RTL}),
    (
        "when-and-where",
        {
            "happened_on-day": "20",
            "happened_on-month": "11",
            "happened_on-year": "2026",
            "happened_where": "High Street",
            "police_area": "01",
        },
    ),
    ("crime-reference", {"has": "no"}),
    ("language", {"language": "cy", "interpreter": "yes"}),
    ("support-needs", {"accessibility": "Step-free access"}),
    ("circumstances", {"circumstances": ["domestic_abuse"]}),
    ("contact", {"channels": ["email", "phone"]}),
    ("safe-times", {"safe_times": ["weekday_morning"], "no_messages": "yes"}),
    ("who-can-see", {"consent-VS-victim_support": "yes", "consent-CICA-compensation": "no"}),
]


def _answer_everything(client: PageCheckingClient) -> None:
    for page, data in ANSWERS:
        _post(client, f"/tell-us/{page}", data)


def _setup(app: FastAPI) -> None:
    with app.state.sessions() as session:
        add_organisations(session)
        session.commit()


def test_tell_us_once_journey(victims_app: FastAPI, victims_client: PageCheckingClient) -> None:
    _setup(victims_app)
    _register(victims_client)
    _answer_everything(victims_client)
    check = victims_client.get("/tell-us/check-answers")
    assert "Cymraeg (Welsh), with an interpreter" in check.text
    assert "Domestic abuse" in check.text
    assert "Victim Support" in check.text
    token = soup_of(check).find("input", attrs={"name": "draft_token"})["value"]
    csrf = csrf_token_from(check)
    sent = victims_client.post(
        "/tell-us/check-answers", data={"csrf_token": csrf, "draft_token": token}
    )
    assert sent.status_code == 200
    assert "Your story has been sent" in sent.text
    # A second press of "Send" (double submission) finds the same story: no duplicate.
    again = victims_client.post(
        "/tell-us/check-answers", data={"csrf_token": csrf, "draft_token": token}
    )
    assert again.status_code == 200 and "Your story has been sent" in again.text
    with victims_app.state.sessions() as session:
        story = session.scalars(select(Story)).one()
        assert story.enhanced is True
        assert session.scalar(select(func.count()).select_from(StoryDraft)) == 0
        version = session.scalars(select(StoryVersion)).one()
        assert version.what_happened == EMOJI_RTL  # emoji and right-to-left text kept exactly
        message = session.scalars(select(NotifyMessage)).one()
        assert message.language == "cy"
        reference = story.reference
    page = victims_client.get(f"/my-story/{reference}")
    assert "Your case" in page.text
    assert "Refer you to a victim support service" in page.text or "R4.1" not in page.text
    seen = victims_client.get(f"/my-story/{reference}/who-has-seen")
    assert "Who has seen your story" in seen.text


def test_answers_are_kept_when_the_session_ends(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    _register(victims_client)
    _post(victims_client, "/tell-us/about-you", dict(ANSWERS[0][1]))
    _post(victims_client, "/tell-us/what-happened", {"what_happened": "First part."})
    # The session ends (cookie gone, e.g. expired): signing in again brings the answers back.
    victims_client.cookies.clear()
    assert victims_client.get("/tell-us/what-happened").url.path == "/sign-in"
    token = csrf_token_from(victims_client.get("/sign-in"))
    victims_client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "jo@example.org", "password": PASSWORD},
    )
    page = victims_client.get("/tell-us/what-happened")
    assert "First part." in page.text


def test_a_very_long_story_is_refused_clearly_and_not_lost(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    _register(victims_client)
    long_story = "word " * 20_001  # 100,005 characters
    response = _post(victims_client, "/tell-us/what-happened", {"what_happened": long_story}, 400)
    assert "must be 100,000 characters or fewer" in response.text
    assert "you have written 100,004" in response.text
    # What they typed is given back to them in the box, whole.
    box = soup_of(response).find("textarea", attrs={"name": "what_happened"})
    assert box.get_text().strip() == long_story.strip()


def test_errors_name_the_field(victims_app: FastAPI, victims_client: PageCheckingClient) -> None:
    _setup(victims_app)
    _register(victims_client)
    response = _post(
        victims_client,
        "/tell-us/about-you",
        {
            "full_name": "",
            "date_of_birth-day": "31",
            "date_of_birth-month": "2",
            "date_of_birth-year": "1990",
        },
        400,
    )
    summary = soup_of(response).select(".govuk-error-summary a")
    assert [a["href"] for a in summary] == ["#full_name", "#date_of_birth-day"]
    assert "Date of birth must be a real date" in response.text.replace("Your date", "Date")


def test_staff_cannot_use_victim_pages(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    from victims_helpers import add_account

    with victims_app.state.sessions() as session:
        add_account(session, "pc@example.org", "police_officer", "POL01")
        session.commit()
    token = csrf_token_from(victims_client.get("/sign-in"))
    victims_client.post(
        "/sign-in", data={"csrf_token": token, "email": "pc@example.org", "password": PASSWORD}
    )
    assert victims_client.get("/tell-us/about-you").status_code == 403


def test_the_victim_can_download_everything_held_about_them(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    _register(victims_client)
    _answer_everything(victims_client)
    check = victims_client.get("/tell-us/check-answers")
    token = soup_of(check).find("input", attrs={"name": "draft_token"})["value"]
    victims_client.post(
        "/tell-us/check-answers",
        data={"csrf_token": csrf_token_from(check), "draft_token": token},
    )
    response = victims_client.get("/my-story/download")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    [story] = document["records"]["stories"]
    assert story["versions"][0]["whatHappened"] == EMOJI_RTL
    assert document["records"]["needsAndContact"]["circumstances"] == ["domestic_abuse"]
    kinds = [part["subject"]["kind"] for part in document["ledger"]]
    assert kinds[:3] == ["victim", "victim_contact", "person"]
    # The consent choices are in the export, and producing it is itself ledgered.
    person = document["ledger"][2]
    assert {c["organisationCode"] for c in person["consents"]} >= {"VS", "CICA"}
    victim_part = document["ledger"][0]
    exported = [
        e for e in victim_part["ledgerEntries"] if e["type"] == "sharing.subject_access.exported"
    ]
    assert exported, victim_part["ledgerEntries"][:2]


def test_a_complaint_starts_its_clock_and_the_reply_meets_it(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    from victims_helpers import add_account

    from onestory.victims.tables import Complaint, DutyClock

    _setup(victims_app)
    _register(victims_client)
    _answer_everything(victims_client)
    check = victims_client.get("/tell-us/check-answers")
    token = soup_of(check).find("input", attrs={"name": "draft_token"})["value"]
    victims_client.post(
        "/tell-us/check-answers",
        data={"csrf_token": csrf_token_from(check), "draft_token": token},
    )
    with victims_app.state.sessions() as session:
        reference = session.scalars(select(Story.reference)).one()
        add_account(session, "wcu@example.org", "witness_care_officer", "WCU01")
        add_account(session, "pc@example.org", "police_officer", "POL01")
        session.commit()
    _post(
        victims_client,
        f"/my-story/{reference}/complaint",
        {"organisation": "WCU01", "text": "Nobody told me the trial date."},
    )
    with victims_app.state.sessions() as session:
        complaint = session.scalars(select(Complaint)).one()
        clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R12.1")).one()
        assert clock.owner_code == "WCU01" and clock.met_at is None
        assert session.scalar(
            select(NotifyMessage.body).where(NotifyMessage.template == "complaint-received")
        ).count(complaint.reference)

    staff = PageCheckingClient(victims_app)
    for email, can_read in (("pc@example.org", False), ("wcu@example.org", True)):
        staff.cookies.clear()
        token = csrf_token_from(staff.get("/sign-in"))
        staff.post("/sign-in", data={"csrf_token": token, "email": email, "password": PASSWORD})
        page = staff.get(f"/complaints/{complaint.reference}")
        assert (page.status_code == 200) is can_read
    assert complaint.reference in staff.get("/complaints").text
    _post(staff, f"/complaints/{complaint.reference}", {"answer": "Sorry: it is on 3 March."})
    with victims_app.state.sessions() as session:
        clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R12.1")).one()
        assert clock.met_at is not None and clock.met_by == "complaint.answered by WCU01"
        assert session.scalar(
            select(func.count())
            .select_from(NotifyMessage)
            .where(NotifyMessage.reference == f"complaint:{complaint.id}:answered")
        )
    assert "Sorry: it is on 3 March." in victims_client.get(f"/my-story/{reference}").text


def test_registration_is_rate_limited_per_address(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    from onestory.web.ratelimit import SIGN_IN_ATTEMPTS_PER_ADDRESS

    statuses = []
    for n in range(SIGN_IN_ATTEMPTS_PER_ADDRESS + 1):
        token = csrf_token_from(victims_client.get("/register"))
        response = victims_client.post(
            "/register",
            data={"csrf_token": token, "name": "X", "email": f"bad{n}", "password": "short"},
        )
        statuses.append(response.status_code)
    assert statuses[:-1] == [400] * SIGN_IN_ATTEMPTS_PER_ADDRESS
    assert statuses[-1] == 429
    assert "Too many attempts" in response.text


def test_answers_too_long_for_their_field_are_refused_and_given_back(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    _register(victims_client)
    long_reference = "CRN-" + "9" * 60
    response = _post(
        victims_client,
        "/tell-us/crime-reference",
        {"has": "yes", "crime_reference": long_reference},
        400,
    )
    assert "Crime reference number must be 40 characters or fewer; you have written 64" in (
        response.text
    )
    assert soup_of(response).find("input", attrs={"name": "crime_reference"})["value"] == (
        long_reference
    )
    response = _post(victims_client, "/tell-us/language", {"language": "other",
                     "other_language": "x" * 101}, 400)  # fmt: skip
    assert "The language must be 100 characters or fewer" in response.text
    with victims_app.state.sessions() as session:
        draft = session.scalars(select(StoryDraft)).one()
        assert "crime-reference" not in draft.answers  # nothing half-kept


def test_a_statement_too_long_is_refused_with_the_text_given_back(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    _setup(victims_app)
    _register(victims_client)
    _answer_everything(victims_client)
    check = victims_client.get("/tell-us/check-answers")
    token = soup_of(check).find("input", attrs={"name": "draft_token"})["value"]
    victims_client.post(
        "/tell-us/check-answers",
        data={"csrf_token": csrf_token_from(check), "draft_token": token},
    )
    with victims_app.state.sessions() as session:
        reference = session.scalars(select(Story.reference)).one()
    statement = "It changed my life. " * 5001  # 100,020 characters
    response = _post(victims_client, f"/my-story/{reference}/statement", {"text": statement}, 400)
    assert "Your statement must be 100,000 characters or fewer" in response.text
    box = soup_of(response).find("textarea", attrs={"name": "text"})
    assert box.get_text().strip() == statement.strip()
    response = _post(
        victims_client,
        f"/my-story/{reference}/update",
        {"what_happened": "Same story.", "crime_reference": "X" * 41},
        400,
    )
    assert "Crime reference number must be 40 characters or fewer" in response.text
