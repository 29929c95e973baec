"""The questions of "Tell us once", one per page, as data: what each page asks and how its
answer is read and checked.

Each page's fields are rendered by one template from these specifications, so adding or
rewording a question is a change here, not a new template. ``read`` turns the submitted form
into the answer kept in the draft, or into error messages naming each field at fault, in the
GOV.UK Design System's wording ("Enter...", "Select...").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from onestory.victims.stories import ENHANCED_CIRCUMSTANCES, MAX_STORY_CHARACTERS
from onestory.victims.timeline import SAFE_TIMES

Form = Mapping[str, Any]  # field name -> str, or list[str] for checkboxes
Answer = dict[str, Any]
Errors = dict[str, str]


@dataclass(frozen=True)
class Field:
    """One form field: ``kind`` is text, email, tel, textarea, date, radios, checkboxes or
    select; ``items`` are (value, label, hint) for choices."""

    name: str
    kind: str
    label: str
    hint: str | None = None
    items: tuple[tuple[str, str, str | None], ...] = ()
    autocomplete: str | None = None
    width: str | None = None
    spellcheck: bool | None = None
    rows: int = 8


@dataclass(frozen=True)
class Question:
    """One page of the journey."""

    slug: str
    title: str
    summary: str  # the key on the check-answers page
    fields: tuple[Field, ...]
    read: Callable[[Form], tuple[Answer, Errors]]
    intro: str | None = None


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def bounded(form: Form, name: str, limit: int, label: str, errors: Errors) -> str:
    """A text answer, whole; an error naming the field when it is longer than ``limit`` (the
    page then gives back everything that was typed, so nothing is lost)."""
    text = _text(form, name)
    if len(text) > limit:
        errors[name] = (
            f"{label} must be {limit:,} characters or fewer; you have written {len(text):,}"
        )
    return text


def _many(form: Form, name: str) -> list[str]:
    value = form.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def read_date(
    form: Form, name: str, label: str, *, required: bool
) -> tuple[str | None, str | None]:
    """A GOV.UK date input (``name-day``, ``name-month``, ``name-year``) as an ISO date."""
    parts = [_text(form, f"{name}-{p}") for p in ("day", "month", "year")]
    if not any(parts):
        return None, (f"Enter {label}" if required else None)
    if not all(parts):
        missing = [p for p, v in zip(("a day", "a month", "a year"), parts, strict=True) if not v]
        return None, f"{label.capitalize()} must include {' and '.join(missing)}"
    try:
        day, month, year = (int(p) for p in parts)
        value = date(year, month, day)
    except ValueError:
        return None, f"{label.capitalize()} must be a real date"
    if value > date.today():
        return None, f"{label.capitalize()} must be today or in the past"
    if year < 1900:
        return None, f"{label.capitalize()} must be after 1900"
    return value.isoformat(), None


def _about(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    name = bounded(form, "full_name", 200, "Full name", errors)
    if not name:
        errors["full_name"] = "Enter your full name"
    born, problem = read_date(form, "date_of_birth", "your date of birth", required=False)
    if problem:
        errors["date_of_birth"] = problem
    email = bounded(form, "email", 320, "Email address", errors)
    if (
        email
        and "email" not in errors
        and ("@" not in email or email.startswith("@") or email.endswith("@"))
    ):
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    phone = bounded(form, "phone", 32, "Telephone number", errors)
    digits = [c for c in phone if c.isdigit()]
    if phone and "phone" not in errors and (len(digits) < 10 or len(digits) > 15):
        errors["phone"] = "Enter a telephone number, like 01632 960 001 or 07700 900 982"
    if not email and not phone and not errors:
        errors["email"] = "Enter an email address or a telephone number, so we can contact you"
    answer = {"full_name": name, "date_of_birth": born, "email": email, "phone": phone}
    return answer, errors


def _what(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    text = bounded(form, "what_happened", MAX_STORY_CHARACTERS, "What happened", errors)
    if not text:
        errors["what_happened"] = "Enter what happened"
    elif errors:
        errors["what_happened"] += (
            ". Nothing you wrote has been lost: shorten it here, or tell the police the rest "
            "when they contact you"
        )
    return {"what_happened": text}, errors


def _when_where(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    when, problem = read_date(form, "happened_on", "the date it happened", required=False)
    if problem:
        errors["happened_on"] = problem
    area = _text(form, "police_area")
    if not area or len(area) > 8:
        errors["police_area"] = "Select the police force area where it happened"
    answer = {
        "happened_on": when,
        "happened_where": bounded(form, "happened_where", 1000, "Where it happened", errors),
        "police_area": area,
    }
    return answer, errors


def _crime_reference(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    has = _text(form, "has")
    ref = bounded(form, "crime_reference", 40, "Crime reference number", errors)
    if has not in {"yes", "no"}:
        return {"has": ""}, {"has": "Select yes if you have a crime reference number"}
    if has == "yes" and not ref:
        errors["crime_reference"] = "Enter your crime reference number"
    return {"has": has, "crime_reference": ref if has == "yes" else ""}, (
        errors if has == "yes" else {}
    )


def _language(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    language = _text(form, "language")
    other = bounded(form, "other_language", 100, "The language", errors)
    if language not in {"en", "cy", "other"}:
        return {}, {"language": "Select the language you would like us to use"}
    if language == "other" and not other:
        return {"language": language}, {"other_language": "Enter the language"}
    if language == "other" and errors:
        return {"language": language}, errors
    answer = {
        "language": language,
        "other_language": other if language == "other" else "",
        "interpreter": form.get("interpreter") == "yes",
    }
    return answer, {}


def _needs(form: Form) -> tuple[Answer, Errors]:
    errors: Errors = {}
    answer = {
        "accessibility": bounded(form, "accessibility", 2000, "What would help you", errors),
        "disability": bounded(form, "disability", 2000, "Your disability or condition", errors),
    }
    return answer, errors


def _circumstances(form: Form) -> tuple[Answer, Errors]:
    chosen = [c for c in _many(form, "circumstances") if c in ENHANCED_CIRCUMSTANCES or c == "none"]
    if not chosen:
        return {}, {"circumstances": "Select all that apply, or select 'None of these'"}
    if "none" in chosen and len(chosen) > 1:
        return {"circumstances": chosen}, {
            "circumstances": "Select 'None of these' on its own, or the ones that apply"
        }
    return {"circumstances": chosen}, {}


CHANNELS = (
    ("email", "Email", None),
    ("text", "Text message", None),
    ("phone", "Phone call", None),
    ("letter", "Letter", None),
)


def _contact(form: Form) -> tuple[Answer, Errors]:
    chosen = [c for c in _many(form, "channels") if c in {v for v, _, _ in CHANNELS}]
    if not chosen:
        return {}, {"channels": "Select at least one way we can contact you"}
    return {"channels": chosen}, {}


def _safe_times(form: Form) -> tuple[Answer, Errors]:
    chosen = [c for c in _many(form, "safe_times") if c in SAFE_TIMES]
    return {"safe_times": chosen, "no_messages": form.get("no_messages") == "yes"}, {}


def _date_field(name: str, label: str, hint: str) -> Field:
    return Field(name, "date", label, hint)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "about-you",
        "About you",
        "About you",
        (
            Field("full_name", "text", "Full name", autocomplete="name", spellcheck=False),
            _date_field("date_of_birth", "Date of birth (optional)", "For example, 27 3 1990"),
            Field(
                "email",
                "email",
                "Email address",
                "We will only use this to tell you about your case",
                autocomplete="email",
                spellcheck=False,
            ),
            Field(
                "phone",
                "tel",
                "UK telephone number",
                "For international numbers include the country code",
                autocomplete="tel",
                width="govuk-input--width-20",
            ),
        ),
        _about,
        intro="Give an email address, a telephone number, or both.",
    ),
    Question(
        "what-happened",
        "What happened?",
        "What happened",
        (
            Field(
                "what_happened",
                "textarea",
                "What happened?",
                "Tell us in your own words. Include anything you think is important. You only "
                "need to tell us once: we will share it with the organisations you choose.",
                rows=12,
            ),
        ),
        _what,
    ),
    Question(
        "when-and-where",
        "When and where did it happen?",
        "When and where",
        (
            _date_field(
                "happened_on",
                "When did it happen? (optional)",
                "If you are not sure, leave it blank. For example, 27 3 2026",
            ),
            Field("happened_where", "textarea", "Where did it happen? (optional)", rows=3),
            Field(
                "police_area",
                "select",
                "Which police force area did it happen in?",
                "Your story will go to this police force",
            ),
        ),
        _when_where,
    ),
    Question(
        "crime-reference",
        "Do you have a crime reference number?",
        "Crime reference number",
        (
            Field(
                "has",
                "radios",
                "Do you have a crime reference number?",
                "You will have one if you have already reported the crime to the police",
                items=(("yes", "Yes", None), ("no", "No", None)),
            ),
            Field(
                "crime_reference", "text", "Crime reference number", width="govuk-input--width-20"
            ),
        ),
        _crime_reference,
    ),
    Question(
        "language",
        "Which language would you like us to use?",
        "Language",
        (
            Field(
                "language",
                "radios",
                "Which language would you like us to use?",
                items=(
                    ("en", "English", None),
                    ("cy", "Cymraeg (Welsh)", None),
                    ("other", "Another language", None),
                ),
            ),
            Field("other_language", "text", "Which language?", width="govuk-input--width-20"),
            Field(
                "interpreter",
                "checkboxes",
                "Interpreter",
                items=(("yes", "I need an interpreter", None),),
            ),
        ),
        _language,
    ),
    Question(
        "support-needs",
        "Is there anything that would help you?",
        "What would help you",
        (
            Field(
                "accessibility",
                "textarea",
                "Do you need anything to help you use our services or go to court? (optional)",
                "For example, large print, an accessible building, or a supporter with you",
                rows=4,
            ),
            Field(
                "disability",
                "textarea",
                "Do you have a disability or health condition we should know about? (optional)",
                rows=4,
            ),
        ),
        _needs,
    ),
    Question(
        "circumstances",
        "Do any of these apply to you?",
        "Your circumstances",
        (
            Field(
                "circumstances",
                "checkboxes",
                "Do any of these apply to you?",
                "If any do, you are entitled to enhanced rights: you will be told about your "
                "case sooner and offered more support. Select all that apply.",
                items=(
                    *((k, v, None) for k, v in ENHANCED_CIRCUMSTANCES.items()),
                    ("none", "None of these", None),
                ),
            ),
        ),
        _circumstances,
    ),
    Question(
        "contact",
        "How can we contact you?",
        "How to contact you",
        (
            Field(
                "channels",
                "checkboxes",
                "How can we contact you?",
                "Select all the ways that are safe for you",
                items=CHANNELS,
            ),
        ),
        _contact,
    ),
    Question(
        "safe-times",
        "When is it safe to contact you?",
        "When it is safe to contact you",
        (
            Field(
                "safe_times",
                "checkboxes",
                "When is it safe to contact you?",
                "We will only send messages and call at these times. Select none if any time is "
                "safe.",
                items=tuple((k, label, None) for k, (label, _) in SAFE_TIMES.items()),
            ),
            Field(
                "no_messages",
                "checkboxes",
                "Messages",
                items=(("yes", "Do not leave voicemail or messages with anyone else", None),),
            ),
        ),
        _safe_times,
    ),
)

BY_SLUG: dict[str, Question] = {q.slug: q for q in QUESTIONS}
ORDER: tuple[str, ...] = (*(q.slug for q in QUESTIONS), "who-can-see", "check-answers")


def next_page(slug: str) -> str:
    """The page after ``slug`` in the journey."""
    return ORDER[ORDER.index(slug) + 1]


def previous_page(slug: str) -> str | None:
    """The page before ``slug``, for the back link."""
    index = ORDER.index(slug)
    return ORDER[index - 1] if index else None
