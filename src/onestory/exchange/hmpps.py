"""The HMPPS domain-event envelope, out (to subscribers that speak it) and in (on the API).

HMPPS services publish events as ``{eventType, version, occurredAt, publishedAt, description,
detailUrl, personReference: {identifiers: [{type, value}]}, additionalInformation: {...}}``,
with the facts of the event as flat keys of ``additionalInformation``. Our envelope already
shares most of that shape (see ``domain.events``); what it adds (the event id, the asserting
organisation, case references, the typed payload) travels in ``additionalInformation`` too.

Two of our events have an HMPPS counterpart and go out under its name, with its keys
(``nomsNumber``, ``prisonId``, ``reason``) plus the facts our model needs that HMPPS does not
carry (``receptionReason``, ``releaseType``). Every other event goes out as
``onestory.<our type>`` with the payload as it is. Coming in, both names are accepted, and a
fact our model needs that the message does not state is an error naming the field: nothing is
guessed. An HMPPS message carries no id of its own, so without ``additionalInformation.eventId``
the id is derived from the message's content: posting the same message twice is one event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from onestory.domain.events import EventEnvelope, EventError, lookup, parse_event
from onestory.ledger.entries import canonical_json
from onestory.store.base import utcnow

ONESTORY_PREFIX = "onestory."
RECEIVED = "prison.prisoner.received"
RELEASED = "prison.prisoner.released"
# Our type -> the HMPPS name it goes out under.
HMPPS_NAMES: dict[str, str] = {
    RECEIVED: "prisoner-offender-search.prisoner.received",
    RELEASED: "prison-offender-events.prisoner.released",
}
# HMPPS name -> our type, for what comes in (each service publishes its own variant).
OUR_NAMES: dict[str, str] = {
    "prisoner-offender-search.prisoner.received": RECEIVED,
    "prison-offender-events.prisoner.received": RECEIVED,
    "prison-offender-events.prisoner.released": RELEASED,
    "prisoner-offender-search.prisoner.released": RELEASED,
}
# HMPPS ``reason`` values that are a reception into custody, or a release from it; the others
# (temporary absences, court visits, transfers in) are movements our events do not describe.
RECEPTION_REASONS = frozenset({"ADMISSION"})
RELEASE_REASONS = frozenset({"RELEASED", "TRANSFERRED"})
# Ids derived from a message's content live in their own namespace.
_ID_NAMESPACE = uuid.UUID("8a0f3f5e-3c53-5b0e-9a57-0c1d2e6b7a10")
_INFO = "additionalInformation"


class HmppsError(ValueError):
    """An HMPPS message that cannot become one of our events; ``where`` is the field."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


def hmpps_name(event_type: str) -> str:
    """The HMPPS ``eventType`` our ``event_type`` goes out under."""
    return HMPPS_NAMES.get(event_type, f"{ONESTORY_PREFIX}{event_type}")


def is_hmpps(data: Mapping[str, Any]) -> bool:
    """Whether a posted JSON object is an HMPPS domain event rather than our envelope."""
    if "payload" in data:
        return False
    name = data.get("eventType")
    return _INFO in data or (
        isinstance(name, str) and (name in OUR_NAMES or name.startswith(ONESTORY_PREFIX))
    )


# ---- out ----------------------------------------------------------------------------------


def to_hmpps(
    event: EventEnvelope[Any] | Mapping[str, Any], *, published_at: datetime | None = None
) -> dict[str, Any]:
    """``event`` as an HMPPS domain event (``published_at`` defaults to now)."""
    parsed = event if isinstance(event, EventEnvelope) else parse_event(event)
    envelope = parsed.model_dump(mode="json")
    info: dict[str, Any] = {"eventId": envelope["id"], "assertedBy": envelope["assertedBy"]}
    if envelope["caseReferences"]:
        info["caseReferences"] = envelope["caseReferences"]
    out_facts = _OUT.get(parsed.event_type)
    if out_facts is None:
        info["payload"] = envelope["payload"]
    else:
        info.update(out_facts(envelope["payload"]))
    message: dict[str, Any] = {
        "eventType": hmpps_name(parsed.event_type),
        "version": parsed.version,
        "occurredAt": envelope["occurredAt"],
        "publishedAt": (published_at or utcnow()).isoformat(),
        # HMPPS consumers expect a description; ours is optional, so say what the type means.
        "description": parsed.description or lookup(parsed.event_type, parsed.version).description,
    }
    if parsed.detail_url:
        message["detailUrl"] = parsed.detail_url
    if envelope.get("personReference"):
        message["personReference"] = envelope["personReference"]
    message[_INFO] = info
    return message


def _received_out(payload: Mapping[str, Any]) -> dict[str, Any]:
    custody = payload["custody"]
    facts = {
        "nomsNumber": custody["prisonNumber"],
        "prisonId": custody["establishment"],
        "reason": "ADMISSION",
        "receptionReason": custody["reason"],
        "receivedAt": custody["receivedAt"],
    }
    for key in ("releasedAt", "releaseType"):
        if custody.get(key) is not None:
            facts[key] = custody[key]
    return facts


def _released_out(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "nomsNumber": payload["prisonNumber"],
        "prisonId": payload["establishment"],
        "reason": "TRANSFERRED" if payload["releaseType"] == "transfer" else "RELEASED",
        "releaseType": payload["releaseType"],
        "releasedAt": payload["releasedAt"],
    }


_OUT: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    RECEIVED: _received_out,
    RELEASED: _released_out,
}


# ---- in -----------------------------------------------------------------------------------


def from_hmpps(data: Mapping[str, Any], *, asserted_by: str | None = None) -> dict[str, Any]:
    """Our envelope for an HMPPS message, checked against its event type's model.

    ``asserted_by`` is the sender's organisation, used when the message does not name one
    (HMPPS messages do not). Raises ``HmppsError`` naming the HMPPS field at fault.
    """
    name = data.get("eventType")
    if not isinstance(name, str) or not name:
        raise HmppsError("missing: say which event this is", where="eventType")
    if name in OUR_NAMES:
        ours = OUR_NAMES[name]
    elif name.startswith(ONESTORY_PREFIX):
        ours = name.removeprefix(ONESTORY_PREFIX)
    else:
        known = ", ".join(sorted(OUR_NAMES))
        raise HmppsError(
            f"{name!r} is not an event OneStory takes; it takes {known}, or any of its own "
            "types as onestory.<type>",
            where="eventType",
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise HmppsError("missing or not a whole number", where="version")
    try:
        spec = lookup(ours, version)
    except EventError as exc:
        raise HmppsError(str(exc), where="eventType") from exc
    info = data.get(_INFO)
    if info is None:
        info = {}
    if not isinstance(info, Mapping):
        raise HmppsError("must be an object", where=_INFO)
    occurred = _required(data, "occurredAt", "occurredAt")
    envelope: dict[str, Any] = {
        "id": info.get("eventId") or _derived_id(data),
        "eventType": ours,
        "version": version,
        "occurredAt": occurred,
        "assertedBy": info.get("assertedBy") or asserted_by,
        "caseReferences": info.get("caseReferences") or [],
    }
    if not envelope["assertedBy"]:
        raise HmppsError(
            "missing: name the organisation asserting the event", where=f"{_INFO}.assertedBy"
        )
    description = data.get("description")
    if description and description != spec.description:
        envelope["description"] = description
    if data.get("detailUrl"):
        envelope["detailUrl"] = data["detailUrl"]
    in_facts = _IN.get(ours)
    if in_facts is None:
        envelope["payload"] = _required(info, "payload", f"{_INFO}.payload")
    else:
        envelope["payload"] = in_facts(info, occurred)
    person = data.get("personReference")
    named_by_noms = False
    if person:
        envelope["personReference"] = person
    elif info.get("nomsNumber"):
        # The message is about the prisoner it names.
        noms = {"type": "NOMS", "value": info["nomsNumber"]}
        envelope["personReference"] = {"identifiers": [noms]}
        named_by_noms = True
    _check(envelope, _FIELD_NAMES.get(ours, _GENERIC_FIELDS), named_by_noms=named_by_noms)
    return envelope


def _required(data: Mapping[str, Any], key: str, where: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise HmppsError("missing: OneStory needs it and will not guess it", where=where)
    return value


def _derived_id(data: Mapping[str, Any]) -> str:
    # publishedAt changes when a message is re-published; the facts do not.
    facts = {k: v for k, v in data.items() if k != "publishedAt"}
    return str(uuid.uuid5(_ID_NAMESPACE, canonical_json(facts).decode()))


def _received_in(info: Mapping[str, Any], occurred: Any) -> dict[str, Any]:
    reason = _required(info, "reason", f"{_INFO}.reason")
    if reason not in RECEPTION_REASONS:
        raise HmppsError(
            f"{reason!r} is a movement, not a reception into custody; OneStory records "
            f"receptions ({', '.join(sorted(RECEPTION_REASONS))}) only",
            where=f"{_INFO}.reason",
        )
    custody = {
        "prisonNumber": _required(info, "nomsNumber", f"{_INFO}.nomsNumber"),
        "establishment": _required(info, "prisonId", f"{_INFO}.prisonId"),
        # An HMPPS reception event occurs at the reception.
        "receivedAt": info.get("receivedAt") or occurred,
        "reason": _required(info, "receptionReason", f"{_INFO}.receptionReason"),
    }
    for key in ("releasedAt", "releaseType"):
        if info.get(key) is not None:
            custody[key] = info[key]
    return {"custody": custody}


def _released_in(info: Mapping[str, Any], occurred: Any) -> dict[str, Any]:
    reason = _required(info, "reason", f"{_INFO}.reason")
    if reason not in RELEASE_REASONS:
        raise HmppsError(
            f"{reason!r} is not a release from custody; OneStory records "
            f"{', '.join(sorted(RELEASE_REASONS))} only",
            where=f"{_INFO}.reason",
        )
    release_type = info.get("releaseType") or ("transfer" if reason == "TRANSFERRED" else None)
    if release_type is None:
        _required(info, "releaseType", f"{_INFO}.releaseType")
    return {
        "prisonNumber": _required(info, "nomsNumber", f"{_INFO}.nomsNumber"),
        "establishment": _required(info, "prisonId", f"{_INFO}.prisonId"),
        # An HMPPS release event occurs at the release.
        "releasedAt": info.get("releasedAt") or occurred,
        "releaseType": release_type,
    }


_IN: dict[str, Callable[[Mapping[str, Any], Any], dict[str, Any]]] = {
    RECEIVED: _received_in,
    RELEASED: _released_in,
}

# Where each field of our envelope came from in the HMPPS message, longest prefix first, so a
# validation error names the field the sender wrote.
_GENERIC_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", f"{_INFO}.eventId"),
    ("assertedBy", f"{_INFO}.assertedBy"),
    ("caseReferences", f"{_INFO}.caseReferences"),
    ("payload", f"{_INFO}.payload"),
)
_FIELD_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    RECEIVED: (
        ("payload.custody.prisonNumber", f"{_INFO}.nomsNumber"),
        ("payload.custody.establishment", f"{_INFO}.prisonId"),
        ("payload.custody.receivedAt", f"{_INFO}.receivedAt"),
        ("payload.custody.reason", f"{_INFO}.receptionReason"),
        ("payload.custody", _INFO),
        *_GENERIC_FIELDS[:3],
    ),
    RELEASED: (
        ("payload.prisonNumber", f"{_INFO}.nomsNumber"),
        ("payload.establishment", f"{_INFO}.prisonId"),
        ("payload", _INFO),
        *_GENERIC_FIELDS[:3],
    ),
}


def _check(
    envelope: Mapping[str, Any], fields: tuple[tuple[str, str], ...], *, named_by_noms: bool
) -> None:
    try:
        parse_event(envelope)
    except ValidationError as exc:
        err = exc.errors()[0]
        ours = ".".join(str(p) for p in err["loc"])
        where = ours
        if named_by_noms and ours.startswith("personReference"):
            raise HmppsError(err["msg"], where=f"{_INFO}.nomsNumber") from exc
        for prefix, theirs in fields:
            if ours == prefix or ours.startswith(prefix + "."):
                where = theirs + ours[len(prefix) :]
                break
        raise HmppsError(err["msg"], where=where) from exc
    except EventError as exc:
        raise HmppsError(str(exc)) from exc
