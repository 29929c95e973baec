"""Data Integrity EdDSA proofs: the eddsa-rdfc-2022 and eddsa-jcs-2022 cryptosuites.

Implements W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation, 2025), sections
3.3 (eddsa-rdfc-2022) and 3.4 (eddsa-jcs-2022), step by step so each intermediate value can
be checked against the W3C test vectors:

- transformation: RDFC-1.0 canonical N-Quads (through ``jsonld.canonicalize_rdfc``, which
  serves contexts offline) or RFC 8785 JCS;
- proof configuration: the proof without ``proofValue``, with the document's ``@context``,
  canonicalised the same way;
- hashing: SHA-256(canonical proof configuration) followed by SHA-256(canonical document);
- Ed25519 (pure EdDSA, RFC 8032) over those 64 bytes; ``proofValue`` is base58btc multibase.

Verification reports which check failed so a person can be told whether a credential was
tampered with, signed by another key, or simply malformed.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal, get_args

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from onestory.passport.jsonld import CanonicalizationError, canonicalize_rdfc
from onestory.passport.multibase import (
    MultibaseError,
    decode_base58btc,
    encode_base58btc,
)

Cryptosuite = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"]
RDFC: Final = "eddsa-rdfc-2022"
JCS: Final = "eddsa-jcs-2022"
CRYPTOSUITES: Final[tuple[str, ...]] = get_args(Cryptosuite)
PROOF_TYPE: Final = "DataIntegrityProof"
ED25519_SIGNATURE_LENGTH: Final = 64

# XML Schema 1.1 dateTime lexical form (timezone optional), as the cryptosuites require
# of ``created``; the calendar values are checked separately by datetime.
_XSD_DATETIME = re.compile(
    r"-?(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)


class Check(StrEnum):
    """The checks verify() makes, in order; a failure names the one that failed."""

    PROOF = "proof is well formed"
    CRYPTOSUITE = "cryptosuite is supported"
    PROOF_PURPOSE = "proof purpose is the expected one"
    CONTEXT = "proof and document contexts agree"
    VERIFICATION_METHOD = "verification method resolves to a key"
    CANONICALISATION = "document and proof canonicalise"
    SIGNATURE = "signature matches"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of verify(): ``ok``, the checks passed, and if not ok which failed and why."""

    ok: bool
    passed: tuple[Check, ...]
    failed: Check | None = None
    reason: str = ""
    cryptosuite: str | None = None
    verification_method: str | None = None
    verified_document: dict[str, Any] | None = field(default=None, repr=False)


class ProofError(ValueError):
    """A proof or proof option that breaks one of the cryptosuite's rules."""

    def __init__(self, check: Check, reason: str) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason


def is_xsd_datetime(value: str) -> bool:
    """Whether ``value`` is an XML Schema dateTime, e.g. ``2023-02-24T23:36:38Z``."""
    match = _XSD_DATETIME.fullmatch(value)
    if match is None:
        return False
    text = f"{match['date']}T{match['time']}"
    if match["time"] == "24:00:00":  # XSD allows end-of-day midnight; Python does not
        text = f"{match['date']}T00:00:00"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def transform(document: Mapping[str, Any], cryptosuite: Cryptosuite) -> bytes:
    """The canonical form of the unsecured document (section 3.x.3 Transformation)."""
    if cryptosuite == RDFC:
        try:
            return canonicalize_rdfc(document).encode("utf-8")
        except CanonicalizationError as error:
            raise ProofError(Check.CANONICALISATION, f"document: {error}") from error
    return _jcs(document, "document")


def proof_configuration(
    document: Mapping[str, Any], proof_options: Mapping[str, Any], cryptosuite: Cryptosuite
) -> bytes:
    """The canonical proof configuration (section 3.x.5 Proof Configuration).

    For eddsa-rdfc-2022 the document's ``@context`` is always used; for eddsa-jcs-2022 the
    options are taken as given, since create and verify set their ``@context`` first.
    """
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    if config.get("type") != PROOF_TYPE or config.get("cryptosuite") != cryptosuite:
        raise ProofError(
            Check.CRYPTOSUITE,
            f"proof type {config.get('type')!r} with cryptosuite "
            f"{config.get('cryptosuite')!r} is not {PROOF_TYPE} with {cryptosuite}",
        )
    created = config.get("created")
    if created is not None and not (isinstance(created, str) and is_xsd_datetime(created)):
        raise ProofError(Check.PROOF, f"proof.created {created!r} is not an XML Schema dateTime")
    if cryptosuite == RDFC:
        if "@context" in document:
            config["@context"] = copy.deepcopy(document["@context"])
        try:
            return canonicalize_rdfc(config).encode("utf-8")
        except CanonicalizationError as error:
            raise ProofError(Check.CANONICALISATION, f"proof configuration: {error}") from error
    return _jcs(config, "proof configuration")


def hash_data(canonical_proof_config: bytes, canonical_document: bytes) -> bytes:
    """SHA-256 of the proof configuration followed by SHA-256 of the document (3.x.4)."""
    return (
        hashlib.sha256(canonical_proof_config).digest()
        + hashlib.sha256(canonical_document).digest()
    )


def sign(
    document: Mapping[str, Any],
    *,
    key: Ed25519PrivateKey,
    verification_method: str,
    cryptosuite: Cryptosuite,
    created: str,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with a DataIntegrityProof made with ``key``.

    The document must not already carry a proof: proof sets and chains are not supported,
    and silently replacing a proof would lose someone else's signature.
    """
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError(
            Check.CRYPTOSUITE,
            f"cryptosuite {cryptosuite!r} is not one of {', '.join(CRYPTOSUITES)}",
        )
    if "proof" in document:
        raise ProofError(Check.PROOF, "document already has a proof; proof sets are not supported")
    unsecured = copy.deepcopy(dict(document))
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": cryptosuite,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    # eddsa-jcs-2022 Create Proof step 2: the proof carries the document's context, so
    # the signature covers it (JCS, unlike RDFC, does not interpret the context).
    if cryptosuite == JCS and "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    canonical_config = proof_configuration(unsecured, proof, cryptosuite)
    canonical_document = transform(unsecured, cryptosuite)
    signature = key.sign(hash_data(canonical_config, canonical_document))
    proof["proofValue"] = encode_base58btc(signature)
    unsecured["proof"] = proof
    return unsecured


def verify(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], Ed25519PublicKey],
    expected_proof_purpose: str = "assertionMethod",
) -> VerifyResult:
    """Verify the document's single DataIntegrityProof, saying what was checked.

    ``resolve_key`` turns the proof's verification method into a public key and decides
    which issuers are trusted; any exception it raises is reported as an unresolved
    verification method.
    """
    passed: list[Check] = []
    proof: Mapping[str, Any] | None = None

    def failure(check: Check, reason: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            passed=tuple(passed),
            failed=check,
            reason=reason,
            cryptosuite=_text(proof, "cryptosuite"),
            verification_method=_text(proof, "verificationMethod"),
        )

    try:
        proof, signature = _read_proof(document)
    except ProofError as error:
        return failure(error.check, error.reason)
    passed.append(Check.PROOF)

    cryptosuite = proof["cryptosuite"]
    if cryptosuite not in CRYPTOSUITES:
        return failure(
            Check.CRYPTOSUITE,
            f"cryptosuite {cryptosuite!r} is not one of {', '.join(CRYPTOSUITES)}",
        )
    passed.append(Check.CRYPTOSUITE)

    if proof["proofPurpose"] != expected_proof_purpose:
        return failure(
            Check.PROOF_PURPOSE,
            f"proofPurpose is {proof['proofPurpose']!r}, expected {expected_proof_purpose!r}",
        )
    passed.append(Check.PROOF_PURPOSE)

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        proof_context = _as_list(options["@context"])
        document_context = _as_list(unsecured.get("@context"))
        if document_context[: len(proof_context)] != proof_context:
            return failure(
                Check.CONTEXT,
                f"document @context {document_context!r} does not start with the "
                f"proof's @context {proof_context!r}",
            )
        if cryptosuite == JCS:
            # eddsa-jcs-2022 Verify Proof step 4.2: the signed document had this context.
            unsecured["@context"] = options["@context"]
    passed.append(Check.CONTEXT)

    # The key before the canonical form: an issuer nobody trusts is refused without the work
    # (RDFC canonicalisation is the expensive step, and the input is anyone's).
    method = proof["verificationMethod"]
    try:
        public_key = resolve_key(method)
    # The resolver decides which issuers are trusted, so whatever it raises is a refusal.
    except Exception as error:
        return failure(Check.VERIFICATION_METHOD, f"verification method {method!r}: {error}")
    passed.append(Check.VERIFICATION_METHOD)

    try:
        canonical_document = transform(unsecured, cryptosuite)
        canonical_config = proof_configuration(unsecured, options, cryptosuite)
    except ProofError as error:
        return failure(error.check, error.reason)
    passed.append(Check.CANONICALISATION)

    try:
        public_key.verify(signature, hash_data(canonical_config, canonical_document))
    except InvalidSignature:
        return failure(
            Check.SIGNATURE,
            f"the {cryptosuite} signature does not match the document and proof "
            f"under the key of {method!r}: changed since signing, or signed by another key",
        )
    passed.append(Check.SIGNATURE)
    return VerifyResult(
        ok=True,
        passed=tuple(passed),
        cryptosuite=cryptosuite,
        verification_method=method,
        verified_document=copy.deepcopy(unsecured),
    )


def _read_proof(document: Mapping[str, Any]) -> tuple[Mapping[str, Any], bytes]:
    """The single proof and its decoded signature, or a ProofError saying what is wrong."""
    if not isinstance(document, Mapping):
        raise ProofError(Check.PROOF, "the secured document is not a JSON object")
    proof = document.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ProofError(
                Check.PROOF,
                f"document has {len(proof)} proofs; only a single proof is supported",
            )
        proof = proof[0]
    if not isinstance(proof, Mapping):
        raise ProofError(Check.PROOF, "document has no proof object")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(
            Check.PROOF, f"proof.type is {proof.get('type')!r}, expected {PROOF_TYPE!r}"
        )
    for name in ("cryptosuite", "verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(name), str) or not proof[name]:
            raise ProofError(Check.PROOF, f"proof.{name} is missing or not a string")
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and is_xsd_datetime(created)):
        raise ProofError(Check.PROOF, f"proof.created {created!r} is not an XML Schema dateTime")
    try:
        signature = decode_base58btc(proof["proofValue"])
    except MultibaseError as error:
        raise ProofError(Check.PROOF, f"proof.proofValue: {error}") from error
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise ProofError(
            Check.PROOF,
            f"proof.proofValue decodes to {len(signature)} bytes; an Ed25519 signature "
            f"is {ED25519_SIGNATURE_LENGTH}",
        )
    return proof, signature


def _jcs(value: Mapping[str, Any], what: str) -> bytes:
    try:
        return rfc8785.dumps(dict(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise ProofError(Check.CANONICALISATION, f"{what}: JCS failed: {error}") from error


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(proof: Mapping[str, Any] | None, name: str) -> str | None:
    value = proof.get(name) if proof is not None else None
    return value if isinstance(value, str) else None
