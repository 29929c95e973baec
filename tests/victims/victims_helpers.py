"""Building blocks the victims tests share: the organisations of one police area, accounts,
and a complete set of answers to the story questions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount
from onestory.victims.stories import load_draft, save_answer

PASSWORD = "correct horse battery staple"

ORGANISATIONS = (
    ("POL01", "Metropolitan Police Service", "police", "01"),
    ("POL04", "Lancashire Constabulary", "police", "04"),
    ("WCU01", "Metropolitan Police Witness Care Unit", "witness_care", "01"),
    ("WCU04", "Lancashire Constabulary Witness Care Unit", "witness_care", "04"),
    ("VS", "Victim Support", "victim_support", None),
    ("CICA", "Criminal Injuries Compensation Authority", "compensation", None),
    ("STRAMC", "Stratford Magistrates' Court", "court", None),
    ("CPS-LN", "CPS London North", "cps", None),
    ("CPS-NW", "CPS North West", "cps", None),
    ("PS-LDN", "Probation Service London", "probation", None),
    ("PS-NW", "Probation Service North West", "probation", None),
)


def add_organisations(session: Session) -> None:
    for code, name, kind, area in ORGANISATIONS:
        session.add(Organisation(code=code, name=name, kind=kind, police_area=area))
    session.flush()


def add_account(
    session: Session, email: str, role: str, organisation_code: str | None = None
) -> UserAccount:
    organisation = None
    if organisation_code:
        organisation = session.query(Organisation).filter_by(code=organisation_code).one()
    user = UserAccount(
        email=email,
        display_name=email.split("@")[0],
        role=role,
        organisation=organisation,
        password_hash=hash_password(PASSWORD),
    )
    session.add(user)
    session.flush()
    return user


def full_answers(
    *, support: str = "yes", compensation: str = "no", channels: tuple[str, ...] = ("email",)
) -> dict[str, dict[str, Any]]:
    return {
        "about-you": {
            "full_name": "Jo Bloggs",
            "date_of_birth": "1990-04-01",
            "email": "jo@example.org",
            "phone": "07700 900123",
        },
        "what-happened": {"what_happened": "Someone broke into my car and took my bag."},
        "when-and-where": {
            "happened_on": "2026-11-20",
            "happened_where": "Outside 10 High Street",
            "police_area": "01",
        },
        "crime-reference": {"has": "no"},
        "language": {"language": "en", "interpreter": False},
        "support-needs": {"accessibility": "Large print please"},
        "circumstances": {"circumstances": ["none"]},
        "contact": {"channels": list(channels)},
        "safe-times": {"safe_times": [], "no_messages": True},
        "who-can-see": {
            "choices": {"VS:victim_support": support, "CICA:compensation": compensation}
        },
    }


def fill_draft(session: Session, account_id: int, answers: dict[str, dict[str, Any]]) -> str:
    for page, answer in answers.items():
        save_answer(session, account_id, page, answer)
    return load_draft(session, account_id).token
