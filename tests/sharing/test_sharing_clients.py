"""System clients' API keys: issued once in plaintext, stored as hashes, revocable, ledgered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import onestory.sharing.client_tables  # noqa: F401  (the api_client table, for the fixtures)
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.authorize import Actor
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import (
    KEY_ISSUED,
    KEY_REVOKED,
    ClientKeyError,
    KeyStatus,
    authenticate_key,
    check_key,
    client_actor,
    issue_key,
    parse_key,
    revoke_key,
)
from onestory.sharing.tables import Organisation
from onestory.store.base import Base, utcnow

ADMIN = Actor("user:1", "administrator", None, None)


@pytest.fixture
def police(session: Session) -> Organisation:
    organisation = Organisation(code="POL-01", name="Test Constabulary", kind="police")
    session.add(organisation)
    session.commit()
    return organisation


def _issue(session: Session, scopes: list[str] | None = None) -> tuple[ApiClient, str]:
    client, key = issue_key(
        session,
        actor=ADMIN,
        organisation_code="POL-01",
        name="Case management bridge",
        role="police_officer",
        scopes=scopes or ["read:case", "create:hearing"],
    )
    session.commit()
    return client, key


def test_an_issued_key_authenticates_as_its_client(session: Session, police: Organisation) -> None:
    client, key = _issue(session)
    prefix, secret = parse_key(key) or ("", "")
    assert key == f"os_{client.key_prefix}_{secret}"
    assert len(prefix) == 8 and len(secret) >= 43
    assert client.scopes == ["create:hearing", "read:case"]

    found = authenticate_key(session, key)
    assert found is not None and found.id == client.id
    assert client_actor(found) == Actor(f"client:{prefix}", "police_officer", "POL-01", "police")


def test_use_is_noted_to_the_minute(session: Session, police: Organisation) -> None:
    client, key = _issue(session)
    assert client.last_used_at is None
    check_key(session, key)
    first = client.last_used_at
    assert first is not None
    check_key(session, key, now=first + timedelta(seconds=30))
    assert client.last_used_at == first
    later = first + timedelta(minutes=2)
    check_key(session, key, now=later)
    assert client.last_used_at == later


def test_wrong_malformed_and_revoked_keys_are_refused(
    session: Session, police: Organisation
) -> None:
    client, key = _issue(session)
    prefix, secret = parse_key(key) or ("", "")
    tampered = f"os_{prefix}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    assert check_key(session, tampered) == (KeyStatus.UNKNOWN, None)
    assert check_key(session, f"os_00000000_{secret}") == (KeyStatus.UNKNOWN, None)
    for malformed in ["", key[:-20], f"xx_{prefix}_{secret}", f"os_0123ABCD_{secret}"]:
        assert check_key(session, malformed) == (KeyStatus.MALFORMED, None)

    revoke_key(session, actor=ADMIN, prefix=prefix)
    session.commit()
    assert client.revoked_at is not None
    assert check_key(session, key) == (KeyStatus.REVOKED, None)
    assert authenticate_key(session, key) is None
    with pytest.raises(ClientKeyError, match="already revoked"):
        revoke_key(session, actor=ADMIN, prefix=prefix)


def test_the_database_holds_no_plaintext(session: Session, police: Organisation) -> None:
    _, key = _issue(session)
    _, secret = parse_key(key) or ("", "")
    revoke_key(session, actor=ADMIN, prefix=key[3:11])
    session.commit()
    seen = 0
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for value in row:
                seen += 1
                text = value.hex() if isinstance(value, bytes) else str(value)
                assert secret not in text and key not in text, (table.name, text)
    assert seen > 0


def test_issuing_and_revoking_are_ledgered_without_the_secret(
    session: Session, police: Organisation
) -> None:
    client, key = _issue(session)
    revoke_key(session, actor=ADMIN, prefix=client.key_prefix)
    session.commit()
    rows = session.execute(
        select(LedgerEntry, LedgerPayload.payload)
        .join(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
        .where(LedgerEntry.entry_type.in_([KEY_ISSUED, KEY_REVOKED]))
        .order_by(LedgerEntry.seq)
    ).all()
    assert [(e.entry_type, e.actor, e.subjects) for e, _ in rows] == [
        (KEY_ISSUED, "user:1", [{"kind": "api_client", "id": client.key_prefix}]),
        (KEY_REVOKED, "user:1", [{"kind": "api_client", "id": client.key_prefix}]),
    ]
    issued, revoked = (payload for _, payload in rows)
    assert issued == {
        "name": "Case management bridge",
        "organisation": "POL-01",
        "role": "police_officer",
        "scopes": ["create:hearing", "read:case"],
    }
    assert revoked == {"name": "Case management bridge", "organisation": "POL-01"}
    assert key.split("_", 2)[2] not in repr(rows)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"actor": Actor("user:2", "police_officer", "POL-01", "police")}, "only an administr"),
        ({"organisation_code": "NOPE"}, "no organisation with code 'NOPE'"),
        ({"role": "cps_prosecutor"}, "role cps_prosecutor belongs to cps, but POL-01 is police"),
        ({"role": "analyst"}, "belongs to no organisation"),
        ({"scopes": ["read:cases"]}, "'read:cases' is not a scope"),
        ({"scopes": []}, "at least one scope"),
        ({"name": "  "}, "give the client a name"),
    ],
)
def test_keys_are_issued_only_as_they_should_be(
    session: Session, police: Organisation, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "actor": ADMIN,
        "organisation_code": "POL-01",
        "name": "Bridge",
        "role": "police_officer",
        "scopes": ["read:case"],
        **changes,
    }
    with pytest.raises(ClientKeyError, match=message):
        issue_key(session, **arguments)  # type: ignore[arg-type]
    assert session.scalar(select(ApiClient.id)) is None


def test_purpose_scopes_are_accepted_and_only_administrators_revoke(
    session: Session, police: Organisation
) -> None:
    client, _ = _issue(session, ["purpose:investigation", "read:case"])
    assert client.scopes == ["purpose:investigation", "read:case"]
    officer = Actor("user:2", "police_officer", "POL-01", "police")
    with pytest.raises(ClientKeyError, match="only an administrator may revoke"):
        revoke_key(session, actor=officer, prefix=client.key_prefix)
    with pytest.raises(ClientKeyError, match="no API key starts os_ffffffff"):
        revoke_key(session, actor=ADMIN, prefix="ffffffff")
    assert client.revoked_at is None
    assert utcnow() - client.created_at < timedelta(minutes=1)
