"""Issuing, revoking and checking system clients' API keys.

A key reads ``os_<prefix>_<secret>``: ``prefix`` is 8 hex characters kept in the clear to find
the row and to name the key to administrators; ``secret`` is 32 random bytes. The plaintext is
handed back once, by ``issue_key``, and only its SHA-256 is stored.

Scopes say what a key may ask for, never what it gets: ``read:case`` lets a client ask to read
cases, and ``sharing.authorize`` still decides each request from the client's role and the
agreements. Scopes keep a leaked key from reaching further than the job it was issued for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.sharing.authorize import Actor
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.tables import Organisation
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, Action, Purpose, RecordKind, Role
from onestory.store.base import utcnow

KEY_ISSUED = "sharing.client.key_issued"
KEY_REVOKED = "sharing.client.key_revoked"
KEY_PREFIX = "os"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
PURPOSE_SCOPE = "purpose"
# Recording every call would make each API request a write; to the minute is enough to tell
# an idle key from a busy one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when no key has the presented prefix, so an unknown prefix costs the same
# time as a known one.
_NO_KEY_HASH = "0" * 64


class ClientKeyError(ValueError):
    """A key that cannot be issued or revoked as asked; the message says why."""


class KeyStatus(StrEnum):
    """What checking a presented key found."""

    VALID = "valid"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    REVOKED = "revoked"


def scope(action: str, record_kind: str) -> str:
    """The scope that lets a client ask to do ``action`` to ``record_kind`` records."""
    return f"{Action(action)}:{RecordKind(record_kind)}"


def check_scope(value: str) -> str:
    """``value`` if it is a scope (``read:case``, ``purpose:investigation``), else an error."""
    head, sep, tail = value.partition(":")
    valid = bool(sep) and (
        (head == PURPOSE_SCOPE and tail in set(Purpose))
        or (head in set(Action) and tail in set(RecordKind))
    )
    if not valid:
        raise ClientKeyError(
            f"{value!r} is not a scope: write action:record_kind (e.g. read:case, with an "
            f"action from {', '.join(Action)}) or purpose:<purpose> (e.g. purpose:investigation)"
        )
    return value


def hash_key(presented: str) -> str:
    """The SHA-256 hex digest stored for a key."""
    return hashlib.sha256(presented.encode()).hexdigest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """The (prefix, secret) of a well-formed key, else None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != PREFIX_LENGTH or any(c not in "0123456789abcdef" for c in prefix):
        return None
    if len(secret) < SECRET_BYTES:
        return None
    return prefix, secret


def client_actor(client: ApiClient) -> Actor:
    """The actor a client's requests are made as, for ``sharing.authorize`` and the ledger."""
    return Actor(
        user_or_client_id=f"client:{client.key_prefix}",
        role=client.role,
        organisation_code=client.organisation.code,
        organisation_kind=client.organisation.kind,
    )


def _require_administrator(actor: Actor, doing: str) -> None:
    if actor.role != Role.ADMINISTRATOR:
        raise ClientKeyError(f"only an administrator may {doing}; {actor.role} may not")


def issue_key(
    session: Session,
    *,
    actor: Actor,
    organisation_code: str,
    name: str,
    role: str,
    scopes: list[str],
) -> tuple[ApiClient, str]:
    """Create a client and its key; the plaintext key is returned here and never again.

    The caller commits: the client and its ledger entry are one transaction.
    """
    _require_administrator(actor, "issue API keys")
    name = name.strip()
    if not name:
        raise ClientKeyError("give the client a name, so administrators can tell keys apart")
    organisation = session.scalar(
        select(Organisation).where(Organisation.code == organisation_code)
    )
    if organisation is None:
        raise ClientKeyError(f"no organisation with code {organisation_code!r}")
    if role not in ROLE_ORGANISATION_KIND:
        raise ClientKeyError(f"{role!r} is not a role")
    works_for = ROLE_ORGANISATION_KIND[role]
    if works_for is None or works_for != organisation.kind:
        # A key acts for an organisation; a role of another kind of organisation (or of none)
        # would be refused by every access decision anyway, so refuse it now, while someone
        # is there to read why.
        raise ClientKeyError(
            f"role {role} belongs to {works_for or 'no organisation'}, but {organisation_code} "
            f"is {organisation.kind}"
        )
    checked = sorted({check_scope(s) for s in scopes})
    if not checked:
        raise ClientKeyError("give the key at least one scope, e.g. read:case")
    prefix = _unused_prefix(session)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    client = ApiClient(
        name=name,
        organisation=organisation,
        role=str(role),
        scopes=checked,
        key_prefix=prefix,
        key_hash=hash_key(plaintext),
    )
    session.add(client)
    session.flush()
    append(
        session,
        entry_type=KEY_ISSUED,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        subjects=[Subject("api_client", prefix)],
        payload={
            "name": name,
            "organisation": organisation.code,
            "role": str(role),
            "scopes": checked,
        },
    )
    return client, plaintext


def _unused_prefix(session: Session) -> str:
    # 4 random bytes: a collision is rare but possible, and the column is unique.
    for _ in range(10):
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if session.scalar(select(ApiClient.id).where(ApiClient.key_prefix == prefix)) is None:
            return prefix
    raise ClientKeyError("could not find an unused key prefix; try again")


def revoke_key(session: Session, *, actor: Actor, prefix: str) -> ApiClient:
    """Stop the key with ``prefix`` working, from now on (the caller commits)."""
    _require_administrator(actor, "revoke API keys")
    client = session.scalar(select(ApiClient).where(ApiClient.key_prefix == prefix))
    if client is None:
        raise ClientKeyError(f"no API key starts os_{prefix}")
    if client.revoked_at is not None:
        raise ClientKeyError(f"the key os_{prefix} was already revoked at {client.revoked_at}")
    client.revoked_at = utcnow()
    append(
        session,
        entry_type=KEY_REVOKED,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        subjects=[Subject("api_client", prefix)],
        payload={"name": client.name, "organisation": client.organisation.code},
    )
    return client


def check_key(
    session: Session, presented: str, *, now: datetime | None = None
) -> tuple[KeyStatus, ApiClient | None]:
    """What ``presented`` is, and its client when valid; notes the use (the caller commits)."""
    parsed = parse_key(presented)
    if parsed is None:
        return KeyStatus.MALFORMED, None
    client = session.scalar(select(ApiClient).where(ApiClient.key_prefix == parsed[0]))
    stored = client.key_hash if client is not None else _NO_KEY_HASH
    if not hmac.compare_digest(hash_key(presented), stored) or client is None:
        return KeyStatus.UNKNOWN, None
    if client.revoked_at is not None:
        return KeyStatus.REVOKED, None
    now = now or utcnow()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now
    return KeyStatus.VALID, client


def authenticate_key(session: Session, presented: str) -> ApiClient | None:
    """The client whose key ``presented`` is, unless it is unknown or revoked."""
    _, client = check_key(session, presented)
    return client
