"""The offline JSON-LD document loader: pinned contexts served, everything else refused."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from onestory.passport import jsonld

VECTORS = Path(__file__).parents[1] / "data" / "vc-di-eddsa" / "TestVectors"


def test_vc_v2_context_has_the_sha256_the_recommendation_fixes() -> None:
    served = jsonld.context_bytes(jsonld.VC_V2_URL)
    assert hashlib.sha256(served).hexdigest() == (
        "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
    )
    assert jsonld.load_context(jsonld.VC_V2_URL) == json.loads(served)


def test_a_changed_vc_v2_context_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jsonld.PINNED_SHA256, jsonld.VC_V2_URL, "0" * 64)
    with pytest.raises(jsonld.ContextIntegrityError, match=r"credentials_v2\.json.*fixes 0000"):
        jsonld.context_bytes(jsonld.VC_V2_URL)


@pytest.mark.parametrize("url", sorted(jsonld.CONTEXT_FILES))
def test_every_packaged_context_is_served_in_pyld_form(url: str) -> None:
    remote = jsonld.document_loader(url)
    assert remote["documentUrl"] == url
    assert "@context" in remote["document"]


def test_served_contexts_are_copies_the_caller_cannot_corrupt() -> None:
    first = jsonld.load_context(jsonld.EXAMPLES_V2_URL)
    first["@context"]["@vocab"] = "https://attacker.example/#"
    second = jsonld.load_context(jsonld.EXAMPLES_V2_URL)
    assert second["@context"]["@vocab"] == "https://www.w3.org/ns/credentials/examples#"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record, and refuse, any attempt to open a socket."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_loader_refuses_an_unknown_url_by_name_without_network(no_network: list[Any]) -> None:
    with pytest.raises(jsonld.ContextNotAvailable, match=r"https://example\.invalid/ctx") as info:
        jsonld.document_loader("https://example.invalid/ctx")
    assert info.value.url == "https://example.invalid/ctx"
    assert "not fetched from the network" in str(info.value)
    assert no_network == []


def test_canonicalising_a_document_with_an_unknown_context_names_it(
    no_network: list[Any],
) -> None:
    document = {
        "@context": [jsonld.VC_V2_URL, "https://example.invalid/ctx"],
        "type": ["VerifiableCredential"],
    }
    with pytest.raises(jsonld.CanonicalizationError, match=r"https://example\.invalid/ctx"):
        jsonld.canonicalize_rdfc(document)
    assert no_network == []


def test_a_property_no_context_defines_is_refused_not_dropped() -> None:
    document = json.loads((VECTORS / "unsigned.json").read_text())
    document["@context"] = [jsonld.VC_V2_URL]  # without examples/v2, alumniOf is undefined
    with pytest.raises(jsonld.CanonicalizationError, match="alumniOf"):
        jsonld.canonicalize_rdfc(document)


def test_canonical_form_matches_the_w3c_vector_on_repeated_calls() -> None:
    document = json.loads((VECTORS / "unsigned.json").read_text())
    expected = (VECTORS / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text()
    assert jsonld.canonicalize_rdfc(document) == expected
    # The loader's cache must not change the result the second time round.
    assert jsonld.canonicalize_rdfc(document) == expected
