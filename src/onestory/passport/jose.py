"""Verifiable credentials secured with JOSE (W3C VC-JOSE-COSE, ``application/vc+jwt``).

The credential itself is the JWT claims set (VC 2.0); it is not wrapped in a ``vc``
claim as VC 1.1 JWTs were. Verification fails closed and names what failed, so a
caller can tell a forged credential from an expired one or from a format we do not
read (SD-JWT and COSE envelopes are outside the issue's scope and are refused).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    DecodeError,
    InvalidKeyCurveError,
    InvalidKeyTypeError,
    JoseError,
    MissingAlgorithmError,
    SecurityWarning,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import ECKey, Key, OKPKey, import_key

VC_MEDIA_TYPE = "application/vc+jwt"
VP_MEDIA_TYPE = "application/vp+jwt"
ENVELOPE_PREFIX = "data:" + VC_MEDIA_TYPE + ","
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"

# The vectors and the issue use "EdDSA"; RFC 9864 names the same Ed25519 signature
# "Ed25519", so both are accepted. ECDSA on the NIST curves is accepted because the
# W3C test suite's "must verify" inputs are signed with them.
VERIFY_ALGORITHMS = ("EdDSA", "Ed25519", "ES256", "ES384", "ES512")
SIGN_ALGORITHM = "EdDSA"

# `typ` and `cty` may drop the "application/" prefix (RFC 7515 §4.1.9).
_VC_TYP = frozenset({"vc+jwt", VC_MEDIA_TYPE})
_VP_TYP = frozenset({"vp+jwt", VP_MEDIA_TYPE})
_VC_CTY = frozenset({"vc", "application/vc"})
_VP_CTY = frozenset({"vp", "application/vp"})
# VC 1.1 wrapped the document in these claims; VC-JOSE-COSE forbids them.
_FORBIDDEN_CLAIMS = ("vc", "vp")

KeyLike = Key | Ed25519PublicKey | EllipticCurvePublicKey | Mapping[str, Any]
KeyResolver = Callable[[str | None], KeyLike | None]


class JoseFailure(StrEnum):
    """Why a secured credential or presentation was refused (stable codes for APIs)."""

    MALFORMED = "malformed"
    UNKNOWN_ALGORITHM = "unknown_algorithm"
    UNKNOWN_KEY = "unknown_key"
    WRONG_KEY = "wrong_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_MEDIA_TYPE = "wrong_media_type"
    FORBIDDEN_CLAIMS = "forbidden_claims"
    ISSUER_MISMATCH = "issuer_mismatch"
    INVALID_CLAIMS = "invalid_claims"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    BAD_CREDENTIAL = "bad_credential"
    UNSUPPORTED_ENVELOPE = "unsupported_envelope"


@dataclass(frozen=True)
class JoseResult:
    """Outcome of verifying a vc+jwt or vp+jwt.

    ``claims`` is the verified document (credential or presentation) and is only set
    when ``ok``; ``credentials`` holds one result per enveloped credential of a
    presentation, in order, whether or not each verified.
    """

    ok: bool
    claims: dict[str, Any] | None = None
    failure: JoseFailure | None = None
    detail: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    credentials: tuple[JoseResult, ...] = ()

    @property
    def credential(self) -> dict[str, Any] | None:
        """The verified credential (alias of ``claims`` for readability at call sites)."""
        return self.claims


def _fail(failure: JoseFailure, detail: str, header: Mapping[str, Any] | None = None) -> JoseResult:
    return JoseResult(ok=False, failure=failure, detail=detail, header=dict(header or {}))


@contextmanager
def _quiet_eddsa() -> Iterator[None]:
    """Silence joserfc's RFC 9864 deprecation notice for "EdDSA", which the spec still uses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        yield


def _sign(
    document: Mapping[str, Any], *, typ: str, cty: str, key: Ed25519PrivateKey, kid: str
) -> str:
    forbidden = [name for name in _FORBIDDEN_CLAIMS if name in document]
    if forbidden:
        raise ValueError(
            f"cannot secure a document with JWT claim(s) {forbidden}: VC-JOSE-COSE forbids the "
            "VC 1.1 'vc'/'vp' wrappers; put the credential's properties at the top level"
        )
    if not kid:
        raise ValueError("kid must name the verification method, so verifiers can find the key")
    header = {"alg": SIGN_ALGORITHM, "typ": typ, "cty": cty, "kid": kid}
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with _quiet_eddsa():
        return jws.serialize_compact(
            header, payload, OKPKey.import_key(key), algorithms=[SIGN_ALGORITHM]
        )


def sign_vc_jwt(credential: Mapping[str, Any], *, key: Ed25519PrivateKey, kid: str) -> str:
    """Secure a VC 2.0 credential as a compact JWS (``typ`` vc+jwt, ``cty`` vc, EdDSA)."""
    return _sign(credential, typ="vc+jwt", cty="vc", key=key, kid=kid)


def enveloped_credential(vc_jwt: str) -> dict[str, Any]:
    """Wrap a vc+jwt as the EnvelopedVerifiableCredential a presentation must carry."""
    return {
        "@context": CREDENTIALS_V2,
        "id": ENVELOPE_PREFIX + vc_jwt,
        "type": "EnvelopedVerifiableCredential",
    }


def sign_vp_jwt(
    presentation: Mapping[str, Any],
    *,
    credentials: Sequence[str],
    key: Ed25519PrivateKey,
    kid: str,
) -> str:
    """Secure a presentation as vp+jwt, adding each vc+jwt as an enveloped credential.

    Entries already in ``verifiableCredential`` must be enveloped too: the spec requires
    every credential in a secured presentation to be secured itself.
    """
    existing = presentation.get("verifiableCredential", [])
    if isinstance(existing, Mapping):
        existing = [existing]
    for position, entry in enumerate(existing):
        if not (isinstance(entry, Mapping) and _types(entry) >= {"EnvelopedVerifiableCredential"}):
            raise ValueError(
                f"verifiableCredential[{position}] is not an EnvelopedVerifiableCredential; "
                "pass secured credentials through credentials= instead"
            )
    document = dict(presentation)
    document["verifiableCredential"] = [*existing, *(enveloped_credential(c) for c in credentials)]
    return _sign(document, typ="vp+jwt", cty="vp", key=key, kid=kid)


def _types(document: Mapping[str, Any]) -> set[str]:
    value = document.get("type", [])
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def _to_jwk(key: KeyLike) -> Key:
    if isinstance(key, Mapping):
        return import_key(dict(key))
    if isinstance(key, Ed25519PublicKey):
        return OKPKey.import_key(key)
    if isinstance(key, EllipticCurvePublicKey):
        return ECKey.import_key(key)
    return key


def _check_signature(token: str, resolve_key: KeyResolver) -> JoseResult:
    """Verify the JWS layer only; the claims are returned unchecked."""
    if not isinstance(token, str) or token.count(".") != 2:
        return _fail(
            JoseFailure.MALFORMED,
            "not a JWS compact serialization (expected three '.'-separated parts)",
        )
    try:
        obj = jws.extract_compact(token.encode("ascii"))
        header = dict(obj.headers())
    except (JoseError, ValueError, UnicodeError) as exc:
        return _fail(JoseFailure.MALFORMED, f"not a JWS compact serialization: {exc}")
    alg = header.get("alg")
    if alg not in VERIFY_ALGORITHMS:
        return _fail(
            JoseFailure.UNKNOWN_ALGORITHM,
            f"alg {alg!r} is not one of {list(VERIFY_ALGORITHMS)}",
            header,
        )
    kid = header.get("kid")
    resolved = resolve_key(kid if isinstance(kid, str) else None)
    if resolved is None:
        return _fail(JoseFailure.UNKNOWN_KEY, f"no key known for kid {kid!r}", header)
    try:
        with _quiet_eddsa():
            verified = jws.deserialize_compact(
                token, _to_jwk(resolved), algorithms=list(VERIFY_ALGORITHMS)
            )
    except BadSignatureError:
        return _fail(
            JoseFailure.BAD_SIGNATURE,
            f"signature does not verify with the key for kid {kid!r}",
            header,
        )
    except (InvalidKeyTypeError, InvalidKeyCurveError) as exc:
        return _fail(
            JoseFailure.WRONG_KEY, f"key for kid {kid!r} cannot check alg {alg}: {exc}", header
        )
    except (UnsupportedAlgorithmError, MissingAlgorithmError) as exc:
        return _fail(JoseFailure.UNKNOWN_ALGORITHM, str(exc), header)
    except (DecodeError, JoseError, ValueError) as exc:
        return _fail(JoseFailure.MALFORMED, f"JWS could not be read: {exc}", header)
    try:
        claims = json.loads(verified.payload)
    except (ValueError, UnicodeError) as exc:
        return _fail(JoseFailure.MALFORMED, f"payload is not JSON: {exc}", header)
    if not isinstance(claims, dict):
        return _fail(JoseFailure.MALFORMED, "payload is not a JSON object", header)
    return JoseResult(ok=True, claims=claims, header=header)


def _parse_datetime(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an XML Schema dateTimeStamp string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a dateTimeStamp: {exc}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"{name} {value!r} has no time zone offset")
    return parsed


def _check_claims(
    signed: JoseResult,
    *,
    typ: frozenset[str],
    cty: frozenset[str],
    required_type: str,
    issuer_property: str | None,
    now: datetime,
) -> JoseResult:
    header, claims = signed.header, signed.claims or {}
    if header.get("typ") not in typ:
        return _fail(
            JoseFailure.WRONG_MEDIA_TYPE,
            f"typ is {header.get('typ')!r}, expected one of {sorted(typ)}",
            header,
        )
    if "cty" in header and header["cty"] not in cty:
        return _fail(
            JoseFailure.WRONG_MEDIA_TYPE,
            f"cty is {header['cty']!r}, expected one of {sorted(cty)}",
            header,
        )
    present = [name for name in _FORBIDDEN_CLAIMS if name in claims]
    if present:
        return _fail(
            JoseFailure.FORBIDDEN_CLAIMS,
            f"claims {present} must not appear in a VC 2.0 JWT",
            header,
        )
    if required_type not in _types(claims):
        return _fail(JoseFailure.INVALID_CLAIMS, f"type does not include {required_type!r}", header)
    if issuer_property is not None and "iss" in claims:
        issuer = claims.get(issuer_property)
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if claims["iss"] != issuer_id:
            return _fail(
                JoseFailure.ISSUER_MISMATCH,
                f"iss {claims['iss']!r} does not match {issuer_property} {issuer_id!r}",
                header,
            )
    try:
        if "validFrom" in claims and now < _parse_datetime(claims["validFrom"], "validFrom"):
            return _fail(
                JoseFailure.NOT_YET_VALID,
                f"validFrom {claims['validFrom']} is after {now.isoformat()}",
                header,
            )
        if "validUntil" in claims and now > _parse_datetime(claims["validUntil"], "validUntil"):
            return _fail(
                JoseFailure.EXPIRED,
                f"validUntil {claims['validUntil']} is before {now.isoformat()}",
                header,
            )
        for name in ("nbf", "exp"):
            if name in claims and (
                isinstance(claims[name], bool) or not isinstance(claims[name], int | float)
            ):
                raise ValueError(
                    f"{name} must be a NumericDate (seconds since the epoch), got {claims[name]!r}"
                )
    except ValueError as exc:
        return _fail(JoseFailure.INVALID_CLAIMS, str(exc), header)
    stamp = now.timestamp()
    if "nbf" in claims and stamp < claims["nbf"]:
        return _fail(
            JoseFailure.NOT_YET_VALID, f"nbf {claims['nbf']} is after {int(stamp)}", header
        )
    if "exp" in claims and stamp >= claims["exp"]:
        return _fail(JoseFailure.EXPIRED, f"exp {claims['exp']} is not after {int(stamp)}", header)
    return signed


def verify_vc_jwt(
    token: str, *, resolve_key: KeyResolver, now: datetime | None = None
) -> JoseResult:
    """Verify a vc+jwt: signature, media type, forbidden claims, issuer match and validity period.

    ``resolve_key`` maps the header's ``kid`` (or None) to the issuer's public key, or
    None when it knows no such key. ``now`` defaults to the current UTC time.
    """
    signed = _check_signature(token, resolve_key)
    if not signed.ok:
        return signed
    return _check_claims(
        signed,
        typ=_VC_TYP,
        cty=_VC_CTY,
        required_type="VerifiableCredential",
        issuer_property="issuer",
        now=now or datetime.now(UTC),
    )


def _verify_envelope(
    entry: object, position: int, resolve_key: KeyResolver, now: datetime
) -> JoseResult:
    where = f"verifiableCredential[{position}]"
    if not isinstance(entry, Mapping) or "EnvelopedVerifiableCredential" not in _types(entry):
        return _fail(JoseFailure.BAD_CREDENTIAL, f"{where} is not an EnvelopedVerifiableCredential")
    data_url = entry.get("id")
    if not isinstance(data_url, str) or not data_url.startswith("data:") or "," not in data_url:
        return _fail(
            JoseFailure.BAD_CREDENTIAL, f"{where} id is not a data: URL: {str(data_url)[:60]!r}"
        )
    media, _, body = data_url[len("data:") :].partition(",")
    if media != VC_MEDIA_TYPE:
        return _fail(
            JoseFailure.UNSUPPORTED_ENVELOPE,
            f"{where} is {media!r}; only {VC_MEDIA_TYPE} is supported"
            " (SD-JWT and COSE envelopes are out of scope)",
        )
    inner = verify_vc_jwt(body, resolve_key=resolve_key, now=now)
    if inner.ok:
        return inner
    return JoseResult(
        ok=False, failure=inner.failure, detail=f"{where}: {inner.detail}", header=inner.header
    )


def verify_vp_jwt(
    token: str, *, resolve_key: KeyResolver, now: datetime | None = None
) -> JoseResult:
    """Verify a vp+jwt and every credential it envelops; any failing credential fails the whole.

    One resolver serves the holder's key and the issuers' keys, told apart by ``kid``.
    """
    moment = now or datetime.now(UTC)
    signed = _check_signature(token, resolve_key)
    if not signed.ok:
        return signed
    checked = _check_claims(
        signed,
        typ=_VP_TYP,
        cty=_VP_CTY,
        required_type="VerifiablePresentation",
        issuer_property=None,
        now=moment,
    )
    if not checked.ok:
        return checked
    claims = checked.claims or {}
    entries = claims.get("verifiableCredential", [])
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        return _fail(
            JoseFailure.BAD_CREDENTIAL,
            "verifiableCredential is neither an object nor a list",
            checked.header,
        )
    results = tuple(
        _verify_envelope(entry, i, resolve_key, moment) for i, entry in enumerate(entries)
    )
    failed = [r for r in results if not r.ok]
    if failed:
        return JoseResult(
            ok=False,
            failure=JoseFailure.BAD_CREDENTIAL,
            detail="; ".join(r.detail for r in failed),
            header=checked.header,
            credentials=results,
        )
    return JoseResult(ok=True, claims=claims, header=checked.header, credentials=results)
