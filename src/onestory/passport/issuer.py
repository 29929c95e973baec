"""Who issues passport credentials, and whose credentials a verifier accepts.

OneStory issues as a ``did:web`` identifier derived from the address people reach it at
(``ONESTORY_PUBLIC_BASE_URL``): ``https://passport.example.gov.uk`` is
``did:web:passport.example.gov.uk`` and its DID document is served at
``/.well-known/did.json``. A port is percent-encoded (``did:web:127.0.0.1%3A8000``) and a path
becomes colon-separated segments with the document at ``<path>/did.json``, as the did:web method
specification says. The Ed25519 key is created on first use in the data directory
(``passport-issuer-key``, readable only by its owner) and, like the ledger key, must be backed
up: a new key would not verify the credentials already issued.

A verifier trusts an issuer only when told to: ``Trust`` holds the DID documents it knows
(this instance's own, and any given to it) and the ``did:key`` identifiers it accepts. A proof
made by any other key resolves to nothing, and is reported as "not from a recognised issuer",
not as a forgery.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from onestory.passport.multibase import (
    DID_KEY_PREFIX,
    MultibaseError,
    did_key,
    public_key_from_multibase,
    public_key_to_multibase,
    resolve_did_key,
)

ISSUER_KEY_FILE = "passport-issuer-key"
DID_DOCUMENT_PATH = "/.well-known/did.json"
KEY_FRAGMENT = "key-1"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
ISSUER_NAME = "OneStory skills passport"


class IssuerError(ValueError):
    """The issuer cannot be set up as configured; the message says what to change."""


class UnknownIssuer(LookupError):
    """A verification method that no trusted issuer publishes."""


def did_web(base_url: str) -> str:
    """The did:web identifier for an instance reached at ``base_url``."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise IssuerError(f"public base URL {base_url!r} has no host to make a did:web from")
    host = parts.hostname
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    segments = [quote(host, safe="")]
    segments += [quote(s, safe="") for s in parts.path.split("/") if s]
    return "did:web:" + ":".join(segments)


def did_web_document_path(did: str) -> str:
    """Where a did:web's document lives on its host (``/.well-known/did.json`` for a bare host)."""
    segments = did.removeprefix("did:web:").split(":")[1:]
    if not segments:
        return DID_DOCUMENT_PATH
    return "/" + "/".join(segments) + "/did.json"


@dataclass(frozen=True)
class Issuer:
    """OneStory's issuing identity: its DID, its signing key, the name credentials show."""

    did: str
    key: Ed25519PrivateKey = field(repr=False)
    name: str = ISSUER_NAME
    url: str | None = None

    @property
    def verification_method(self) -> str:
        """The verification method proofs name (``<did>#key-1``; a did:key names its own key)."""
        if self.did.startswith(DID_KEY_PREFIX):
            return f"{self.did}#{self.did.removeprefix(DID_KEY_PREFIX)}"
        return f"{self.did}#{KEY_FRAGMENT}"

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def profile(self) -> dict[str, Any]:
        """The issuer as Open Badges 3.0 describes one: a Profile with an id, type and name."""
        profile: dict[str, Any] = {"id": self.did, "type": ["Profile"], "name": self.name}
        if self.url:
            profile["url"] = self.url
        return profile

    def did_document(self) -> dict[str, Any]:
        """The DID document to serve for a did:web issuer (one Multikey, for assertions)."""
        return did_document(self.did, self.public_key, self.verification_method)

    @classmethod
    def generate_did_key(cls, name: str = ISSUER_NAME) -> Issuer:
        """A throwaway issuer identified by did:key (tests, benchmarks)."""
        key = Ed25519PrivateKey.generate()
        return cls(did_key(key.public_key()), key, name)


def did_document(did: str, key: Ed25519PublicKey, method: str) -> dict[str, Any]:
    """A DID document publishing ``key`` as ``method`` for assertions and authentication."""
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key_to_multibase(key),
            }
        ],
        "assertionMethod": [method],
        "authentication": [method],
    }


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The issuer's Ed25519 key from the data directory, created (mode 600) if missing."""
    path = data_dir / ISSUER_KEY_FILE
    if path.exists():
        try:
            raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
            return Ed25519PrivateKey.from_private_bytes(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IssuerError(
                f"{path} does not hold a valid Ed25519 key ({exc}); restore it from backup — "
                "a new key would not verify the credentials already issued"
            ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    path.write_text(base64.b64encode(raw).decode("ascii") + "\n", encoding="ascii")
    path.chmod(0o600)
    return key


def load_issuer(data_dir: Path, public_base_url: str) -> Issuer:
    """This instance's issuer: did:web of its public address, with the key in ``data_dir``."""
    return Issuer(did_web(public_base_url), load_or_create_key(data_dir), url=public_base_url)


def _method_key(method: Mapping[str, Any]) -> Ed25519PublicKey:
    if "publicKeyMultibase" in method:
        return public_key_from_multibase(str(method["publicKeyMultibase"]))
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        raw = base64.urlsafe_b64decode(str(jwk["x"]) + "==")
        return Ed25519PublicKey.from_public_bytes(raw)
    raise UnknownIssuer(f"verification method {method.get('id')!r} holds no Ed25519 key")


@dataclass
class Trust:
    """The issuers a verifier accepts: DID documents it holds, and did:key identifiers."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    did_keys: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, issuers: Iterable[Issuer | Mapping[str, Any] | str]) -> Trust:
        """Trust built from issuers, DID documents and did:key strings."""
        trust = cls()
        for issuer in issuers:
            if isinstance(issuer, Issuer):
                issuer = (
                    issuer.did if issuer.did.startswith(DID_KEY_PREFIX) else issuer.did_document()
                )
            if isinstance(issuer, str):
                trust.add_did_key(issuer)
            else:
                trust.add_document(issuer)
        return trust

    def add_did_key(self, did: str) -> None:
        if not did.startswith(DID_KEY_PREFIX):
            raise IssuerError(f"{did!r} is not a did:key; give a DID document for other methods")
        resolve_did_key(did)  # refuse a malformed one now, not at verification time
        self.did_keys.add(did.partition("#")[0])

    def add_document(self, document: Mapping[str, Any]) -> None:
        did = document.get("id")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise IssuerError("a DID document needs an 'id' that is a DID")
        self.documents[did] = dict(document)

    def knows(self, did: str) -> bool:
        """Whether ``did`` is an issuer this verifier accepts."""
        return did in self.documents or did in self.did_keys

    def resolve(self, verification_method: str | None) -> Ed25519PublicKey:
        """The public key of a trusted issuer's assertion method; ``UnknownIssuer`` otherwise."""
        if not verification_method:
            raise UnknownIssuer("the proof names no verification method")
        did, _, fragment = verification_method.partition("#")
        if did in self.did_keys:
            try:
                return resolve_did_key(verification_method)
            except MultibaseError as exc:
                raise UnknownIssuer(str(exc)) from exc
        document = self.documents.get(did)
        if document is None:
            raise UnknownIssuer(f"{did} is not a recognised issuer")
        wanted = {verification_method, f"#{fragment}"} if fragment else {verification_method}
        assertion = document.get("assertionMethod", [])
        allowed = {m if isinstance(m, str) else m.get("id") for m in assertion}
        for method in document.get("verificationMethod", []):
            mid = method.get("id")
            if mid in wanted:
                if mid not in allowed and verification_method not in allowed:
                    raise UnknownIssuer(
                        f"{verification_method} is not an assertion method of {did}"
                    )
                try:
                    return _method_key(method)
                except (MultibaseError, ValueError) as exc:
                    raise UnknownIssuer(f"{verification_method}: {exc}") from exc
        raise UnknownIssuer(f"{did} publishes no key {verification_method}")

    def jose_resolver(self, kid: str | None) -> Ed25519PublicKey | None:
        """The same lookup in the shape ``passport.jose`` wants (None when unknown)."""
        try:
            return self.resolve(kid)
        except UnknownIssuer:
            return None
