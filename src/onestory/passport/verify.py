"""Checking a passport credential for anyone: one call, one plain answer, and what was checked.

``verify`` takes whatever a person has been handed -- a credential with a Data Integrity proof
(either EdDSA cryptosuite), a presentation of several, or a ``vc+jwt`` / ``vp+jwt`` -- and answers
with a ``Verdict``: one outcome, a headline a non-specialist can act on, the checks in order, and
what each credential says.

The outcome keeps two failures apart that matter differently to an employer: a proof whose key
the verifier's ``Trust`` does not hold is ``unknown_issuer`` (perhaps genuine, but from no one
OneStory recognises); a key it does hold whose signature fails is ``tampered`` (someone changed
it). Revocation is believed only from a status list whose own proof verifies under the same
issuer. When the list cannot be had, or its proof fails, the outcome is ``unchecked``, never
``valid``: a credential that says it can be revoked is not reported genuine without looking.

For a presentation the outcome is the worst of its credentials' (see ``SEVERITY``); an empty
presentation is ``malformed``. A presentation's own proof, when it has one, shows the holder
controls a key; it says nothing about the credentials, which are each checked on their own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from onestory.config import Settings
from onestory.ledger.entries import canonical_json
from onestory.passport import dataintegrity, jose
from onestory.passport.credentials import STATUS_PATH, status_list_document
from onestory.passport.issuer import Issuer, IssuerError, Trust, UnknownIssuer
from onestory.passport.multibase import DID_KEY_PREFIX, MultibaseError, resolve_did_key
from onestory.passport.statuslist import StatusListError, check_status

Outcome = Literal[
    "valid",
    "unchecked",
    "not_yet_valid",
    "expired",
    "revoked",
    "malformed",
    "unknown_issuer",
    "tampered",
]
# Worst last: a presentation answers with its worst credential's outcome.
SEVERITY: Final[tuple[Outcome, ...]] = (
    "valid",
    "unchecked",
    "not_yet_valid",
    "expired",
    "revoked",
    "malformed",
    "unknown_issuer",
    "tampered",
)
HEADLINES: Final[dict[Outcome, str]] = {
    "valid": "This qualification is genuine and has not been revoked",
    "unchecked": "OneStory could not check whether this qualification has been revoked",
    "not_yet_valid": "This qualification is not valid yet",
    "expired": "This qualification has expired",
    "revoked": "This qualification has been revoked by its issuer",
    "malformed": "This is not a credential OneStory can read",
    "unknown_issuer": "This was not issued by an organisation OneStory recognises",
    "tampered": "This has been changed since it was issued",
}
PRESENTATION_HEADLINES: Final[dict[Outcome, str]] = {
    "valid": "These qualifications are genuine and none has been revoked",
    "unchecked": "OneStory could not check whether some of these qualifications have been revoked",
    "not_yet_valid": "Some of these qualifications are not valid yet",
    "expired": "Some of these qualifications have expired",
    "revoked": "Some of these qualifications have been revoked by their issuer",
    "malformed": "Some of this is not a credential OneStory can read",
    "unknown_issuer": "Some of these were not issued by an organisation OneStory recognises",
    "tampered": "Some of these have been changed since they were issued",
}

FORMAT = "Format recognised"
ISSUER = "Issuer recognised"
SIGNATURE = "Signature matches"
VALIDITY = "Validity period"
STATUS = "Not revoked"
PRESENTATION_PROOF = "Presentation signed"
# What a presentation's own signature does and does not show.
_SENDER_ONLY = (
    "; this shows who sent the presentation, not that they are the person the credentials "
    "name: compare the name in them with the person in front of you"
)

JOSE_OUTCOMES: Final[dict[jose.JoseFailure, Outcome]] = {
    jose.JoseFailure.UNKNOWN_KEY: "unknown_issuer",
    jose.JoseFailure.BAD_SIGNATURE: "tampered",
    jose.JoseFailure.WRONG_KEY: "tampered",
    jose.JoseFailure.EXPIRED: "expired",
    jose.JoseFailure.NOT_YET_VALID: "not_yet_valid",
}
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class InputError(ValueError):
    """What was given is not a credential, presentation or JWT; the message says why."""


# --- what the answer looks like -----------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check made: its name, whether it passed, and what was found."""

    name: str
    passed: bool
    detail: str


@dataclass
class CredentialSummary:
    """One credential's outcome, its checks, and what it says (as claimed, whatever the outcome)."""

    outcome: Outcome
    headline: str
    checks: list[CheckResult]
    securing: str = ""
    credential_id: str | None = None
    holder_name: str | None = None
    achievement: str | None = None
    level: str | None = None
    awarding_body: str | None = None
    provider: str | None = None
    awarded_on: str | None = None
    valid_until: str | None = None
    issuer_name: str | None = None
    issuer_did: str | None = None


@dataclass
class Verdict:
    """The answer to "is this genuine?" for a credential or a whole presentation."""

    outcome: Outcome
    headline: str
    checks: list[CheckResult]
    credentials: list[CredentialSummary] = field(default_factory=list)
    kind: Literal["credential", "presentation", "unknown"] = "unknown"

    @property
    def valid(self) -> bool:
        return self.outcome == "valid"

    def as_json(self) -> dict[str, Any]:
        """The verdict as plain JSON (what the API answers and ``--json`` prints)."""
        return asdict(self)


def worst(outcomes: Sequence[Outcome]) -> Outcome:
    """The most serious of ``outcomes`` (``SEVERITY`` order)."""
    return max(outcomes, key=SEVERITY.index)


# --- where status lists come from -------------------------------------------------------------


class StatusSource(Protocol):
    """Finds a status list credential by its URL; None when it cannot be had."""

    def get(self, url: str) -> Mapping[str, Any] | None: ...


@dataclass
class NoStatusLists:
    """A source with no lists: every status check reports it could not check."""

    def get(self, url: str) -> Mapping[str, Any] | None:
        return None


@dataclass
class FileStatusLists:
    """Status list credentials given as files (offline checks), matched by their ``id``."""

    documents: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_files(cls, paths: Sequence[Path]) -> FileStatusLists:
        """Read each file as a status list credential; a file without an ``id`` is refused."""
        documents: dict[str, Mapping[str, Any]] = {}
        for path in paths:
            try:
                document = json.loads(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise InputError(f"status list {path}: cannot read it as JSON ({exc})") from exc
            if not isinstance(document, dict) or not isinstance(document.get("id"), str):
                raise InputError(f"status list {path}: not a credential with an 'id'")
            documents[document["id"]] = document
        return cls(documents)

    def get(self, url: str) -> Mapping[str, Any] | None:
        return self.documents.get(url)


@dataclass
class DatabaseStatusLists:
    """This instance's own lists, read from its database (only URLs under its base URL)."""

    session: Session
    issuer: Issuer
    base_url: str

    def list_number(self, url: str) -> int | None:
        """The list number a URL names, if it is one of this instance's status list URLs."""
        prefix = self.base_url.rstrip("/") + STATUS_PATH.format("")
        number = url.removeprefix(prefix)
        if number == url or not number.isdecimal() or not number.isascii():
            return None
        return int(number)

    def get(self, url: str) -> Mapping[str, Any] | None:
        number = self.list_number(url)
        if number is None:
            return None
        return status_list_document(self.session, self.issuer, number, base_url=self.base_url)


@dataclass
class ChainedStatusLists:
    """Ask each source in turn (files given on the command line first, then the database)."""

    sources: Sequence[StatusSource]

    def get(self, url: str) -> Mapping[str, Any] | None:
        for source in self.sources:
            found = source.get(url)
            if found is not None:
                return found
        return None


def json_ld_shape_problem(document: Mapping[str, Any]) -> str | None:
    """Why an eddsa-rdfc-2022 document cannot be read as its JSON says, or None.

    Its proof signs the RDF the JSON-LD stands for, not the JSON: a property written as a full
    IRI (``"https://www.w3.org/2018/credentials#validUntil"``), as a keyword form (``"@value"``),
    or through a context of the sender's own makes the same RDF under a key this verifier does
    not read, so a revocation entry or an end date could be hidden from it without breaking the
    signature. So every property must be a term of the published contexts (named by URL, never
    written inline) and no keyword but ``@context`` may appear.
    """
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    if not all(isinstance(entry, str) for entry in entries):
        return "the @context holds a context written inline; only published contexts are accepted"

    def walk(node: object, where: str) -> str | None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                problem = walk(item, f"{where}[{i}]")
                if problem:
                    return problem
        elif isinstance(node, Mapping):
            for key, value in node.items():
                if not isinstance(key, str):
                    return f"{where} has a property name that is not text"
                if key == "@context" and where == "":
                    continue
                if key.startswith("@") or ":" in key:
                    return (
                        f"{where or 'the document'} uses {key!r} where a property of the "
                        "credential's contexts belongs: refused, because the proof would not "
                        "cover what this verifier reads"
                    )
                problem = walk(value, f"{where}.{key}" if where else key)
                if problem:
                    return problem
        return None

    return walk(document, "")


# Status lists whose proof verified, by the SHA-256 of their canonical JSON and the key that
# verified them: the same bytes under the same key verify the same way every time, and every
# check of a credential would otherwise canonicalise its issuer's list again (bench_passport).
_VERIFIED_LISTS: LRUCache[tuple[str, str, bytes], dataintegrity.VerifyResult] = LRUCache(64)
_VERIFIED_LISTS_LOCK = threading.Lock()


def _verify_list_proof(status_list: Mapping[str, Any], trust: Trust) -> dataintegrity.VerifyResult:
    """``dataintegrity.verify`` of a status list credential, remembered when it passes."""
    problem = json_ld_shape_problem(status_list)
    if problem is not None:
        return dataintegrity.VerifyResult(
            ok=False, passed=(), failed=dataintegrity.Check.PROOF, reason=problem
        )
    proof = status_list.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    try:
        key = trust.resolve(method if isinstance(method, str) else None)
        digest = hashlib.sha256(canonical_json(dict(status_list))).hexdigest()
    except (UnknownIssuer, ValueError, TypeError):
        return dataintegrity.verify(status_list, resolve_key=trust.resolve)
    cache_key = (digest, str(method), key.public_bytes_raw())
    with _VERIFIED_LISTS_LOCK:
        known = _VERIFIED_LISTS.get(cache_key)
    if known is not None:
        return known
    result = dataintegrity.verify(status_list, resolve_key=trust.resolve)
    if result.ok:
        with _VERIFIED_LISTS_LOCK:
            _VERIFIED_LISTS[cache_key] = result
    return result


@dataclass
class _CachedStatusLists:
    """One fetch per list per verify call: a presentation's credentials often share a list."""

    source: StatusSource
    fetched: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    verified: dict[str, str | None] = field(default_factory=dict)

    def get(self, url: str) -> Mapping[str, Any] | None:
        if url not in self.fetched:
            self.fetched[url] = self.source.get(url)
        return self.fetched[url]


# --- trust ------------------------------------------------------------------------------------


def trust_from_settings(issuer: Issuer | None, settings: Settings) -> Trust:
    """This instance's issuer plus ``passport_trusted_issuers`` (did:key strings or DID files)."""
    trust = Trust.of([issuer] if issuer is not None else [])
    extend_trust(trust, settings.passport_trusted_issuers)
    return trust


def extend_trust(trust: Trust, entries: Sequence[str]) -> None:
    """Add did:key identifiers and DID documents (by file path) to ``trust``."""
    for entry in entries:
        if entry.startswith(DID_KEY_PREFIX):
            trust.add_did_key(entry)
            continue
        path = Path(entry)
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise IssuerError(
                f"trusted issuer {entry!r} is neither a did:key nor a readable DID document "
                f"JSON file ({exc})"
            ) from exc
        if not isinstance(document, dict):
            raise IssuerError(f"trusted issuer file {path} does not hold a DID document object")
        trust.add_document(document)


# --- reading the input ------------------------------------------------------------------------


def read_input(given: str | bytes | Mapping[str, Any]) -> Mapping[str, Any] | str:
    """A JSON object or a compact JWT from what was given; ``InputError`` says why not."""
    if isinstance(given, Mapping):
        return given
    if isinstance(given, bytes):
        try:
            given = given.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"it is not UTF-8 text (byte {exc.start} cannot be read)") from exc
    text = given.lstrip("\ufeff").strip()
    if not text:
        raise InputError("it is empty")
    if text.startswith(("{", "[")):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError(f"the JSON cannot be read ({exc})") from exc
        if not isinstance(value, dict):
            raise InputError("the JSON is not an object")
        return value
    if _JWT.fullmatch(text):
        return text
    raise InputError("it is neither JSON nor a compact JWT (three parts separated by dots)")


def _jwt_part(token: str, index: int) -> dict[str, Any] | None:
    """A JWT's header (0) or payload (1), decoded without checking anything."""
    try:
        part = token.split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _types(document: Mapping[str, Any]) -> set[str]:
    value = document.get("type", [])
    values = [value] if isinstance(value, str) else value
    return {v for v in values if isinstance(v, str)} if isinstance(values, list) else set()


# --- verifying ----------------------------------------------------------------------------------


def verify(
    given: str | bytes | Mapping[str, Any],
    *,
    trust: Trust,
    status_lists: StatusSource,
    now: datetime | None = None,
) -> Verdict:
    """Check a credential, presentation or JWT; see the module docstring for the outcomes."""
    verifier = _Verifier(trust, _CachedStatusLists(status_lists), now or datetime.now(UTC))
    try:
        document = read_input(given)
    except InputError as exc:
        return _unreadable(f"That is not a credential, presentation or JWT: {exc}")
    if isinstance(document, str):
        header = _jwt_part(document, 0) or {}
        payload = _jwt_part(document, 1) or {}
        if header.get("typ") in ("vp+jwt", jose.VP_MEDIA_TYPE) or (
            "VerifiablePresentation" in _types(payload)
        ):
            return verifier.vp_jwt(document)
        return verifier.single(verifier.vc_jwt(document))
    types = _types(document)
    if "VerifiablePresentation" in types:
        return verifier.presentation(document)
    if "VerifiableCredential" in types or "EnvelopedVerifiableCredential" in types:
        return verifier.single(verifier.entry(document))
    return _unreadable(
        "That is not a credential, presentation or JWT: its type names neither "
        "VerifiableCredential nor VerifiablePresentation"
    )


def _unreadable(reason: str) -> Verdict:
    return Verdict("malformed", HEADLINES["malformed"], [CheckResult(FORMAT, False, reason)])


@dataclass
class _Verifier:
    trust: Trust
    status_lists: _CachedStatusLists
    now: datetime

    # -- one credential, each way it may be secured --

    def single(self, summary: CredentialSummary) -> Verdict:
        return Verdict(
            summary.outcome, summary.headline, list(summary.checks), [summary], "credential"
        )

    def entry(self, document: Mapping[str, Any]) -> CredentialSummary:
        """A credential as found in a presentation: Data Integrity, or an enveloped vc+jwt."""
        if "EnvelopedVerifiableCredential" in _types(document):
            data_url = document.get("id")
            media, _, body = str(data_url or "").removeprefix("data:").partition(",")
            if not str(data_url).startswith("data:") or media != jose.VC_MEDIA_TYPE:
                return _summary(
                    "malformed",
                    [
                        CheckResult(
                            FORMAT,
                            False,
                            f"an enveloped credential that is not a "
                            f"{jose.VC_MEDIA_TYPE} data: URL ({str(data_url)[:40]!r})",
                        )
                    ],
                )
            return self.vc_jwt(body)
        if "VerifiableCredential" not in _types(document):
            return _summary(
                "malformed",
                [CheckResult(FORMAT, False, "an entry whose type is not VerifiableCredential")],
            )
        return self.data_integrity(document)

    def data_integrity(self, document: Mapping[str, Any]) -> CredentialSummary:
        proof = document.get("proof")
        if proof is None:
            return _summary(
                "malformed",
                [
                    CheckResult(
                        FORMAT,
                        False,
                        "the credential has no proof, so anyone could have written it",
                    )
                ],
                document,
            )
        suite = proof.get("cryptosuite") if isinstance(proof, Mapping) else None
        securing = f"Data Integrity proof ({suite})" if isinstance(suite, str) else "Data Integrity"
        checks = [CheckResult(FORMAT, True, f"Verifiable credential with a {securing}")]
        if suite == dataintegrity.RDFC:
            problem = json_ld_shape_problem(document)
            if problem is not None:
                return _summary(
                    "malformed", [CheckResult(FORMAT, False, problem)], document, securing
                )
        result = dataintegrity.verify(document, resolve_key=self.trust.resolve)
        method = result.verification_method or ""
        if not result.ok:
            outcome = self._proof_failure(result)
            if outcome == "unknown_issuer":
                checks.append(CheckResult(ISSUER, False, result.reason))
            elif outcome == "tampered":
                checks.append(CheckResult(ISSUER, True, f"signed with {method}"))
                checks.append(CheckResult(SIGNATURE, False, f"{suite}: {result.reason}"))
            else:
                checks[0] = CheckResult(FORMAT, False, result.reason)
            return _summary(outcome, checks, document, securing)
        checks.append(CheckResult(ISSUER, True, f"signed with {method}"))
        checks.append(
            CheckResult(SIGNATURE, True, f"the {suite} proof matches the credential as shown")
        )
        return self._claims(document, checks, method, securing)

    def _proof_failure(
        self,
        result: dataintegrity.VerifyResult,
        resolve: Callable[[str], Ed25519PublicKey] | None = None,
    ) -> Outcome:
        """Tampered when the key is one we trust; unknown issuer when it is not; else malformed."""
        failed = result.failed
        if failed == dataintegrity.Check.VERIFICATION_METHOD:
            return "unknown_issuer"
        if failed in (
            dataintegrity.Check.SIGNATURE,
            dataintegrity.Check.CANONICALISATION,
            dataintegrity.Check.CONTEXT,
        ):
            try:
                (resolve or self.trust.resolve)(result.verification_method or "")
            except UnknownIssuer:
                return "unknown_issuer"
            return "tampered"
        return "malformed"

    def vc_jwt(self, token: str) -> CredentialSummary:
        securing = "JOSE (vc+jwt, EdDSA)"
        checks = [CheckResult(FORMAT, True, f"Verifiable credential secured with {securing}")]
        claims = _jwt_part(token, 1)
        result = jose.verify_vc_jwt(token, resolve_key=self.trust.jose_resolver, now=self.now)
        method = str(result.header.get("kid") or "")
        if result.ok:
            checks.append(CheckResult(ISSUER, True, f"signed with {method}"))
            checks.append(CheckResult(SIGNATURE, True, "the JOSE signature (JWS) matches"))
            return self._claims(result.claims or {}, checks, method, securing)
        failure = result.failure or jose.JoseFailure.MALFORMED
        outcome = JOSE_OUTCOMES.get(failure, "malformed")
        if outcome == "unknown_issuer":
            checks.append(CheckResult(ISSUER, False, result.detail))
        elif outcome == "tampered":
            checks.append(CheckResult(ISSUER, True, f"signed with {method}"))
            checks.append(CheckResult(SIGNATURE, False, f"JOSE: {result.detail}"))
        elif outcome in ("expired", "not_yet_valid") and claims is not None:
            # The signature was checked before the dates, so the claims are the issuer's.
            checks.append(CheckResult(ISSUER, True, f"signed with {method}"))
            checks.append(CheckResult(SIGNATURE, True, "the JOSE signature (JWS) matches"))
            return self._claims(claims, checks, method, securing)
        else:
            checks[0] = CheckResult(FORMAT, False, f"JOSE: {result.detail}")
        return _summary(outcome, checks, claims, securing)

    def _claims(
        self,
        document: Mapping[str, Any],
        checks: list[CheckResult],
        method: str,
        securing: str,
    ) -> CredentialSummary:
        """After the proof: who claims to issue it, its dates, its status."""
        outcomes: list[Outcome] = ["valid"]
        issuer_did = _issuer_id(document)
        signer = method.partition("#")[0]
        if issuer_did != signer:
            checks[1] = CheckResult(
                ISSUER,
                False,
                f"signed by {signer} but says it was issued by {issuer_did}",
            )
            return _summary("unknown_issuer", checks, document, securing)
        validity, outcome = self._validity(document)
        checks.append(validity)
        outcomes.append(outcome)
        status, outcome = self._status(document, issuer_did)
        checks.append(status)
        outcomes.append(outcome)
        return _summary(worst(outcomes), checks, document, securing)

    def _validity(self, document: Mapping[str, Any]) -> tuple[CheckResult, Outcome]:
        try:
            start = _moment(document.get("validFrom"), "validFrom")
            end = _moment(document.get("validUntil"), "validUntil")
        except ValueError as exc:
            return CheckResult(VALIDITY, False, str(exc)), "malformed"
        when = _show(self.now)
        if start is not None and self.now < start:
            return CheckResult(VALIDITY, False, f"valid from {_show(start)}, not yet"), (
                "not_yet_valid"
            )
        if end is not None and self.now > end:
            return CheckResult(VALIDITY, False, f"expired on {_show(end)}"), "expired"
        span = f"valid from {_show(start)}" if start else "no start date"
        span += f" until {_show(end)}" if end else ", with no end date"
        return CheckResult(VALIDITY, True, f"{span}; checked at {when}"), "valid"

    def _status(
        self, document: Mapping[str, Any], issuer_did: str | None
    ) -> tuple[CheckResult, Outcome]:
        entries = document.get("credentialStatus")
        if entries is None:
            return CheckResult(STATUS, True, "the credential has no revocation entry"), "valid"
        entries_list = entries if isinstance(entries, list) else [entries]
        if not entries_list:
            return CheckResult(STATUS, False, "credentialStatus is an empty list"), "malformed"
        found: list[tuple[CheckResult, Outcome]] = []
        for entry in entries_list:
            if not isinstance(entry, Mapping):
                found.append(
                    (CheckResult(STATUS, False, "credentialStatus is not an object"), "malformed")
                )
                continue
            found.append(self._one_status(entry, issuer_did))
        outcome = worst([o for _, o in found])
        return next(c for c, o in found if o == outcome), outcome

    def _one_status(
        self, entry: Mapping[str, Any], issuer_did: str | None
    ) -> tuple[CheckResult, Outcome]:
        url = entry.get("statusListCredential")
        if not isinstance(url, str):
            return CheckResult(STATUS, False, "the status entry names no status list"), "malformed"
        problem = self._status_list_problem(url, issuer_did)
        if problem is not None:
            return CheckResult(STATUS, False, f"could not check revocation: {problem}"), "unchecked"
        status_list = self.status_lists.get(url)
        assert status_list is not None  # _status_list_problem found it
        try:
            set_bit = check_status(entry, status_list)
        except StatusListError as exc:
            return CheckResult(STATUS, False, f"could not check revocation: {exc}"), "unchecked"
        where = f"bit {entry.get('statusListIndex')} of {url}"
        if set_bit:
            purpose = entry.get("statusPurpose")
            word = "suspended" if purpose == "suspension" else "revoked"
            return CheckResult(STATUS, False, f"{word}: {where} is set"), "revoked"
        issued = status_list.get("validFrom")
        when = f" (the list as published {issued})" if isinstance(issued, str) else ""
        return CheckResult(
            STATUS, True, f"status list fetched, its proof verified; {where} is not set{when}"
        ), "valid"

    def _status_list_problem(self, url: str, issuer_did: str | None) -> str | None:
        """Why the list at ``url`` cannot be believed, or None (cached per list)."""
        cache = self.status_lists.verified
        if url in cache:
            return cache[url]
        status_list = self.status_lists.get(url)
        problem: str | None = None
        if status_list is None:
            problem = f"the status list {url} could not be fetched"
        else:
            result = _verify_list_proof(status_list, self.trust)
            if not result.ok:
                problem = f"the status list's own proof does not verify ({result.reason})"
            elif _issuer_id(status_list) != issuer_did or (
                (result.verification_method or "").partition("#")[0] != issuer_did
            ):
                problem = f"the status list {url} was not signed by the credential's issuer"
        cache[url] = problem
        return problem

    # -- presentations --

    def presentation(self, document: Mapping[str, Any]) -> Verdict:
        checks: list[CheckResult] = []
        if "proof" in document:
            result = dataintegrity.verify(
                document,
                resolve_key=self._holder_key,
                expected_proof_purpose=_proof_purpose(document),
            )
            if not result.ok:
                outcome = self._proof_failure(result, self._holder_key)
                checks.append(CheckResult(PRESENTATION_PROOF, False, result.reason))
                return Verdict(outcome, PRESENTATION_HEADLINES[outcome], checks, [], "presentation")
            checks.append(
                CheckResult(
                    PRESENTATION_PROOF,
                    True,
                    f"signed with {result.verification_method}{_SENDER_ONLY}",
                )
            )
        entries = document.get("verifiableCredential", [])
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            return _unreadable("verifiableCredential is neither an object nor a list")
        summaries = [
            self.entry(e)
            if isinstance(e, Mapping)
            else _summary(
                "malformed", [CheckResult(FORMAT, False, "an entry that is not an object")]
            )
            for e in entries
        ]
        return self._gather(checks, summaries)

    def vp_jwt(self, token: str) -> Verdict:
        result = jose.verify_vp_jwt(token, resolve_key=self._holder_jose_key, now=self.now)
        outer_ok = result.ok or result.failure == jose.JoseFailure.BAD_CREDENTIAL
        claims = _jwt_part(token, 1)
        if not outer_ok or claims is None:
            failure = result.failure or jose.JoseFailure.MALFORMED
            outcome = JOSE_OUTCOMES.get(failure, "malformed")
            check = CheckResult(PRESENTATION_PROOF, False, f"JOSE: {result.detail}")
            return Verdict(outcome, PRESENTATION_HEADLINES[outcome], [check], [], "presentation")
        checks = [
            CheckResult(
                PRESENTATION_PROOF,
                True,
                f"vp+jwt signed with {result.header.get('kid')}{_SENDER_ONLY}",
            )
        ]
        entries = claims.get("verifiableCredential", [])
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            return _unreadable("verifiableCredential is neither an object nor a list")
        return self._gather(
            checks,
            [
                self.entry(e)
                if isinstance(e, Mapping)
                else _summary(
                    "malformed", [CheckResult(FORMAT, False, "an entry that is not an object")]
                )
                for e in entries
            ],
        )

    def _gather(self, checks: list[CheckResult], summaries: list[CredentialSummary]) -> Verdict:
        count = len(summaries)
        if not summaries:
            checks.insert(0, CheckResult(FORMAT, False, "a presentation with no credentials"))
            return Verdict(
                "malformed", "This presentation holds no credentials", checks, [], "presentation"
            )
        checks.insert(
            0,
            CheckResult(
                FORMAT,
                True,
                f"Verifiable presentation of {count} credential{'s' if count != 1 else ''}",
            ),
        )
        for n, summary in enumerate(summaries, 1):
            name = summary.achievement or "a credential"
            checks.append(
                CheckResult(
                    f"Credential {n} of {count}: {name}",
                    summary.outcome == "valid",
                    summary.headline,
                )
            )
        outcome = worst([s.outcome for s in summaries])
        headline = PRESENTATION_HEADLINES[outcome]
        if outcome != "valid":
            which = [
                s.achievement or f"credential {n}"
                for n, s in enumerate(summaries, 1)
                if s.outcome == outcome
            ]
            headline = f"{headline}: {', '.join(which)}"
        return Verdict(outcome, headline, checks, summaries, "presentation")

    def _holder_key(self, method: str) -> Ed25519PublicKey:
        """A holder's key: any did:key (it proves control of that key only), or a trusted one."""
        if method.startswith(DID_KEY_PREFIX):
            try:
                return resolve_did_key(method)
            except MultibaseError as exc:
                raise UnknownIssuer(str(exc)) from exc
        return self.trust.resolve(method)

    def _holder_jose_key(self, kid: str | None) -> Ed25519PublicKey | None:
        try:
            return self._holder_key(kid or "")
        except UnknownIssuer:
            return None


def _proof_purpose(document: Mapping[str, Any]) -> str:
    proof = document.get("proof")
    purpose = proof.get("proofPurpose") if isinstance(proof, Mapping) else None
    return purpose if purpose in ("authentication", "assertionMethod") else "authentication"


def _moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a date and time: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a date and time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _show(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%-d %B %Y %H:%M UTC") if moment else ""


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _summary(
    outcome: Outcome,
    checks: list[CheckResult],
    document: Mapping[str, Any] | None = None,
    securing: str = "",
) -> CredentialSummary:
    """A credential's summary: its outcome and checks, and what the document claims."""
    summary = CredentialSummary(outcome, HEADLINES[outcome], checks, securing)
    if not isinstance(document, Mapping):
        return summary
    summary.credential_id = _text(document.get("id"))
    issuer = document.get("issuer")
    summary.issuer_did = _issuer_id(document)
    summary.issuer_name = _text(issuer.get("name")) if isinstance(issuer, Mapping) else None
    summary.valid_until = _text(document.get("validUntil"))
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and subject:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        return summary
    identifiers = subject.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, Mapping) and identifier.get("hashed") is False:
            summary.holder_name = _text(identifier.get("identityHash"))
            break
    summary.holder_name = summary.holder_name or _text(subject.get("name"))
    achievement = subject.get("achievement")
    if isinstance(achievement, Mapping):
        summary.achievement = _text(achievement.get("name"))
        creator = achievement.get("creator")
        if isinstance(creator, Mapping):
            summary.awarding_body = _text(creator.get("name"))
        alignment = achievement.get("alignment")
        if isinstance(alignment, list) and alignment and isinstance(alignment[0], Mapping):
            summary.level = _text(alignment[0].get("targetName"))
    source = subject.get("source")
    if isinstance(source, Mapping):
        summary.provider = _text(source.get("name"))
    awarded = _text(subject.get("activityEndDate")) or _text(document.get("validFrom"))
    summary.awarded_on = awarded[:10] if awarded else None
    return summary
