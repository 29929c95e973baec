"""Revocation and suspension through a W3C Bitstring Status List v1.0.

One published credential holds a GZIP-compressed bitstring; a passport credential
points at one bit of it. Lists have at least 131,072 entries (16KB) so that fetching
a list does not reveal which of many credentials a verifier is checking.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping
from typing import Any

MIN_ENTRIES = 131_072
MULTIBASE_BASE64URL = "u"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
# A decompressed list larger than this is refused, so a hostile list cannot exhaust memory.
MAX_DECODED_BYTES = 16 * 1024 * 1024


class StatusListError(ValueError):
    """A status list or status entry cannot be used; the message says which and why."""


class StatusList:
    """One-bit statuses; index 0 is the left-most (most significant) bit of the first byte."""

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size < MIN_ENTRIES or size % 8:
            raise StatusListError(
                f"status list size {size} must be a multiple of 8 and at least {MIN_ENTRIES} "
                "(16KB) for herd privacy"
            )
        self._bits = bytearray(size // 8)

    @property
    def size(self) -> int:
        """Number of entries the list can address."""
        return len(self._bits) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise StatusListError(f"status list index {index!r} is outside 0..{self.size - 1}")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        """True when the bit at ``index`` is set (revoked or suspended, by the list's purpose)."""
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set or clear the bit at ``index``."""
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        """The uncompressed bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: multibase ('u') base64url without padding of the GZIP'd bitstring."""
        # mtime=0 keeps the encoding reproducible, so re-publishing an unchanged list
        # produces the same credential bytes.
        compressed = gzip.compress(bytes(self._bits), mtime=0)
        return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode(
            "ascii"
        )

    @classmethod
    def decode(cls, encoded: str) -> StatusList:
        """Read an ``encodedList``, refusing lists shorter than the 16KB minimum."""
        if not isinstance(encoded, str) or not encoded.startswith(MULTIBASE_BASE64URL):
            raise StatusListError(
                "encodedList must be multibase base64url: a string starting with 'u'"
            )
        body = encoded[1:]
        if "=" in body:
            raise StatusListError("encodedList must be base64url without padding ('=' found)")
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise StatusListError(f"encodedList is not base64url: {exc}") from exc
        try:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            bits = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
        except zlib.error as exc:
            raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
        if len(bits) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
            raise StatusListError(f"encodedList expands beyond {MAX_DECODED_BYTES} bytes")
        if not inflater.eof:
            raise StatusListError("encodedList GZIP stream is truncated")
        if len(bits) * 8 < MIN_ENTRIES:
            raise StatusListError(
                f"status list has {len(bits) * 8} entries, fewer than the minimum {MIN_ENTRIES}"
                " (STATUS_LIST_LENGTH_ERROR)"
            )
        status_list = cls(len(bits) * 8)
        status_list._bits[:] = bits
        return status_list


def status_list_credential(
    list_id_url: str,
    issuer: str,
    purpose: str = "revocation",
    encoded: str | None = None,
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential to publish at ``list_id_url``.

    ``encoded`` defaults to an empty list of the minimum size. The caller secures it
    (vc+jwt or Data Integrity) before publishing.
    """
    return {
        "@context": [CREDENTIALS_V2],
        "id": list_id_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "credentialSubject": {
            "id": f"{list_id_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded if encoded is not None else StatusList().encode(),
        },
    }


def status_entry(list_url: str, index: int, purpose: str = "revocation") -> dict[str, Any]:
    """The BitstringStatusListEntry to put in a credential's ``credentialStatus``."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise StatusListError(f"statusListIndex must be a non-negative integer, got {index!r}")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def _purposes(subject: Mapping[str, Any]) -> list[str]:
    value = subject.get("statusPurpose")
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise StatusListError(
            "status list credentialSubject.statusPurpose must be a string or list of strings"
        )
    return values


def check_status(entry: Mapping[str, Any], status_list_credential: Mapping[str, Any]) -> bool:
    """True when the credential is revoked (or suspended, for a suspension entry).

    The caller must already have verified the status list credential's proof
    (STATUS_VERIFICATION_ERROR otherwise); this checks the entry against it and raises
    StatusListError for a mismatched list, purpose, size or an index out of range.
    """
    if entry.get("type") != "BitstringStatusListEntry":
        raise StatusListError(
            f"credentialStatus type is {entry.get('type')!r}, not BitstringStatusListEntry"
        )
    list_url = status_list_credential.get("id")
    if entry.get("statusListCredential") != list_url:
        raise StatusListError(
            f"entry points at {entry.get('statusListCredential')!r}"
            f" but the status list credential is {list_url!r}"
        )
    credential_types = status_list_credential.get("type", [])
    if "BitstringStatusListCredential" not in credential_types:
        raise StatusListError(f"{list_url!r} is not a BitstringStatusListCredential")
    subject = status_list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise StatusListError(f"{list_url!r} credentialSubject is not a BitstringStatusList")
    purpose = entry.get("statusPurpose")
    purposes = _purposes(subject)
    if purpose not in purposes:
        raise StatusListError(
            f"entry statusPurpose {purpose!r} does not match the list's {purposes} "
            "(STATUS_VERIFICATION_ERROR)"
        )
    size = entry.get("statusSize", 1)
    if size != 1:
        raise StatusListError(
            f"statusSize {size!r} is not supported; OneStory lists use one bit per credential"
        )
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not raw_index.isdecimal() or not raw_index.isascii():
        raise StatusListError(
            f"statusListIndex must be a base-10 integer string, got {raw_index!r}"
        )
    index = int(raw_index)
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise StatusListError(
            f"{list_url!r} credentialSubject.encodedList is missing or not a string"
        )
    status_list = StatusList.decode(encoded)
    if index >= status_list.size:
        raise StatusListError(
            f"statusListIndex {index} is outside the list of {status_list.size} entries"
            " (RANGE_ERROR)"
        )
    return status_list.get(index)
