"""The entry's canonical form: our fast path writes exactly RFC 8785's bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from onestory.ledger.entries import canonical_json, commitment, format_time

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(documents)
def test_fast_path_matches_rfc_8785(document: object) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


def test_floats_and_non_ascii_keys_use_the_general_canonicaliser() -> None:
    for document in ({"a": 1.0, "b": 1e21}, {"é": 1, "z": 2, "\U0001f600": 3, "\ufb33": 4}):
        assert canonical_json(document) == rfc8785.dumps(document)


def test_integers_beyond_2_to_the_53_are_refused() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json({"n": 2**53})


def test_escapes_match_rfc_8785() -> None:
    document = {"s": 'quote " back \\ nl \n tab \t bell \x07 del \x7f sep \u2028 é'}
    assert canonical_json(document) == rfc8785.dumps(document)


def test_time_has_one_spelling_per_instant() -> None:
    instant = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    other_zone = instant.astimezone(timezone(timedelta(hours=5)))
    assert format_time(instant) == format_time(other_zone) == "2026-01-02T03:04:05.000006Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 1, 2))


def test_commitment_depends_on_salt_and_payload() -> None:
    salt = bytes(range(32))
    base = commitment(salt, {"a": 1})
    assert base != commitment(bytes(32), {"a": 1})
    assert base != commitment(salt, {"a": 2})
    assert base == commitment(salt, {"a": 1})
