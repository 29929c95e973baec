"""What an entry is, byte for byte: the canonical form hashed into the log, and commitments.

An entry's leaf is the RFC 8785 canonical JSON of its fields, so anyone holding the entry (from
a proof file, say) can recompute its leaf hash with any JSON canonicaliser. The details behind
an entry are never in it: ``digest`` = SHA-256(salt ‖ canonical JSON of the payload), with a
random 32-byte salt per entry so that a guessable payload ("read victim 123's statement") cannot
be confirmed from the digest alone.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

SALT_SIZE = 32
_MAX_SAFE_INTEGER = 2**53 - 1
ENTRY_FORMAT_VERSION = 1


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON.

    For documents without floats whose object keys are all ASCII, RFC 8785's output is exactly
    what the standard library writes with sorted keys, no whitespace and no ASCII escaping (key
    order by UTF-16 code unit and by code point agree on ASCII; strings are escaped the same
    way). That covers every ledger entry and is several times faster than the general
    canonicaliser, which handles everything else (a property test holds the two to the same
    bytes).
    """
    if _plain(value):
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        # Beyond 2**53 JSON numbers lose precision; RFC 8785 refuses them, and so do we.
        return bool(-_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER)
    if kind is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_plain(v) for v in value)
    return False


def new_salt() -> bytes:
    """A fresh random salt for one entry's commitment."""
    return secrets.token_bytes(SALT_SIZE)


def commitment(salt: bytes, payload: Mapping[str, Any]) -> str:
    """The hex SHA-256 commitment to ``payload`` under ``salt``."""
    return hashlib.sha256(salt + canonical_json(dict(payload))).hexdigest()


def format_time(value: datetime) -> str:
    """UTC, microseconds, 'Z': one spelling per instant, so the leaf bytes are reproducible."""
    if value.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Subject:
    """A record an entry is about, by kind and id (never by personal details)."""

    kind: str
    id: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"kind": self.kind, "id": self.id}


@dataclass(frozen=True)
class NewEntry:
    """An entry to append: what happened, who did it, why, and (optionally) its details."""

    entry_type: str
    actor: str
    actor_org: str | None = None
    purpose: str | None = None
    subjects: Sequence[Subject] = ()
    payload: Mapping[str, Any] | None = None
    at: datetime | None = field(default=None)


def entry_document(
    *,
    seq: int,
    recorded_at: datetime,
    entry_type: str,
    actor: str,
    actor_org: str | None,
    purpose: str | None,
    subjects: Sequence[Mapping[str, str]],
    digest: str | None,
) -> dict[str, Any]:
    """The JSON document whose canonical bytes are the Merkle leaf."""
    return {
        "v": ENTRY_FORMAT_VERSION,
        "seq": seq,
        "time": format_time(recorded_at),
        "type": entry_type,
        "actor": actor,
        "actorOrg": actor_org,
        "purpose": purpose,
        "subjects": [dict(s) for s in subjects],
        "digest": digest,
    }
