"""W3C Bitstring Status List v1.0: bit order, encoding, the spec's example and the checks."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestory.passport.statuslist import (
    MIN_ENTRIES,
    StatusList,
    StatusListError,
    check_status,
    status_entry,
    status_list_credential,
)

LIST_URL = "https://passport.onestory.example/status/3"
ISSUER = "https://issuer.onestory.example"

# The encodedList of the spec's example BitstringStatusListCredential (w3c/vc-bitstring-status-list
# @ 74fcae1, section "BitstringStatusListCredential"): 131,072 entries, none set.
SPEC_EXAMPLE_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _raw(encoded: str) -> bytes:
    """Undo the encoding by hand (multibase 'u', base64url, GZIP) without our decoder."""
    assert encoded[0] == "u" and "=" not in encoded
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def test_passport_statuslist_bit_order_hand_computed() -> None:
    """Index 0 is the left-most bit of the first byte (spec section "Bitstring Encoding")."""
    status_list = StatusList()
    for index in (0, 7, 9, 131_071):
        status_list.set(index)
    raw = status_list.to_bytes()
    assert len(raw) == 16_384
    assert raw[0] == 0b1000_0001  # indexes 0 and 7
    assert raw[1] == 0b0100_0000  # index 9 = second bit of byte 1
    assert raw[-1] == 0b0000_0001  # last index, right-most bit of the last byte
    assert sum(bin(b).count("1") for b in raw) == 4
    assert _raw(status_list.encode()) == raw


def test_passport_statuslist_spec_example_decodes_to_empty_minimum_list() -> None:
    decoded = StatusList.decode(SPEC_EXAMPLE_ENCODED_LIST)
    assert decoded.size == MIN_ENTRIES
    assert decoded.to_bytes() == bytes(16_384)


def test_passport_statuslist_default_size_and_reproducible_encoding() -> None:
    assert StatusList().size == 131_072
    assert StatusList().encode() == StatusList().encode()


@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=64))
def test_passport_statuslist_round_trip(indexes: set[int]) -> None:
    status_list = StatusList()
    for index in indexes:
        status_list.set(index)
    decoded = StatusList.decode(status_list.encode())
    assert all(decoded.get(i) for i in indexes)
    # and no other bit: the set bits number exactly as many as the indexes
    assert sum(bin(b).count("1") for b in decoded.to_bytes()) == len(indexes)


def test_passport_statuslist_clear_bit() -> None:
    status_list = StatusList()
    status_list.set(42)
    status_list.set(43)
    status_list.set(42, False)
    assert (status_list.get(42), status_list.get(43)) == (False, True)


@pytest.mark.parametrize("size", [8, 131_064, 131_073])
def test_passport_statuslist_refuses_small_or_ragged_sizes(size: int) -> None:
    with pytest.raises(StatusListError, match="at least 131072"):
        StatusList(size)


@pytest.mark.parametrize("index", [-1, 131_072, True])
def test_passport_statuslist_index_out_of_range(index: int) -> None:
    with pytest.raises(StatusListError, match=r"outside 0\.\.131071"):
        StatusList().get(index)


# mtime=0 keeps each case's bytes (and so its test id) the same in every process.
@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (
            "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            "starting with 'u'",
        ),
        ("u" + base64.urlsafe_b64encode(b"not gzip").decode(), "padding"),
        ("u" + base64.urlsafe_b64encode(b"not gzip!").decode(), "not GZIP"),
        (
            "u"
            + base64.urlsafe_b64encode(gzip.compress(bytes(1024), mtime=0)).decode().rstrip("="),
            "fewer than",
        ),
        (
            "u"
            + base64.urlsafe_b64encode(gzip.compress(bytes(16_384), mtime=0)[:-12])
            .decode()
            .rstrip("="),
            "truncated",
        ),
    ],
)
def test_passport_statuslist_decode_errors(encoded: str, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        StatusList.decode(encoded)


def test_passport_statuslist_credential_document() -> None:
    status_list = StatusList()
    status_list.set(94_567)
    document = status_list_credential(LIST_URL, ISSUER, encoded=status_list.encode())
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == LIST_URL and document["issuer"] == ISSUER
    subject = document["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert StatusList.decode(subject["encodedList"]).get(94_567)


def test_passport_statuslist_entry_document() -> None:
    assert status_entry(LIST_URL, 94_567, "suspension") == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    with pytest.raises(StatusListError, match="non-negative"):
        status_entry(LIST_URL, -3)


def _published(*revoked: int, purpose: str = "revocation") -> dict[str, Any]:
    status_list = StatusList()
    for index in revoked:
        status_list.set(index)
    return status_list_credential(LIST_URL, ISSUER, purpose=purpose, encoded=status_list.encode())


def test_passport_statuslist_check_revoked_and_not() -> None:
    published = _published(94_567)
    assert check_status(status_entry(LIST_URL, 94_567), published) is True
    assert check_status(status_entry(LIST_URL, 94_566), published) is False
    assert check_status(status_entry(LIST_URL, 94_568), published) is False


def test_passport_statuslist_check_purpose_list_in_credential() -> None:
    published = _published(5)
    published["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    assert check_status(status_entry(LIST_URL, 5, "suspension"), published) is True


def test_passport_statuslist_check_mismatched_purpose() -> None:
    with pytest.raises(
        StatusListError,
        match=r"statusPurpose 'suspension' does not match the list's \['revocation'\]",
    ):
        check_status(status_entry(LIST_URL, 1, "suspension"), _published())


def test_passport_statuslist_check_index_out_of_range() -> None:
    with pytest.raises(
        StatusListError, match="statusListIndex 131072 is outside the list of 131072 entries"
    ):
        check_status(status_entry(LIST_URL, 131_072), _published())


def test_passport_statuslist_check_other_list() -> None:
    with pytest.raises(StatusListError, match="entry points at"):
        check_status(status_entry(LIST_URL + "x", 1), _published())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statusListIndex": "0x10"}, "base-10 integer string"),
        ({"statusListIndex": 7}, "base-10 integer string"),
        ({"statusSize": 2}, "statusSize 2 is not supported"),
        ({"type": "StatusList2021Entry"}, "not BitstringStatusListEntry"),
    ],
)
def test_passport_statuslist_check_bad_entry(change: dict[str, Any], message: str) -> None:
    entry = {**status_entry(LIST_URL, 1), **change}
    with pytest.raises(StatusListError, match=message):
        check_status(entry, _published())


def test_passport_statuslist_check_bad_list_credential() -> None:
    published = _published()
    published["credentialSubject"]["type"] = "StatusList2021"
    with pytest.raises(StatusListError, match="not a BitstringStatusList"):
        check_status(status_entry(LIST_URL, 1), published)
