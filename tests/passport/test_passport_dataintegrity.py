"""Data Integrity EdDSA proofs against the W3C and 1EdTech vectors, byte for byte."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from onestory.passport import dataintegrity as di
from onestory.passport import jsonld
from onestory.passport.multibase import (
    b58decode,
    b58encode,
    decode_base58btc,
    did_key_verification_method,
    encode_base58btc,
    private_key_from_multibase,
    public_key_from_multibase,
    public_key_to_multibase,
    resolve_did_key,
)

DATA = Path(__file__).parents[1] / "data"
W3C = DATA / "vc-di-eddsa" / "TestVectors"
OB = DATA / "openbadges-3.0"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


W3C_KEYS = _json(W3C / "keyPair.json")
W3C_KEY = private_key_from_multibase(W3C_KEYS["privateKeyMultibase"])


@dataclass(frozen=True)
class W3CVector:
    """One W3C vector folder: the unsigned input, the suite and the file-name suffix."""

    name: str
    folder: Path
    unsigned: str
    cryptosuite: di.Cryptosuite
    suffix: str

    def file(self, stem: str, ext: str = "txt") -> Path:
        return self.folder / f"{stem}{self.suffix}.{ext}"

    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = _json(W3C / self.unsigned)
        return loaded


W3C_VECTORS = [
    W3CVector("rdfc", W3C / "eddsa-rdfc-2022", "unsigned.json", "eddsa-rdfc-2022", "DataInt"),
    W3CVector(
        "rdfc-employ",
        W3C / "eddsa-rdfc-2022" / "employ",
        "employmentAuth.json",
        "eddsa-rdfc-2022",
        "DataInt",
    ),
    W3CVector("jcs", W3C / "eddsa-jcs-2022", "unsigned.json", "eddsa-jcs-2022", "JCS"),
]
by_name = pytest.mark.parametrize("vector", W3C_VECTORS, ids=lambda v: v.name)


def test_key_pair_vector_decodes_to_the_published_public_key() -> None:
    assert public_key_to_multibase(W3C_KEY.public_key()) == W3C_KEYS["publicKeyMultibase"]
    public = public_key_from_multibase(W3C_KEYS["publicKeyMultibase"])
    assert public.public_bytes_raw() == W3C_KEY.public_key().public_bytes_raw()


@by_name
def test_canonical_document_hashes_and_signature_match_the_vector(vector: W3CVector) -> None:
    document = vector.document()
    options = _json(vector.file("proofConfig", "json"))

    canonical_document = di.transform(document, vector.cryptosuite)
    canonical_config = di.proof_configuration(document, options, vector.cryptosuite)
    hash_data = di.hash_data(canonical_config, canonical_document)
    signature = W3C_KEY.sign(hash_data)

    # The .txt canonical forms: N-Quads end with a newline; the JCS files have none.
    assert canonical_document.decode() == vector.file("canonDoc").read_text()
    assert canonical_config.decode() == vector.file("proofCanon").read_text()
    assert hashlib.sha256(canonical_document).hexdigest() == _text(vector.file("docHash"))
    assert hashlib.sha256(canonical_config).hexdigest() == _text(vector.file("proofHash"))
    assert hash_data.hex() == _text(vector.file("combinedHash"))
    assert signature.hex() == _text(vector.file("sigHex"))
    assert encode_base58btc(signature) == _text(vector.file("sigBTC58"))
    assert decode_base58btc(_text(vector.file("sigBTC58"))) == signature


@by_name
def test_signing_the_unsigned_document_reproduces_the_signed_file_exactly(
    vector: W3CVector,
) -> None:
    options = _json(vector.file("proofConfig", "json"))
    signed = di.sign(
        vector.document(),
        key=W3C_KEY,
        verification_method=options["verificationMethod"],
        cryptosuite=vector.cryptosuite,
        created=options["created"],
        proof_purpose=options["proofPurpose"],
    )
    published = vector.file("signed", "json").read_text(encoding="utf-8")
    assert signed == json.loads(published)
    # Same key order as the published file, so the 2-space serialisation is identical.
    assert json.dumps(signed, indent=2) == published.rstrip("\n")


@by_name
def test_verify_accepts_the_published_signed_document(vector: W3CVector) -> None:
    result = di.verify(_json(vector.file("signed", "json")), resolve_key=resolve_did_key)
    assert result.ok, result.reason
    assert result.passed == tuple(di.Check)
    assert result.cryptosuite == vector.cryptosuite
    assert result.verified_document == vector.document()


def _change_one_character(value: str) -> str:
    return value[:-1] + ("X" if value[-1] != "X" else "Y")


@by_name
def test_one_changed_character_in_the_subject_fails_the_signature(vector: W3CVector) -> None:
    signed = _json(vector.file("signed", "json"))
    subject = signed["credentialSubject"]
    field = "alumniOf" if "alumniOf" in subject else "givenName"
    subject[field] = _change_one_character(subject[field])
    result = di.verify(signed, resolve_key=resolve_did_key)
    assert not result.ok
    assert result.failed is di.Check.SIGNATURE
    assert "does not match" in result.reason
    assert di.Check.CANONICALISATION in result.passed


@by_name
def test_a_signature_checked_against_another_key_fails(vector: W3CVector) -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    result = di.verify(_json(vector.file("signed", "json")), resolve_key=lambda _vm: other)
    assert not result.ok
    assert result.failed is di.Check.SIGNATURE
    assert (
        result.verification_method
        == _json(vector.file("proofConfig", "json"))["verificationMethod"]
    )


@by_name
def test_a_changed_created_fails_the_signature(vector: W3CVector) -> None:
    signed = _json(vector.file("signed", "json"))
    signed["proof"]["created"] = "2023-02-24T23:36:39Z"
    result = di.verify(signed, resolve_key=resolve_did_key)
    assert not result.ok
    assert result.failed is di.Check.SIGNATURE


@by_name
def test_a_document_signed_by_another_did_key_verifies_under_that_key(
    vector: W3CVector,
) -> None:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"onestory test").digest())
    method = did_key_verification_method(key.public_key())
    signed = di.sign(
        vector.document(),
        key=key,
        verification_method=method,
        cryptosuite=vector.cryptosuite,
        created="2025-01-02T03:04:05Z",
    )
    assert di.verify(signed, resolve_key=resolve_did_key).ok
    # The same proof presented as the W3C key's fails: the key is bound to the method.
    signed["proof"]["verificationMethod"] = _json(vector.file("proofConfig", "json"))[
        "verificationMethod"
    ]
    assert di.verify(signed, resolve_key=resolve_did_key).failed is di.Check.SIGNATURE


def _signed_jcs() -> dict[str, Any]:
    loaded: dict[str, Any] = _json(W3C / "eddsa-jcs-2022" / "signedJCS.json")
    return loaded


@pytest.mark.parametrize(
    ("change", "check", "message"),
    [
        (lambda d: d.pop("proof"), di.Check.PROOF, "no proof"),
        (lambda d: d["proof"].pop("proofValue"), di.Check.PROOF, "proofValue is missing"),
        (
            lambda d: d["proof"].update(proofValue="u" + d["proof"]["proofValue"][1:]),
            di.Check.PROOF,
            "expected base58btc",
        ),
        (
            lambda d: d["proof"].update(proofValue="z0OIl"),
            di.Check.PROOF,
            "character '0' at position 0",
        ),
        (
            lambda d: d["proof"].update(proofValue=encode_base58btc(b"\1" * 63)),
            di.Check.PROOF,
            "63 bytes",
        ),
        (lambda d: d["proof"].update(type="Ed25519Signature2020"), di.Check.PROOF, "proof.type"),
        (
            lambda d: d["proof"].update(created="24 February 2023"),
            di.Check.PROOF,
            "not an XML Schema dateTime",
        ),
        (
            lambda d: d["proof"].update(cryptosuite="ecdsa-jcs-2019"),
            di.Check.CRYPTOSUITE,
            "'ecdsa-jcs-2019' is not one of",
        ),
        (
            lambda d: d["proof"].update(proofPurpose="authentication"),
            di.Check.PROOF_PURPOSE,
            "expected 'assertionMethod'",
        ),
        (
            lambda d: d["proof"].update({"@context": ["https://www.w3.org/ns/credentials/v1"]}),
            di.Check.CONTEXT,
            "does not start with",
        ),
        (
            lambda d: d.update({"@context": list(reversed(d["@context"]))}),
            di.Check.CONTEXT,
            "does not start with",
        ),
    ],
    ids=[
        "no-proof",
        "no-proofValue",
        "not-base58btc",
        "bad-base58",
        "short-signature",
        "other-proof-type",
        "bad-created",
        "unknown-cryptosuite",
        "other-purpose",
        "proof-context-not-prefix",
        "document-context-reordered",
    ],
)
def test_each_malformed_proof_is_reported_by_the_check_that_fails(
    change: Any, check: di.Check, message: str
) -> None:
    signed = _signed_jcs()
    change(signed)
    result = di.verify(signed, resolve_key=resolve_did_key)
    assert not result.ok
    assert result.failed is check
    assert message in result.reason


def test_rdfc_document_with_an_undefined_term_is_a_canonicalisation_failure() -> None:
    signed = _json(W3C / "eddsa-rdfc-2022" / "signedDataInt.json")
    signed["credentialSubject"]["unsignedClaim"] = "slipped in after signing"
    signed["@context"] = signed["@context"][:1]  # drop examples/v2 so no @vocab catches it
    result = di.verify(signed, resolve_key=resolve_did_key)
    assert result.failed is di.Check.CANONICALISATION
    assert "unsignedClaim" in result.reason


def test_rdfc_document_with_an_unknown_context_names_the_context() -> None:
    signed = _json(W3C / "eddsa-rdfc-2022" / "signedDataInt.json")
    signed["@context"].append("https://example.invalid/ctx")
    result = di.verify(signed, resolve_key=resolve_did_key)
    assert result.failed is di.Check.CANONICALISATION
    assert "https://example.invalid/ctx" in result.reason


def test_a_key_resolver_that_refuses_is_reported_as_the_verification_method() -> None:
    def untrusted(method: str) -> Ed25519PublicKey:
        raise LookupError("issuer is not recognised")

    result = di.verify(_signed_jcs(), resolve_key=untrusted)
    assert result.failed is di.Check.VERIFICATION_METHOD
    assert "issuer is not recognised" in result.reason
    assert di.Check.SIGNATURE not in result.passed


def test_sign_refuses_a_document_that_already_has_a_proof() -> None:
    with pytest.raises(di.ProofError, match="already has a proof"):
        di.sign(
            _signed_jcs(),
            key=W3C_KEY,
            verification_method="did:example:1#key",
            cryptosuite="eddsa-jcs-2022",
            created="2023-02-24T23:36:38Z",
        )


def test_sign_refuses_a_created_that_is_not_a_datetime() -> None:
    with pytest.raises(di.ProofError, match="not an XML Schema dateTime"):
        di.sign(
            _json(W3C / "unsigned.json"),
            key=W3C_KEY,
            verification_method="did:example:1#key",
            cryptosuite="eddsa-rdfc-2022",
            created="2023-02-30T00:00:00Z",
        )


def test_sign_does_not_change_its_input() -> None:
    document = _json(W3C / "unsigned.json")
    before = copy.deepcopy(document)
    di.sign(
        document,
        key=W3C_KEY,
        verification_method="did:example:1#key",
        cryptosuite="eddsa-jcs-2022",
        created="2023-02-24T23:36:38Z",
    )
    assert document == before


# --- Open Badges 3.0 and CLR 2.0 (1EdTech implementation guide, eddsa-rdfc-2022) ---


@dataclass(frozen=True)
class BadgeVector:
    """A 1EdTech example: its folder and the values printed on its implementation-guide page."""

    name: str

    @property
    def folder(self) -> Path:
        return OB / self.name

    @property
    def published(self) -> dict[str, str]:
        loaded: dict[str, str] = _json(self.folder / "published-values.json")
        return loaded

    def key(self) -> Ed25519PrivateKey:
        # The page prints the 64-byte libsodium form: 32-byte seed then public key.
        return Ed25519PrivateKey.from_private_bytes(
            bytes.fromhex(self.published["privateKeyHex"])[:32]
        )

    def resolve(self, method: str) -> Ed25519PublicKey:
        controller = "https://example.edu/issuers/565049#"
        if not method.startswith(controller):
            raise LookupError(f"{method} is not the example issuer's key")
        return public_key_from_multibase(method.removeprefix(controller))


BADGE_VECTORS = [BadgeVector("obv3p0"), BadgeVector("clrv2p0")]
by_badge = pytest.mark.parametrize("badge", BADGE_VECTORS, ids=lambda b: b.name)


@by_badge
def test_badge_canonical_forms_hashes_and_signature_match_the_published_values(
    badge: BadgeVector,
) -> None:
    published = badge.published
    credential = _json(badge.folder / "credential.json")
    signed = _json(badge.folder / "signed.json")
    proof = signed["proof"][0] if isinstance(signed["proof"], list) else signed["proof"]
    options = {key: value for key, value in proof.items() if key != "proofValue"}

    canonical_document = di.transform(credential, "eddsa-rdfc-2022")
    canonical_config = di.proof_configuration(credential, options, "eddsa-rdfc-2022")
    hash_data = di.hash_data(canonical_config, canonical_document)
    signature = badge.key().sign(hash_data)

    assert canonical_document.decode() == (badge.folder / "document-canon.txt").read_text()
    assert canonical_config.decode() == (badge.folder / "proof-canon.txt").read_text()
    assert hashlib.sha256(canonical_document).hexdigest() == published["documentHashHex"]
    assert hashlib.sha256(canonical_config).hexdigest() == published["proofHashHex"]
    assert hash_data.hex() == published["dataToSignHex"]
    assert signature.hex() == published["signatureHex"]
    assert encode_base58btc(signature) == published["proofValue"] == proof["proofValue"]
    public = badge.key().public_key()
    assert public.public_bytes_raw().hex() == published["publicKeyHex"]
    assert public_key_to_multibase(public) == published["publicKeyMultibase"]


@by_badge
def test_signing_the_badge_reproduces_its_published_proof(badge: BadgeVector) -> None:
    signed = _json(badge.folder / "signed.json")
    proof = signed["proof"][0] if isinstance(signed["proof"], list) else signed["proof"]
    ours = di.sign(
        _json(badge.folder / "credential.json"),
        key=badge.key(),
        verification_method=proof["verificationMethod"],
        cryptosuite="eddsa-rdfc-2022",
        created=proof["created"],
    )
    assert ours["proof"] == proof
    assert {k: v for k, v in ours.items() if k != "proof"} == {
        k: v for k, v in signed.items() if k != "proof"
    }


@by_badge
def test_the_published_badge_verifies_and_a_tampered_one_does_not(badge: BadgeVector) -> None:
    signed = _json(badge.folder / "signed.json")
    assert di.verify(signed, resolve_key=badge.resolve).ok
    signed["name"] = _change_one_character(signed["name"])
    result = di.verify(signed, resolve_key=badge.resolve)
    assert result.failed is di.Check.SIGNATURE


def test_clr_embedded_badge_proof_is_part_of_the_signed_graph() -> None:
    """Changing the embedded credential's own proofValue breaks the CLR's signature."""
    signed = _json(OB / "clrv2p0" / "signed.json")
    inner = signed["credentialSubject"]["verifiableCredential"][0]["proof"][0]
    inner["proofValue"] = _change_one_character(inner["proofValue"])
    result = di.verify(signed, resolve_key=BadgeVector("clrv2p0").resolve)
    assert result.failed is di.Check.SIGNATURE


@by_badge
def test_badge_proof_canon_is_a_fixed_point_of_the_canonicaliser(badge: BadgeVector) -> None:
    """Parsing the published N-Quads and canonicalising again gives the same bytes."""
    from pyld import jsonld as pyld_jsonld

    for name in ("proof-canon.txt", "document-canon.txt"):
        text = (badge.folder / name).read_text()
        again = pyld_jsonld.normalize(
            text,
            {
                "algorithm": jsonld.RDFC_ALGORITHM,
                "inputFormat": jsonld.NQUADS,
                "format": jsonld.NQUADS,
            },
        )
        assert again == text


# --- base58btc and did:key ---


def test_base58_keeps_leading_zero_bytes() -> None:
    assert b58encode(b"\0\0\1") == "112"
    assert b58decode("112") == b"\0\0\1"
    assert b58encode(b"") == ""


@settings(max_examples=200)
@given(st.binary(max_size=80))
def test_base58btc_round_trips_any_bytes(data: bytes) -> None:
    encoded = encode_base58btc(data)
    assert encoded.startswith("z")
    assert decode_base58btc(encoded) == data


def test_did_key_for_the_w3c_key_is_the_one_the_vectors_use() -> None:
    method = did_key_verification_method(W3C_KEY.public_key())
    assert (
        method == _json(W3C / "eddsa-rdfc-2022" / "proofConfigDataInt.json")["verificationMethod"]
    )


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("did:web:example.org#key-1", "does not start with 'did:key:'"),
        (
            "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#other",
            "fragment #other",
        ),
        ("did:key:z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq", "expected ed01"),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "expected ed01"),
    ],
    ids=["other-method", "other-fragment", "private-key-codec", "secp256k1-key"],
)
def test_resolve_did_key_refuses_what_is_not_an_ed25519_did_key(method: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_did_key(method)
