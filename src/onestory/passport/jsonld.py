"""JSON-LD processing that never touches the network.

A credential's meaning, and so what its signature covers, depends on the contexts it
names. Fetching them at verification time would let whoever serves a context change what
a signature means, and would fail in a prison with no internet; so the contexts OneStory
understands ship with the package (``contexts/``, see SOURCES.md there) and any other URL
is refused by name. The VC 2.0 context is checked against the SHA-256 the Recommendation
fixes before it is ever used.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

VC_V2_URL = "https://www.w3.org/ns/credentials/v2"
# VC Data Model 2.0, section 4.3 (Contexts): the context file's SHA-256 digest.
VC_V2_SHA256 = "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
EXAMPLES_V2_URL = "https://www.w3.org/ns/credentials/examples/v2"
OB_V3P0_URL = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS_URL = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_V2P0_URL = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CITIZENSHIP_V4RC1_URL = "https://w3id.org/citizenship/v4rc1"

# URL -> file in contexts/. Only these URLs are ever served.
CONTEXT_FILES: Mapping[str, str] = {
    VC_V2_URL: "credentials_v2.json",
    EXAMPLES_V2_URL: "examples_v2.json",
    OB_V3P0_URL: "ob_context_3.0.3.json",
    OB_V3P0_EXTENSIONS_URL: "ob_extensions.json",
    CLR_V2P0_URL: "clr_context_2.0.1.json",
    CITIZENSHIP_V4RC1_URL: "citizenship_v4rc1.json",
}

# Contexts whose bytes a specification fixes: a changed file is refused, not used.
PINNED_SHA256: Mapping[str, str] = {VC_V2_URL: VC_V2_SHA256}

RDFC_ALGORITHM = "URDNA2015"  # pyld's name for RDFC-1.0 (the same algorithm)
NQUADS = "application/n-quads"


# Resolved contexts are cached per thread: pyld's cache is not safe to share between
# threads, and ours must never hold contexts resolved through another loader.
_RESOLVED_CONTEXTS_PER_THREAD = 100
# Limits on RDFC-1.0's blank-node disambiguation (its "Hash N-Degree Quads"), which is
# exponential on symmetric graphs: RDFC-1.0 section 4.4 asks implementations to guard against
# such "poison graphs". A credential's blank nodes are told apart by their own quads (first-degree
# hashes) and never reach this step; a 2 KB document of eight interlinked blank nodes otherwise
# takes most of a minute. Group: blank nodes sharing one hash, whose orderings are all tried.
MAX_N_DEGREE_CALLS = 200
MAX_SYMMETRIC_GROUP = 5
_local = threading.local()


def _context_resolver() -> Any:
    cache = getattr(_local, "resolved", None)
    if cache is None:
        cache = _local.resolved = LRUCache(maxsize=_RESOLVED_CONTEXTS_PER_THREAD)
    return ContextResolver(cache, document_loader)


class ContextNotAvailable(Exception):
    """A JSON-LD context URL OneStory does not hold (no network fetch is attempted)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"JSON-LD context {url!r} is not one OneStory holds offline; it is not "
            f"fetched from the network. Known contexts: {', '.join(sorted(CONTEXT_FILES))}"
        )
        self.url = url


class ContextIntegrityError(Exception):
    """A packaged context file whose SHA-256 is not the one its specification fixes."""


class _BoundedRdfc(URDNA2015):  # type: ignore[misc]  # pyld ships no type hints
    """pyld's RDFC-1.0 with a budget on the exponential step (see ``MAX_N_DEGREE_CALLS``)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self.calls += 1
        if self.calls > MAX_N_DEGREE_CALLS:
            raise CanonicalizationError(
                f"the document's blank nodes need more than {MAX_N_DEGREE_CALLS} rounds of "
                "disambiguation (a poison graph): refused rather than canonicalised"
            )
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> Any:
        related = super().create_hash_to_related(id_, issuer)
        largest = max((len(nodes) for nodes in related.values()), default=0)
        if largest > MAX_SYMMETRIC_GROUP:
            raise CanonicalizationError(
                f"{largest} blank nodes are indistinguishable from one another (more than "
                f"{MAX_SYMMETRIC_GROUP}): refused rather than trying every ordering of them"
            )
        return related


class CanonicalizationError(Exception):
    """A document that cannot be turned into canonical N-Quads without losing data."""


def context_bytes(url: str) -> bytes:
    """The packaged bytes of a context, checked against its pinned SHA-256 if it has one."""
    filename = CONTEXT_FILES.get(url)
    if filename is None:
        raise ContextNotAvailable(url)
    data = resources.files(__package__).joinpath("contexts", filename).read_bytes()
    expected = PINNED_SHA256.get(url)
    if expected is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ContextIntegrityError(
                f"context {url!r} (contexts/{filename}) has SHA-256 {actual}, "
                f"but its specification fixes {expected}"
            )
    return data


@cache
def _parsed_context(url: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(context_bytes(url))
    return parsed


def load_context(url: str) -> dict[str, Any]:
    """The parsed context document for ``url`` (a fresh copy the caller may change)."""
    return copy.deepcopy(_parsed_context(url))


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader serving only the packaged contexts; anything else is refused.

    The contexts are packaged and never change, so they are tagged ``static``: pyld then keeps
    each one resolved in the thread's cache between calls instead of resolving it afresh for
    every document (measured by bench/bench_passport.py: about a quarter of rdfc's time).
    """
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
        "contentType": "application/ld+json",
        "tag": "static",
    }


def canonicalize_rdfc(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, in "safe mode".

    A property the contexts do not define would be silently dropped by JSON-LD
    expansion and so left out of what is signed; like jsonld.js's safe mode, it is
    refused here instead. Errors name the property or the context at fault.
    """
    dropped: list[str] = []

    def on_dropped(expanded: str | None) -> None:
        dropped.append(str(expanded))

    processor = jsonld.JsonLdProcessor(on_property_dropped=on_dropped)
    options: dict[str, Any] = {
        "base": "",
        "documentLoader": document_loader,
        "contextResolver": _context_resolver(),
        "extractAllScripts": True,
        "processingMode": "json-ld-1.1",
        "produceGeneralizedRdf": False,
    }
    try:
        # What pyld's normalize() does, with the bounded algorithm in place of its own.
        dataset = processor.to_rdf(copy.deepcopy(dict(document)), options)
        canonical: str = _BoundedRdfc().main(dataset, {"format": NQUADS})
    except jsonld.JsonLdError as error:
        raise CanonicalizationError(_describe(error)) from error
    if dropped:
        raise CanonicalizationError(
            "properties not defined by any context would be left out of the signature: "
            + ", ".join(sorted(set(dropped)))
        )
    return canonical


def _describe(error: BaseException) -> str:
    """The innermost cause of a pyld error, which is the one that names the problem."""
    messages: list[str] = []
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ContextNotAvailable):
            return str(current)
        if isinstance(current, jsonld.JsonLdError):
            messages.append(str(current.args[0]) if current.args else current.type)
        else:
            messages.append(str(current))
        current = current.__cause__ or current.__context__
    return "JSON-LD processing failed: " + " <- ".join(messages)
