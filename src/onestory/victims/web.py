"""The victim's pages: tell your story once, then follow the case and stay in control of it.

Every page has the "Exit this page" control. Answers are saved to the draft page by page, so a
session that expires mid-journey loses nothing: after signing in again the victim carries on.
Every read of the victim's records goes through the sharing rules like anyone else's (the
victim-own-access agreement), so their own reads appear in their own access history too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.sharing.accounts import AccountError, create_account
from onestory.sharing.consent import grant_consent, has_consent, withdraw_consent
from onestory.sharing.policy import PolicySet
from onestory.sharing.sar import ledgered_export, subject_access_export
from onestory.sharing.tables import Organisation, UserAccount
from onestory.sharing.transparency import AccessRecord, access_history
from onestory.sharing.vocabulary import Role
from onestory.victims import questions, routing, stories, timeline
from onestory.victims.access import (
    NotAllowed,
    case_record,
    require,
    story_record,
    victim_actor,
    victim_record,
)
from onestory.victims.duties import LONDON
from onestory.victims.tables import Story
from onestory.web.auth import SignInLimiterDep, too_many_attempts
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser, start_session
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

MIN_PASSWORD_LENGTH = 12


def _policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def require_victim(user: SignedInUser) -> UserAccount:
    """Only members of the public use these pages; staff have their own."""
    if user.role != Role.VICTIM:
        raise HTTPException(403)
    return user


VictimUser = Annotated[UserAccount, Depends(require_victim)]


async def _form(request: Request) -> dict[str, Any]:
    """The submitted form, with repeated names (checkboxes) as lists.

    A dependency, read on the event loop, so that the handlers that take it can stay
    synchronous and do their database work on the thread pool rather than block the loop.
    """
    data = await request.form()
    result: dict[str, Any] = {}
    for key in data:
        values = [v for v in data.getlist(key) if isinstance(v, str)]
        result[key] = values if len(values) > 1 else (values[0] if values else "")
    return result


FormData = Annotated[dict[str, Any], Depends(_form)]


def _error_summary(
    errors: dict[str, str], fields: list[questions.Field] | None = None
) -> list[dict[str, str]]:
    anchors = {}
    for f in fields or []:
        anchors[f.name] = f"{f.name}-day" if f.kind == "date" else f.name
    return [{"text": text, "href": f"#{anchors.get(name, name)}"} for name, text in errors.items()]


def _values_from_answer(question: questions.Question, answer: dict[str, Any]) -> dict[str, Any]:
    values = dict(answer)
    for f in question.fields:
        if f.kind == "date" and isinstance(answer.get(f.name), str):
            day = date.fromisoformat(answer[f.name])
            values[f"{f.name}-day"], values[f"{f.name}-month"], values[f"{f.name}-year"] = (
                str(day.day),
                str(day.month),
                str(day.year),
            )
        if f.kind == "checkboxes" and isinstance(answer.get(f.name), bool):
            values[f.name] = ["yes"] if answer[f.name] else []
    return values


# --- start and register ----------------------------------------------------------------------


@router.get("/tell-us", response_class=HTMLResponse)
def start(request: Request) -> HTMLResponse:
    return render(request, "victims/victim/start.html", {"title": "Tell us once"})


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request) -> HTMLResponse:
    return render(request, "victims/victim/register.html", {"title": "Create an account"})


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    limiter: SignInLimiterDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    errors: dict[str, str] = {}
    email, name = email.strip(), name.strip()
    # Creating accounts shares the sign-in limits, per address and per email: one source cannot
    # create accounts (or probe for existing ones) faster than it could try passwords.
    address = request.client.host if request.client else "unknown"
    wait = limiter.attempt(address, email or "-")
    if wait is not None:
        errors["email"] = too_many_attempts(wait)
        response = render(
            request,
            "victims/victim/register.html",
            {
                "title": "Create an account",
                "errors": errors,
                "summary": _error_summary(errors),
                "values": {"email": email, "name": name},
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    form = {"name": name, "email": email}
    questions.bounded(form, "name", 200, "Your name", errors)
    questions.bounded(form, "email", 320, "Email address", errors)
    if not name:
        errors["name"] = "Enter your name"
    if "@" not in email:
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
    if not errors:
        try:
            user = create_account(
                session, email=email, display_name=name, role=Role.VICTIM, password=password
            )
            session.commit()
        except AccountError:
            session.rollback()
            errors["email"] = "There is already an account for this email address: sign in instead"
        else:
            start_session(request, user, "password")
            return RedirectResponse("/tell-us/about-you", status_code=303)
    return render(
        request,
        "victims/victim/register.html",
        {
            "title": "Create an account",
            "errors": errors,
            "summary": _error_summary(errors),
            "values": {"email": email, "name": name},
        },
        status_code=400,
    )


# --- the questions ---------------------------------------------------------------------------


def _question_page(
    request: Request,
    session: Session,
    question: questions.Question,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    back = questions.previous_page(question.slug)
    return render(
        request,
        "victims/victim/question.html",
        {
            "title": question.title,
            "question": question,
            "values": values,
            "errors": errors,
            "summary": _error_summary(errors or {}, list(question.fields)),
            "back": f"/tell-us/{back}" if back else "/tell-us",
            "areas": routing.police_areas(session),
            "change": request.query_params.get("change") == "1",
        },
        status_code=status_code,
    )


@router.get("/tell-us/who-can-see", response_class=HTMLResponse)
def who_can_see(request: Request, session: SessionDep, user: VictimUser) -> HTMLResponse:
    draft = stories.load_draft(session, user.id)
    session.commit()
    return _sharing_page(request, session, draft.answers, {})


def _sharing_page(
    request: Request,
    session: Session,
    answers: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    area = str((answers.get("when-and-where") or {}).get("police_area") or "")
    options = routing.recipient_options(session, _policies(request), area)
    choices = (answers.get("who-can-see") or {}).get("choices", {})
    return render(
        request,
        "victims/victim/who_can_see.html",
        {
            "title": "Who can see what you tell us",
            "options": options,
            "choices": choices,
            "errors": errors,
            "summary": [{"text": t, "href": f"#{k}"} for k, t in errors.items()],
            "back": "/tell-us/safe-times",
            "no_area": not area,
        },
        status_code=status_code,
    )


def _field_id(option: routing.RecipientOption) -> str:
    return f"consent-{option.organisation_code}-{option.purpose}"


@router.post("/tell-us/who-can-see", response_class=HTMLResponse)
def save_who_can_see(
    request: Request, session: SessionDep, user: VictimUser, form: FormData
) -> Response:
    draft = stories.load_draft(session, user.id)
    area = str((draft.answers.get("when-and-where") or {}).get("police_area") or "")
    options = routing.recipient_options(session, _policies(request), area)
    choices: dict[str, str] = {}
    errors: dict[str, str] = {}
    for option in options:
        if not option.consent_required:
            continue
        value = form.get(_field_id(option))
        if value in {"yes", "no"}:
            choices[option.key] = str(value)
        else:
            errors[_field_id(option)] = (
                f"Select yes if {option.organisation_name} may receive what you tell us"
            )
    stories.save_answer(session, user.id, "who-can-see", {"choices": choices})
    session.commit()
    if errors:
        answers = dict(draft.answers)
        return _sharing_page(request, session, answers, errors, status_code=400)
    return RedirectResponse("/tell-us/check-answers", status_code=303)


@router.get("/tell-us/check-answers", response_class=HTMLResponse)
def check_answers(request: Request, session: SessionDep, user: VictimUser) -> HTMLResponse:
    draft = stories.load_draft(session, user.id)
    session.commit()
    return _check_page(request, session, draft.answers, draft.token)


def _check_page(
    request: Request,
    session: Session,
    answers: dict[str, Any],
    token: str,
    error: str | None = None,
    error_page: str | None = None,
) -> HTMLResponse:
    area = str((answers.get("when-and-where") or {}).get("police_area") or "")
    options = routing.recipient_options(session, _policies(request), area)
    areas = dict(routing.police_areas(session))
    missing = [q for q in questions.QUESTIONS if q.slug not in answers]
    return render(
        request,
        "victims/victim/check_answers.html",
        {
            "title": "Check your answers before sending them",
            "questions": questions.QUESTIONS,
            "answers": answers,
            "options": options,
            "choices": (answers.get("who-can-see") or {}).get("choices", {}),
            "areas": areas,
            "token": token,
            "missing": missing,
            "circumstance_words": stories.ENHANCED_CIRCUMSTANCES,
            "safe_time_words": {k: v[0] for k, v in timeline.SAFE_TIMES.items()},
            "errors": {"submit": error} if error else None,
            "summary": [{"text": error, "href": f"/tell-us/{error_page}"}] if error else [],
            "back": "/tell-us/who-can-see",
        },
        status_code=400 if error else 200,
    )


@router.post("/tell-us/check-answers", response_class=HTMLResponse)
def submit(
    request: Request,
    session: SessionDep,
    user: VictimUser,
    draft_token: Annotated[str, Form()] = "",
) -> Response:
    try:
        submitted = stories.submit_story(
            session, _policies(request), user=user, draft_token=draft_token
        )
    except stories.StoryError as exc:
        session.rollback()
        draft = stories.load_draft(session, user.id)
        session.commit()
        return _check_page(request, session, draft.answers, draft.token, str(exc), exc.page)
    except NotAllowed as exc:
        session.rollback()
        raise HTTPException(404) from exc
    session.commit()
    return RedirectResponse(f"/tell-us/confirmation/{submitted.story.reference}", status_code=303)


@router.get("/tell-us/confirmation/{reference}", response_class=HTMLResponse)
def confirmation(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    recipients = _recipient_names(session, story)
    session.commit()
    return render(
        request,
        "victims/victim/confirmation.html",
        {"title": "Your story has been sent", "story": story, "recipients": recipients},
    )


@router.get("/tell-us/{slug}", response_class=HTMLResponse)
def question(request: Request, slug: str, session: SessionDep, user: VictimUser) -> HTMLResponse:
    q = questions.BY_SLUG.get(slug)
    if q is None:
        raise HTTPException(404)
    draft = stories.load_draft(session, user.id)
    session.commit()
    return _question_page(request, session, q, _values_from_answer(q, draft.answers.get(slug, {})))


@router.post("/tell-us/{slug}", response_class=HTMLResponse)
def answer(
    request: Request, slug: str, session: SessionDep, user: VictimUser, form: FormData
) -> Response:
    q = questions.BY_SLUG.get(slug)
    if q is None:
        raise HTTPException(404)
    value, errors = q.read(form)
    if errors:
        return _question_page(request, session, q, form, errors, status_code=400)
    stories.save_answer(session, user.id, slug, value)
    session.commit()
    if request.query_params.get("change") == "1":
        return RedirectResponse("/tell-us/check-answers", status_code=303)
    return RedirectResponse(f"/tell-us/{questions.next_page(slug)}", status_code=303)


# --- afterwards: the victim's own story ------------------------------------------------------


def _own(
    request: Request, session: Session, user: UserAccount, reference: str
) -> tuple[Story, Any]:
    try:
        return stories.own_story(session, _policies(request), user, reference)
    except NotAllowed as exc:
        session.commit()  # the refusal is ledgered
        raise HTTPException(404) from exc


def _recipient_names(session: Session, story: Story) -> list[tuple[str, str]]:
    codes = {r.organisation_code: r.purpose for r in story.recipients}
    names = dict(
        session.execute(
            select(Organisation.code, Organisation.name).where(Organisation.code.in_(codes))
        ).all()
    )
    return [
        (names.get(code, code), routing.PURPOSE_WORDS.get(purpose, purpose))
        for code, purpose in codes.items()
    ]


@router.get("/my-story", response_class=HTMLResponse)
def my_stories(request: Request, session: SessionDep, user: VictimUser) -> Response:
    victim = stories.victim_for_account(session, user.id)
    own = list(victim.stories) if victim else []
    if len(own) == 1:
        return RedirectResponse(f"/my-story/{own[0].reference}", status_code=303)
    return render(
        request, "victims/victim/my_stories.html", {"title": "Your stories", "stories": own}
    )


@router.get("/my-story/download")
def download(request: Request, session: SessionDep, user: VictimUser) -> JSONResponse:
    """A copy of everything held about the victim (DPA 2018 s45): their records, and the ledger
    entries about them with each one's details. Producing it is ledgered, like any disclosure."""
    victim = stories.victim_for_account(session, user.id)
    if victim is None:
        raise HTTPException(404)
    actor = victim_actor(user, victim)
    for record in (victim_record(victim.id), *(story_record(s) for s in victim.stories)):
        try:
            require(session, _policies(request), actor, "export", record, "own_access")
        except NotAllowed as exc:
            session.commit()
            raise HTTPException(404) from exc
    ledger = [
        ledgered_export(
            session, actor=actor.user_or_client_id, subject_kind="victim", subject_id=victim.id
        )
    ]
    others = [("victim_contact", victim.id), ("person", victim.id)]
    for story in victim.stories:
        others += [("victim_story", story.reference), ("case", story.reference)]
    ledger += [subject_access_export(session, subject_kind=k, subject_id=i) for k, i in others]
    document = {"records": stories.own_records(session, victim), "ledger": ledger}
    session.commit()
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": 'attachment; filename="onestory-my-records.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/my-story/{reference}", response_class=HTMLResponse)
def my_story(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, actor = _own(request, session, user, reference)
    # The timeline is the case as the victim follows it: a record of its own, read by its rule.
    try:
        require(session, _policies(request), actor, "read", case_record(story), "own_access")
    except NotAllowed as exc:
        session.commit()
        raise HTTPException(404) from exc
    entries = timeline.timeline(session, story)
    clocks = timeline.story_duties(session, story.id)
    statements = stories.statements(session, story.id)
    session.commit()
    return render(
        request,
        "victims/victim/my_story.html",
        {
            "title": "Your case",
            "story": story,
            "entries": entries,
            "clocks": clocks,
            "status": timeline.duty_status,
            "rule_title": timeline.rule_title,
            "statement": statements[-1] if statements else None,
            "complaints": stories.complaints_about(session, story.id),
            "recipients": _recipient_names(session, story),
            "london": LONDON,
            "saved": request.query_params.get("saved"),
        },
    )


@router.get("/my-story/{reference}/update", response_class=HTMLResponse)
def update_form(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    latest = story.versions[-1]
    session.commit()
    return render(
        request,
        "victims/victim/update.html",
        {"title": "Update your story", "story": story, "latest": latest, "values": {}},
    )


@router.post("/my-story/{reference}/update", response_class=HTMLResponse)
def update(
    request: Request, reference: str, session: SessionDep, user: VictimUser, form: FormData
) -> Response:
    story, actor = _own(request, session, user, reference)
    what, errors = questions.BY_SLUG["what-happened"].read(form)
    when, problem = questions.read_date(form, "happened_on", "the date it happened", required=False)
    if problem:
        errors["happened_on"] = problem
    where = questions.bounded(form, "happened_where", 1000, "Where it happened", errors)
    crime_reference = questions.bounded(
        form, "crime_reference", 40, "Crime reference number", errors
    )
    if errors:
        session.commit()
        return render(
            request,
            "victims/victim/update.html",
            {
                "title": "Update your story",
                "story": story,
                "latest": story.versions[-1],
                "values": form,
                "errors": errors,
                "summary": _error_summary(errors),
            },
            status_code=400,
        )
    version = stories.update_story(
        session,
        _policies(request),
        actor=actor,
        story=story,
        what_happened=what["what_happened"],
        happened_on=date.fromisoformat(when) if when else None,
        happened_where=where or None,
        crime_reference=crime_reference or None,
    )
    session.commit()
    saved = "story" if version else "unchanged"
    return RedirectResponse(f"/my-story/{story.reference}?saved={saved}", status_code=303)


@router.get("/my-story/{reference}/statement", response_class=HTMLResponse)
def statement_form(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    current = stories.statements(session, story.id)
    session.commit()
    return render(
        request,
        "victims/victim/statement.html",
        {
            "title": "Your Victim Personal Statement",
            "story": story,
            "current": current[-1] if current else None,
        },
    )


@router.post("/my-story/{reference}/statement", response_class=HTMLResponse)
def save_statement(
    request: Request,
    reference: str,
    session: SessionDep,
    user: VictimUser,
    text: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "save",
) -> Response:
    story, actor = _own(request, session, user, reference)
    errors: dict[str, str] = {}
    text = questions.bounded(
        {"text": text}, "text", stories.MAX_STORY_CHARACTERS, "Your statement", errors
    )
    if action != "withdraw" and not text:
        errors["text"] = "Enter your statement, or withdraw it"
    if action != "withdraw" and errors:
        current = stories.statements(session, story.id)
        session.commit()
        return render(
            request,
            "victims/victim/statement.html",
            {
                "title": "Your Victim Personal Statement",
                "story": story,
                "current": current[-1] if current else None,
                "typed": text,
                "errors": errors,
                "summary": _error_summary(errors),
            },
            status_code=400,
        )
    stories.save_personal_statement(
        session,
        _policies(request),
        actor=actor,
        story=story,
        text=None if action == "withdraw" else text,
    )
    session.commit()
    saved = "statement-withdrawn" if action == "withdraw" else "statement"
    return RedirectResponse(f"/my-story/{story.reference}?saved={saved}", status_code=303)


VICTIM_SUBJECT_KINDS = ("victim", "victim_contact", "person")


def victim_history(session: Session, story: Story) -> list[AccessRecord]:
    """Every ledger entry about the victim's records, newest first."""
    records: dict[int, AccessRecord] = {}
    subjects = [(kind, story.victim_id) for kind in VICTIM_SUBJECT_KINDS]
    for other in story.victim.stories:
        subjects += [("victim_story", other.reference), ("case", other.reference)]
    for kind, subject_id in subjects:
        for record in access_history(session, subject_kind=kind, subject_id=subject_id):
            records[record.seq] = record
    return sorted(records.values(), key=lambda r: r.seq, reverse=True)


@router.get("/my-story/{reference}/who-has-seen", response_class=HTMLResponse)
def who_has_seen(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    history = victim_history(session, story)
    session.commit()
    return render(
        request,
        "victims/victim/who_has_seen.html",
        {"title": "Who has seen your story", "story": story, "history": history},
    )


@router.get("/my-story/{reference}/sharing", response_class=HTMLResponse)
def sharing(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    options = routing.recipient_options(session, _policies(request), story.police_area)
    current = {
        o.key: has_consent(
            session,
            subject_id=story.victim_id,
            organisation_kind=o.organisation_kind,
            organisation_code=o.organisation_code,
            purpose=o.purpose,
        )
        for o in options
        if o.consent_required
    }
    session.commit()
    return render(
        request,
        "victims/victim/sharing.html",
        {"title": "Who can see your story", "story": story, "options": options, "current": current},
    )


@router.post("/my-story/{reference}/sharing", response_class=HTMLResponse)
def change_sharing(
    request: Request, reference: str, session: SessionDep, user: VictimUser, form: FormData
) -> Response:
    story, actor = _own(request, session, user, reference)
    options = routing.recipient_options(session, _policies(request), story.police_area)
    for option in options:
        if not option.consent_required:
            continue
        wanted = form.get(_field_id(option))
        if wanted not in {"yes", "no"}:
            continue
        now = has_consent(
            session,
            subject_id=story.victim_id,
            organisation_kind=option.organisation_kind,
            organisation_code=option.organisation_code,
            purpose=option.purpose,
        )
        if (wanted == "yes") == now:
            continue
        change = grant_consent if wanted == "yes" else withdraw_consent
        change(
            session,
            actor=actor,
            subject_id=story.victim_id,
            organisation_kind=option.organisation_kind,
            organisation_code=option.organisation_code,
            purpose=option.purpose,
        )
        if wanted == "yes":
            stories.add_recipient(session, story, option)
    session.commit()
    return RedirectResponse(f"/my-story/{story.reference}?saved=sharing", status_code=303)


@router.get("/my-story/{reference}/complaint", response_class=HTMLResponse)
def complaint_form(
    request: Request, reference: str, session: SessionDep, user: VictimUser
) -> HTMLResponse:
    story, _ = _own(request, session, user, reference)
    organisations = _complaint_targets(session, story)
    session.commit()
    return render(
        request,
        "victims/victim/complaint.html",
        {"title": "Make a complaint", "story": story, "organisations": organisations, "values": {}},
    )


def _complaint_targets(session: Session, story: Story) -> list[tuple[str, str]]:
    codes = {r.organisation_code for r in story.recipients}
    codes.update(c.owner_code for c in timeline.story_duties(session, story.id) if c.owner_code)
    return [
        (str(code), str(name))
        for code, name in session.execute(
            select(Organisation.code, Organisation.name)
            .where(Organisation.code.in_(codes))
            .order_by(Organisation.name)
        ).all()
    ]


@router.post("/my-story/{reference}/complaint", response_class=HTMLResponse)
def complain(
    request: Request,
    reference: str,
    session: SessionDep,
    user: VictimUser,
    organisation: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    story, actor = _own(request, session, user, reference)
    organisations = _complaint_targets(session, story)
    errors: dict[str, str] = {}
    if organisation not in {code for code, _ in organisations}:
        errors["organisation"] = "Select the organisation you are complaining about"
    text = questions.bounded(
        {"text": text}, "text", stories.MAX_STORY_CHARACTERS, "Your complaint", errors
    )
    if not text:
        errors["text"] = "Enter your complaint"
    if errors:
        session.commit()
        return render(
            request,
            "victims/victim/complaint.html",
            {
                "title": "Make a complaint",
                "story": story,
                "organisations": organisations,
                "values": {"organisation": organisation, "text": text},
                "errors": errors,
                "summary": _error_summary(errors),
            },
            status_code=400,
        )
    complaint = stories.make_complaint(
        session,
        _policies(request),
        actor=actor,
        story=story,
        organisation_code=organisation,
        text=text,
    )
    session.commit()
    return RedirectResponse(
        f"/my-story/{story.reference}?saved=complaint-{complaint.reference}", status_code=303
    )
