"""The person index's pages (review queue, a person's records) and API, every read authorised.

Staff see a person's records, or a queued pair, only when a data-sharing agreement lets their
role read person records for the purpose their work serves (a police officer: investigation; a
probation officer: offender management); each decision, allowed or refused, is ledgered, and a
refusal is "Page not found" so nobody learns that a record exists. The queue itself lists no
personal details: weights, agencies and kinds of record only.

System clients use the API with a key carrying the ``read:person`` scope, stating the purpose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.exchange.intake import record_sharing_kind
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.log import lock_for_append
from onestory.linkage.tables import OPEN, Person, ReviewItem
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

if TYPE_CHECKING:
    from onestory.linkage import index
else:
    # The person index brings pandas, DuckDB and Splink (over 100 MB): load it on the first
    # request that needs it, not when the web application starts.
    from onestory.lazymodule import LazyModule

    index = LazyModule("onestory.linkage.index")

router = APIRouter()
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["linkage"])

DONE_KEY = "linkage_done"
LONDON = ZoneInfo("Europe/London")
NOT_FOUND = "no such person or records, or not ones this client may read for this purpose"
PERSON_FIELDS = (
    ("forenames", "Forenames"),
    ("surname", "Surname"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("postcode", "Postcode"),
    ("pnc_id", "PNC ID"),
    ("cro_number", "CRO number"),
    ("prison_number", "Prison number"),
    ("probation_crn", "Probation CRN"),
    ("uln", "Unique learner number"),
    ("ni_number", "National Insurance number"),
    ("case_urn", "Case URN"),
)


class Refused(Exception):
    """The sharing rules said no (the decision is already ledgered)."""


def _policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def purpose_for(policies: PolicySet, role: str) -> Purpose | None:
    """The purpose a role reads person records for: the first its agreements grant.

    Reading for oneself (own access) is not staff work and never opens these pages.
    """
    for purpose in Purpose:
        if purpose is Purpose.OWN_ACCESS:
            continue
        if policies.lookup(role, Action.READ, RecordKind.PERSON, purpose):
            return purpose
    return None


def _require(
    session: Session,
    policies: PolicySet,
    actor: Actor,
    action: str,
    ids: list[str],
    purpose: str,
) -> str | None:
    """Authorise ``action`` on each person record; raise ``Refused``; the agreement's id."""
    rule = None
    for record_id in ids:
        decision = authorize(
            session,
            actor=actor,
            action=action,
            record=RecordRef(RecordKind.PERSON, record_id),
            purpose=purpose,
            policies=policies,
        )
        if not decision.allowed:
            raise Refused(decision.reason)
        rule = decision.rule
    return rule


def _staff(request: Request, user: UserAccount) -> tuple[Actor, Purpose]:
    """The signed-in member of staff and their purpose, or 404 for anyone who reads no one."""
    purpose = purpose_for(_policies(request), user.role)
    if purpose is None:
        raise HTTPException(status_code=404)
    return account_actor(user), purpose


# --- words for people ----------------------------------------------------------------------------


def value_words(value: Any) -> str:
    """A stored value as a page shows it."""
    if value is None or value == "":
        return "Not given"
    if isinstance(value, date | datetime):
        return f"{value.day} {value.strftime('%B %Y')}"
    if isinstance(value, list):
        return ", ".join(value_words(v) for v in value) or "None"
    if isinstance(value, dict):
        return "; ".join(f"{label_words(k)}: {value_words(v)}" for k, v in value.items())
    return str(value)


def label_words(key: str) -> str:
    """``custodyStart`` or ``custody_start`` as "Custody start"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in key).replace("_", " ")
    text = spaced.strip()
    words = {"urn": "URN", "pnc": "PNC", "cro": "CRO", "crn": "CRN", "id": "ID", "cps": "CPS",
             "asn": "ASN", "uln": "ULN", "noms": "NOMS"}  # fmt: skip
    text = " ".join(words.get(w, w) for w in text.split())
    return text[:1].upper() + text[1:]


SEX_WORDS = {"M": "Male", "F": "Female", "U": "Not known"}
ALWAYS_SHOWN = frozenset({"forenames", "surname", "date_of_birth"})


def person_rows(record: AgencyRecord, *, every: bool = False) -> list[tuple[str, str]]:
    """What a record says about the person, in the index's canonical columns: names and date
    of birth always ("Not given" when missing), the rest when the record has them or when
    ``every`` (two records side by side line up, and a missing identifier is news)."""
    return [
        (label, SEX_WORDS.get(value, value) if name == "sex" else value)
        for name, label in PERSON_FIELDS
        for value in (value_words(getattr(record, name)),)
        if every or name in ALWAYS_SHOWN or getattr(record, name) not in (None, "")
    ]


def record_rows(record: AgencyRecord) -> list[tuple[str, str]]:
    """What the record itself says (case URN, offence, custody dates...), from its body."""
    body = record.body.get("record") if isinstance(record.body, dict) else None
    if not isinstance(body, dict):
        return []
    return list(_flat_rows(body, ""))


def _flat_rows(value: dict[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for key, inner in value.items():
        label = f"{prefix}: {label_words(key)}" if prefix else label_words(key)
        if isinstance(inner, dict):
            yield from _flat_rows(inner, label)
        else:
            yield label, value_words(inner)


# What an agency record says is read under the rule for its own kind (exchange.intake's
# record_sharing_kind): seeing a person's name in the index is one permission, seeing what
# their probation record says is another.


def explanation_rows(explanation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per comparison: which level the pair fell in, the values, and the weight."""
    if not explanation:
        return []
    return [
        {
            "name": label_words(str(c.get("name", ""))),
            "level": c.get("label_for_level", ""),
            "left": value_words(c.get("value_l")),
            "right": value_words(c.get("value_r")),
            "weight": float(c.get("match_weight") or 0.0),
        }
        for c in explanation.get("comparisons", [])
    ]


# --- the review queue ----------------------------------------------------------------------------


@pages.get("/linkage/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    _staff(request, user)
    items = index.open_reviews(session, limit=200)
    ids = {r for item in items for r in (item.record_a, item.record_b)}
    records = {r.id: r for r in _records(session, ids)}
    counts = index.review_counts(session)
    return render(
        request,
        "linkage/review_queue.html",
        {
            "items": items,
            "records": records,
            "counts": counts,
            "done": request.session.pop(DONE_KEY, None),
        },
    )


def _records(session: Session, ids: set[str]) -> list[AgencyRecord]:
    if not ids:
        return []
    return list(session.scalars(select(AgencyRecord).where(AgencyRecord.id.in_(sorted(ids)))))


def _item_page(
    request: Request,
    session: Session,
    user: UserAccount,
    item_id: int,
    *,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 400,
) -> HTMLResponse:
    actor, purpose = _staff(request, user)
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise HTTPException(status_code=404)
    try:
        _require(
            session, _policies(request), actor, Action.READ, [item.record_a, item.record_b], purpose
        )
    except Refused:
        session.commit()  # the refusal is ledgered too
        raise HTTPException(status_code=404) from None
    explanation = index.explain_item(session, item)
    left, right = session.get(AgencyRecord, item.record_a), session.get(AgencyRecord, item.record_b)
    shown = {
        r.id: _may_read(session, _policies(request), actor, r, purpose)
        for r in (left, right)
        if r is not None
    }
    session.commit()
    return render(
        request,
        "linkage/review_item.html",
        {
            "item": item,
            "pair": [
                {
                    "record": r,
                    "person": index.person_of_record(session, r.id),
                    "rows": person_rows(r, every=True),
                    "says": record_rows(r) if shown[r.id] else [],
                }
                for r in (left, right)
                if r is not None
            ],
            "explanation": explanation,
            "comparisons": explanation_rows(explanation),
            "purpose": purpose,
            "is_open": item.status == OPEN,
            "errors": errors,
            "values": values or {},
        },
        status_code=status_code if errors else 200,
    )


@pages.get("/linkage/review/{item_id}", response_class=HTMLResponse)
def review_item(
    request: Request, item_id: int, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    return _item_page(request, session, user, item_id)


@pages.post("/linkage/review/{item_id}", response_model=None)
def decide(
    request: Request,
    item_id: int,
    session: SessionDep,
    user: SignedInUser,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    actor, purpose = _staff(request, user)
    values = {"decision": decision, "reason": reason}
    errors = None
    if decision not in ("same", "different"):
        errors = _form_errors("decision", "Select whether these records are the same person")
    elif not reason.strip():
        errors = _form_errors("reason", "Enter the reason for your decision")
    if errors:
        return _item_page(request, session, user, item_id, errors=errors, values=values)
    # The ledger's lock first, then the item as it stands now: of two reviewers deciding the
    # pair at once, the second waits for the first and then finds it decided.
    item = index.review_item_to_decide(session, item_id)
    if item is None:
        session.rollback()
        raise HTTPException(status_code=404)
    try:
        _require(
            session,
            _policies(request),
            actor,
            Action.UPDATE,
            [item.record_a, item.record_b],
            purpose,
        )
    except Refused:
        session.commit()
        raise HTTPException(status_code=404) from None
    try:
        index.decide_review(
            session,
            item=item,
            same_person=decision == "same",
            reason=reason[:2000],
            decided_by=actor.user_or_client_id,
            actor_org=actor.organisation_code,
        )
    except index.ReviewError as exc:
        # Nothing was changed; the page (its reads authorised and ledgered as ever) says why.
        decided = item.status != OPEN
        message = _decided_words(item, actor) if decided else f"Nothing changed: {exc}"
        return _item_page(
            request,
            session,
            user,
            item_id,
            errors=_form_errors("decision", message),
            values=values,
            status_code=409 if decided else 400,
        )
    session.commit()
    words = "the same person" if decision == "same" else "different people"
    request.session[DONE_KEY] = f"Recorded: the records are {words}"
    return RedirectResponse("/linkage/review", status_code=303)


def _decided_words(item: ReviewItem, actor: Actor) -> str:
    """Why a decision was not recorded: the pair had been decided, by whom (you?) and when."""
    who = "you" if item.decided_by == actor.user_or_client_id else "someone else"
    when = f" at {time_words(item.decided_at)}" if item.decided_at else ""
    return f"This pair was decided by {who}{when}; nothing changed"


def time_words(moment: datetime) -> str:
    """A moment in London as people write it: "2:05pm on 3 March 2026"."""
    local = moment.astimezone(LONDON)
    hour = local.strftime("%I:%M%p").lstrip("0").lower()
    return f"{hour} on {local.day} {local.strftime('%B %Y')}"


def _may_read(
    session: Session, policies: PolicySet, actor: Actor, record: AgencyRecord, purpose: str
) -> bool:
    """Whether the actor may see what a record says (beyond who it is about); ledgered."""
    return authorize(
        session,
        actor=actor,
        action=Action.READ,
        record=RecordRef(record_sharing_kind(record.kind), record.id),
        purpose=purpose,
        policies=policies,
    ).allowed


def _form_errors(field: str, message: str) -> dict[str, Any]:
    return {field: message, "summary": [{"text": message, "href": f"#{field}"}]}


# --- a person ------------------------------------------------------------------------------------


@pages.get("/people/{person_id}", response_class=HTMLResponse, response_model=None)
def person_page(
    request: Request, person_id: str, session: SessionDep, user: SignedInUser
) -> Response:
    actor, purpose = _staff(request, user)
    person = index.current_person(session, person_id)
    if person is None:
        raise HTTPException(status_code=404)
    try:
        _require(session, _policies(request), actor, Action.READ, [person.id], purpose)
    except Refused:
        session.commit()
        raise HTTPException(status_code=404) from None
    if person.id != person_id:
        session.commit()
        return RedirectResponse(f"/people/{person.id}", status_code=303)
    records = index.person_records(session, person.id)
    by_agency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        shown = _may_read(session, _policies(request), actor, record, purpose)
        by_agency[record.agency].append(
            {
                "record": record,
                "rows": person_rows(record),
                "says": record_rows(record) if shown else None,
            }
        )
    changes = index.person_changes(session, person.id)
    session.commit()
    return render(
        request,
        "linkage/person.html",
        {
            "person": person,
            "by_agency": dict(sorted(by_agency.items())),
            "count": len(records),
            "changes": changes,
            "purpose": purpose,
            "value_words": value_words,
        },
    )


# --- the API -------------------------------------------------------------------------------------


def _client_require(
    request: Request,
    session: Session,
    client: ApiClient,
    ids: list[str],
    purpose: Purpose,
    justification: str | None,
) -> str | None:
    if scope(Action.READ, RecordKind.PERSON) not in client.scopes:
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    rule = None
    for record_id in ids:
        decision = authorize(
            session,
            actor=client_actor(client),
            action=Action.READ,
            record=RecordRef(RecordKind.PERSON, record_id),
            purpose=purpose,
            justification=justification,
            policies=_policies(request),
        )
        if not decision.allowed:
            session.commit()  # the refusal is ledgered
            raise HTTPException(404, NOT_FOUND)
        rule = decision.rule
    return rule


@api.get("/people/{person_id}")
def read_person(
    person_id: str,
    purpose: Annotated[Purpose, Query(description="Why the person is being read")],
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    justification: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """A person and every agency record the index holds for them."""
    lock_for_append(session)
    person = index.current_person(session, person_id)
    if person is None:
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    rule = _client_require(request, session, client, [person.id], purpose, justification)
    records = index.person_records(session, person.id)
    actor = client_actor(client)
    shown = {
        r.id
        for r in records
        if scope(Action.READ, record_sharing_kind(r.kind)) in client.scopes
        and _may_read(session, _policies(request), actor, r, purpose)
    }
    document = _person_document(session, person, records, shown, asked=person_id)
    session.commit()
    return {**document, "allowedBy": rule}


def _person_document(
    session: Session, person: Person, records: list[AgencyRecord], shown: set[str], *, asked: str
) -> dict[str, Any]:
    """A person as JSON; ``body`` is null for records whose kind the client may not read."""
    return {
        "id": person.id,
        "asked": asked,
        "status": person.status,
        "createdAt": person.created_at.isoformat(),
        "records": [
            {
                "id": r.id,
                "agency": r.agency,
                "layout": r.layout,
                "kind": r.kind,
                "receivedAt": r.received_at.isoformat(),
                "body": r.body if r.id in shown else None,
            }
            for r in records
        ],
        "changes": [
            {"kind": c.kind, "from": c.from_ids, "to": c.to_ids, "at": c.at.isoformat()}
            for c in index.person_changes(session, person.id)
        ],
    }


@api.get("/links/{record_a}/{record_b}")
def explain_link(
    record_a: str,
    record_b: str,
    purpose: Annotated[Purpose, Query(description="Why the pair is being examined")],
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    justification: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Why the model thinks two records are (or are not) the same person, comparison by
    comparison, with the persons the index puts them in."""
    lock_for_append(session)
    if session.get(AgencyRecord, record_a) is None or session.get(AgencyRecord, record_b) is None:
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    rule = _client_require(request, session, client, [record_a, record_b], purpose, justification)
    try:
        explanation, stored = index.link_explanation(session, record_a, record_b)
    except index.LinkageError as exc:
        session.commit()
        raise HTTPException(409, str(exc)) from exc
    answer = {
        "recordA": record_a,
        "recordB": record_b,
        "personA": index.person_of_record(session, record_a),
        "personB": index.person_of_record(session, record_b),
        "modelVersion": stored.version,
        "linkThreshold": index.LINK_THRESHOLD,
        "reviewFrom": index.REVIEW_FROM,
        "explanation": explanation,
        "allowedBy": rule,
    }
    session.commit()
    return answer


router.include_router(pages)
router.include_router(api)
