"""``passport.verify``: the plain answer for each way a credential can be good or bad, in each of
the three securing forms, on SQLite and PostgreSQL (the status lists come from the database)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from passport_helpers import Learner
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.config import Settings
from onestory.exchange.tables import AgencyRecord
from onestory.passport import credentials, dataintegrity, jose, shares
from onestory.passport.issuer import Issuer, IssuerError, Trust
from onestory.passport.tables import PassportCredential
from onestory.passport.verify import (
    DatabaseStatusLists,
    FileStatusLists,
    NoStatusLists,
    StatusSource,
    Verdict,
    trust_from_settings,
    verify,
)

BASE = "https://passport.example.test"
FORMS = ("rdfc", "jcs", "jwt")
MATHS = "Functional Skills Qualification in Mathematics at Level 1"


def _issued(session: Session, issuer: Issuer) -> list[PassportCredential]:
    credentials.issue_pending(session, issuer, actor="test", base_url=BASE)
    return list(
        session.scalars(select(PassportCredential).order_by(PassportCredential.achievement))
    )


def _form(credential: PassportCredential, form: str) -> dict[str, Any] | str:
    return {"rdfc": credential.rdfc, "jcs": credential.jcs, "jwt": credential.jwt}[form]


def _lists(session: Session, issuer: Issuer) -> StatusSource:
    return DatabaseStatusLists(session, issuer, BASE)


def _check(verdict: Verdict, name: str) -> tuple[bool, str]:
    found = [(c.passed, c.detail) for c in verdict.checks if c.name == name]
    assert found, f"no check named {name!r} in {verdict.checks}"
    return found[0]


def _jwt_with_claims(token: str, change: dict[str, Any]) -> str:
    """The same JWT with its payload changed and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(change)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def _rename(form: Any, name: str) -> Any:
    if isinstance(form, str):
        claims = json.loads(
            base64.urlsafe_b64decode(form.split(".")[1] + "=" * (-len(form.split(".")[1]) % 4))
        )
        subject = claims["credentialSubject"]
        subject["achievement"]["name"] = name
        return _jwt_with_claims(form, {"credentialSubject": subject})
    changed = copy.deepcopy(form)
    changed["credentialSubject"]["achievement"]["name"] = name
    return changed


@pytest.mark.parametrize("form", FORMS)
def test_a_credential_as_issued_is_valid_and_says_what_it_is(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, form: str
) -> None:
    credential = _issued(session, passport_issuer)[0]
    verdict = verify(
        _form(credential, form),
        trust=Trust.of([passport_issuer]),
        status_lists=_lists(session, passport_issuer),
    )
    assert verdict.outcome == "valid", verdict.checks
    assert verdict.headline == "This qualification is genuine and has not been revoked"
    assert [c.name for c in verdict.checks] == [
        "Format recognised",
        "Issuer recognised",
        "Signature matches",
        "Validity period",
        "Not revoked",
    ]
    assert all(c.passed for c in verdict.checks)
    suite = {"rdfc": "eddsa-rdfc-2022", "jcs": "eddsa-jcs-2022", "jwt": "JOSE"}[form]
    assert suite in _check(verdict, "Signature matches")[1] + verdict.checks[0].detail
    assert "its proof verified" in _check(verdict, "Not revoked")[1]
    (summary,) = verdict.credentials
    assert summary.holder_name == "Jordan Reece"
    assert summary.achievement == MATHS
    assert summary.level == "RQF Level 1"
    assert summary.awarding_body == "Pearson"
    assert summary.provider == "Novus"
    assert summary.awarded_on == "2026-04-02"
    assert summary.issuer_did == passport_issuer.did
    assert summary.credential_id == f"urn:uuid:{credential.id}"


@pytest.mark.parametrize("form", FORMS)
def test_a_changed_achievement_name_is_reported_as_tampered(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, form: str
) -> None:
    credential = _issued(session, passport_issuer)[0]
    forged = _rename(_form(credential, form), "Level 3 Diploma in Electrical Installation")
    verdict = verify(
        forged, trust=Trust.of([passport_issuer]), status_lists=_lists(session, passport_issuer)
    )
    assert verdict.outcome == "tampered"
    assert verdict.headline == "This has been changed since it was issued"
    passed, detail = _check(verdict, "Signature matches")
    assert not passed
    assert ("JOSE" if form == "jwt" else "signature does not match") in detail
    assert _check(verdict, "Issuer recognised")[0]
    # What it claims is still shown, so a person can see what was changed.
    assert verdict.credentials[0].achievement == "Level 3 Diploma in Electrical Installation"


@pytest.mark.parametrize("form", FORMS)
def test_a_credential_from_another_key_is_not_from_a_recognised_issuer(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, form: str
) -> None:
    credential = _issued(session, passport_issuer)[0]
    stranger = Issuer.generate_did_key("Quick Certificates Ltd")
    document = {k: v for k, v in credential.rdfc.items() if k != "proof"}
    document["issuer"] = stranger.profile()
    secured = credentials.secure(document, stranger, created=datetime.now(UTC))
    given = {"rdfc": secured.rdfc, "jcs": secured.jcs, "jwt": secured.jwt}[form]
    verdict = verify(
        given, trust=Trust.of([passport_issuer]), status_lists=_lists(session, passport_issuer)
    )
    assert verdict.outcome == "unknown_issuer"
    assert verdict.headline == "This was not issued by an organisation OneStory recognises"
    passed, detail = _check(verdict, "Issuer recognised")
    assert not passed
    assert stranger.did in detail
    assert verdict.credentials[0].issuer_name == "Quick Certificates Ltd"


def test_a_trusted_key_claiming_another_issuer_is_not_recognised(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    credential = _issued(session, passport_issuer)[0]
    document = {k: v for k, v in credential.rdfc.items() if k != "proof"}
    document["issuer"] = {"id": "did:web:university.example", "type": ["Profile"], "name": "Uni"}
    signed = credentials.secure(document, passport_issuer, created=datetime.now(UTC)).rdfc
    verdict = verify(
        signed, trust=Trust.of([passport_issuer]), status_lists=_lists(session, passport_issuer)
    )
    assert verdict.outcome == "unknown_issuer"
    assert (
        "says it was issued by did:web:university.example"
        in _check(verdict, "Issuer recognised")[1]
    )


@pytest.mark.parametrize("form", FORMS)
def test_a_revoked_credential_is_reported_revoked(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, form: str
) -> None:
    credential = _issued(session, passport_issuer)[0]
    credentials.revoke(
        session, passport_issuer, credential, actor="test", reason="awarded in error", base_url=BASE
    )
    session.commit()
    verdict = verify(
        _form(credential, form),
        trust=Trust.of([passport_issuer]),
        status_lists=_lists(session, passport_issuer),
    )
    assert verdict.outcome == "revoked"
    assert verdict.headline == "This qualification has been revoked by its issuer"
    passed, detail = _check(verdict, "Not revoked")
    assert not passed
    assert f"bit {credential.status_index} of {BASE}/passport/status/" in detail
    assert _check(verdict, "Signature matches")[0]


@pytest.mark.parametrize("form", FORMS)
def test_a_credential_past_its_valid_until_is_expired(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, form: str
) -> None:
    issued_at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="test"
    )
    record = session.get(AgencyRecord, passport_learner.record_ids[0])
    assert record is not None
    credential = credentials.issue(
        session,
        passport_issuer,
        record,
        holder,
        actor="test",
        base_url=BASE,
        now=issued_at,
        valid_until=issued_at + timedelta(days=365),
    )
    session.commit()
    trust = Trust.of([passport_issuer])
    lists = _lists(session, passport_issuer)
    within = verify(
        _form(credential, form), trust=trust, status_lists=lists, now=issued_at + timedelta(days=1)
    )
    assert within.outcome == "valid", within.checks
    later = issued_at + timedelta(days=366)
    verdict = verify(_form(credential, form), trust=trust, status_lists=lists, now=later)
    assert verdict.outcome == "expired"
    assert verdict.headline == "This qualification has expired"
    passed, detail = _check(verdict, "Validity period")
    assert not passed
    assert "2027" in detail
    before = verify(
        _form(credential, form), trust=trust, status_lists=lists, now=issued_at - timedelta(days=1)
    )
    assert before.outcome == "not_yet_valid"


def test_a_presentation_of_two_valid_credentials_is_valid(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    issued = _issued(session, passport_issuer)
    verdict = verify(
        shares.presentation(issued),
        trust=Trust.of([passport_issuer]),
        status_lists=_lists(session, passport_issuer),
    )
    assert verdict.outcome == "valid"
    assert verdict.kind == "presentation"
    assert verdict.headline == "These qualifications are genuine and none has been revoked"
    assert [c.outcome for c in verdict.credentials] == ["valid", "valid"]
    assert verdict.checks[0].detail == "Verifiable presentation of 2 credentials"
    assert [c.name for c in verdict.checks[1:]] == [
        f"Credential 1 of 2: {issued[0].achievement}",
        f"Credential 2 of 2: {issued[1].achievement}",
    ]


def test_a_presentation_with_one_revoked_credential_says_which(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    issued = _issued(session, passport_issuer)
    credentials.revoke(
        session, passport_issuer, issued[1], actor="test", reason="wrong learner", base_url=BASE
    )
    session.commit()
    verdict = verify(
        shares.presentation(issued),
        trust=Trust.of([passport_issuer]),
        status_lists=_lists(session, passport_issuer),
    )
    assert verdict.outcome == "revoked"
    assert verdict.headline.endswith(f"revoked by their issuer: {issued[1].achievement}")
    assert [c.outcome for c in verdict.credentials] == ["valid", "revoked"]
    assert [c.passed for c in verdict.checks[1:]] == [True, False]


def test_a_vp_jwt_signed_by_the_holder_with_enveloped_credentials_is_checked_inside(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    issued = _issued(session, passport_issuer)
    holder = Issuer.generate_did_key("holder")
    token = jose.sign_vp_jwt(
        {"@context": [jose.CREDENTIALS_V2], "type": ["VerifiablePresentation"]},
        credentials=[c.jwt for c in issued],
        key=holder.key,
        kid=holder.verification_method,
    )
    trust = Trust.of([passport_issuer])
    lists = _lists(session, passport_issuer)
    verdict = verify(token, trust=trust, status_lists=lists)
    assert verdict.outcome == "valid", verdict.checks
    signed_ok, detail = _check(verdict, "Presentation signed")
    assert signed_ok and "not that they are the person the credentials name" in detail
    assert [c.achievement for c in verdict.credentials] == [c.achievement for c in issued]
    forged = _jwt_with_claims(issued[0].jwt, {"name": "Anything"})
    bad = jose.sign_vp_jwt(
        {"@context": [jose.CREDENTIALS_V2], "type": ["VerifiablePresentation"]},
        credentials=[forged, issued[1].jwt],
        key=holder.key,
        kid=holder.verification_method,
    )
    assert verify(bad, trust=trust, status_lists=lists).outcome == "tampered"
    # The same enveloped credentials in an unsigned JSON presentation.
    unsigned = {
        "@context": [jose.CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [jose.enveloped_credential(c.jwt) for c in issued],
    }
    assert verify(unsigned, trust=trust, status_lists=lists).outcome == "valid"


def test_a_presentation_with_a_data_integrity_proof_by_the_holder(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    issued = _issued(session, passport_issuer)
    holder = Issuer.generate_did_key("holder")
    signed = dataintegrity.sign(
        shares.presentation(issued),
        key=holder.key,
        verification_method=holder.verification_method,
        cryptosuite=dataintegrity.JCS,
        created="2026-11-30T10:00:00Z",
        proof_purpose="authentication",
    )
    trust = Trust.of([passport_issuer])
    lists = _lists(session, passport_issuer)
    verdict = verify(signed, trust=trust, status_lists=lists)
    assert verdict.outcome == "valid", verdict.checks
    assert _check(verdict, "Presentation signed")[0]
    signed["holder"] = "did:example:someone-else"
    changed = verify(signed, trust=trust, status_lists=lists)
    assert changed.outcome == "tampered"
    assert not _check(changed, "Presentation signed")[0]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "it is empty"),
        ("   \n", "it is empty"),
        ("hello, is this my certificate?", "neither JSON nor a compact JWT"),
        ("{not json", "the JSON cannot be read"),
        ("[1, 2]", "the JSON is not an object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ('{"type": "Invoice"}', "neither VerifiableCredential nor VerifiablePresentation"),
        ("aaa.bbb.ccc", "JOSE: not a JWS compact serialization"),
        (
            '{"type": ["VerifiableCredential"], "issuer": "did:example:1"}',
            "has no proof, so anyone could have written it",
        ),
        (
            '{"type": ["VerifiablePresentation"], "verifiableCredential": []}',
            "a presentation with no credentials",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "prose",
        "broken-json",
        "json-array",
        "not-utf8",
        "other-type",
        "not-a-jws",
        "no-proof",
        "empty-presentation",
    ],
)
def test_garbage_is_malformed_with_a_reason(given: str | bytes, reason: str) -> None:
    verdict = verify(given, trust=Trust(), status_lists=NoStatusLists())
    assert verdict.outcome == "malformed"
    assert not verdict.valid
    assert reason in verdict.checks[0].detail
    assert not verdict.checks[0].passed


def test_bytes_with_a_byte_order_mark_and_whitespace_are_read(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    credential = _issued(session, passport_issuer)[0]
    lists = _lists(session, passport_issuer)
    trust = Trust.of([passport_issuer])
    as_file = b"\xef\xbb\xbf\n  " + json.dumps(credential.rdfc, indent=2).encode() + b"\r\n"
    assert verify(as_file, trust=trust, status_lists=lists).outcome == "valid"
    assert verify(f"\n{credential.jwt}\n".encode(), trust=trust, status_lists=lists).valid


def test_a_status_list_whose_proof_fails_is_not_believed(
    session: Session, passport_learner: Learner, passport_issuer: Issuer, tmp_path: Path
) -> None:
    credential = _issued(session, passport_issuer)[0]
    url = credentials.status_list_url(BASE, credential.status_list)
    published = credentials.status_list_document(
        session, passport_issuer, credential.status_list, base_url=BASE
    )
    assert published is not None
    trust = Trust.of([passport_issuer])
    good = tmp_path / "status.json"
    good.write_text(json.dumps(published))
    from_file = verify(
        credential.rdfc, trust=trust, status_lists=FileStatusLists.from_files([good])
    )
    assert from_file.outcome == "valid"
    forged = copy.deepcopy(published)
    forged["validFrom"] = "2020-01-01T00:00:00Z"
    verdict = verify(credential.rdfc, trust=trust, status_lists=FileStatusLists({url: forged}))
    assert verdict.outcome == "unchecked"
    passed, detail = _check(verdict, "Not revoked")
    assert not passed
    assert detail.startswith("could not check revocation: the status list's own proof")
    missing = verify(credential.jwt, trust=trust, status_lists=NoStatusLists())
    assert missing.outcome == "unchecked"
    assert "could not be fetched" in _check(missing, "Not revoked")[1]
    assert missing.headline == (
        "OneStory could not check whether this qualification has been revoked"
    )


def test_a_status_list_signed_by_another_trusted_issuer_is_not_believed(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    credential = _issued(session, passport_issuer)[0]
    url = credentials.status_list_url(BASE, credential.status_list)
    published = credentials.status_list_document(
        session, passport_issuer, credential.status_list, base_url=BASE
    )
    assert published is not None
    other = Issuer.generate_did_key("Another issuer")
    unsigned = {k: v for k, v in published.items() if k != "proof"}
    unsigned["issuer"] = other.did
    resigned = dataintegrity.sign(
        unsigned,
        key=other.key,
        verification_method=other.verification_method,
        cryptosuite=dataintegrity.RDFC,
        created="2026-11-30T10:00:00Z",
    )
    verdict = verify(
        credential.rdfc,
        trust=Trust.of([passport_issuer, other]),
        status_lists=FileStatusLists({url: resigned}),
    )
    assert verdict.outcome == "unchecked"
    assert "not signed by the credential's issuer" in _check(verdict, "Not revoked")[1]


def test_trust_from_settings_reads_did_keys_and_did_documents(tmp_path: Path) -> None:
    ours = Issuer.generate_did_key()
    partner = Issuer.generate_did_key("Partner college")
    web = Issuer(did="did:web:college.example", key=Issuer.generate_did_key().key)
    document = tmp_path / "college-did.json"
    document.write_text(json.dumps(web.did_document()))
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        passport_trusted_issuers=[partner.did, str(document)],
    )
    trust = trust_from_settings(ours, settings)
    assert trust.knows(ours.did) and trust.knows(partner.did) and trust.knows(web.did)
    broken = Settings(env="test", data_dir=tmp_path, passport_trusted_issuers=["no-such.json"])
    with pytest.raises(IssuerError, match=r"no-such\.json"):
        trust_from_settings(ours, broken)


# --- what the JSON says must be what the proof covers (eddsa-rdfc-2022) ------------------------

CRED = "https://www.w3.org/2018/credentials#"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def test_a_revocation_entry_hidden_under_its_full_iri_is_refused_not_valid(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    """The same RDF, so the signature still matches: the key must not hide the status."""
    credential = _issued(session, passport_issuer)[0]
    credentials.revoke(
        session, passport_issuer, credential, actor="t", reason="in error", base_url=BASE
    )
    session.commit()
    hidden = copy.deepcopy(credential.rdfc)
    hidden[CRED + "credentialStatus"] = hidden.pop("credentialStatus")
    verdict = verify(
        hidden, trust=Trust.of([passport_issuer]), status_lists=_lists(session, passport_issuer)
    )
    assert verdict.outcome == "malformed"
    assert "credentialStatus" in verdict.checks[0].detail


def test_an_end_date_written_as_a_json_ld_value_object_is_refused_not_valid(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    record = session.get(AgencyRecord, passport_learner.record_ids[0])
    assert record is not None
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="t"
    )
    past = datetime(2026, 1, 1, tzinfo=UTC)
    credential = credentials.issue(
        session, passport_issuer, record, holder, actor="t", base_url=BASE,
        now=past, valid_until=past + timedelta(days=1),
    )  # fmt: skip
    session.commit()
    hidden = copy.deepcopy(credential.rdfc)
    hidden[CRED + "validUntil"] = {"@value": hidden.pop("validUntil"), "@type": XSD_DATETIME}
    lists = _lists(session, passport_issuer)
    trust = Trust.of([passport_issuer])
    assert verify(credential.rdfc, trust=trust, status_lists=lists).outcome == "expired"
    assert verify(hidden, trust=trust, status_lists=lists).outcome == "malformed"


def test_a_context_written_inline_is_refused(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    """An inline context could alias a term of the sender's choosing to validUntil."""
    credential = _issued(session, passport_issuer)[0]
    aliased = copy.deepcopy(credential.rdfc)
    aliased["@context"] = [*aliased["@context"], {"ends": CRED + "validUntil"}]
    verdict = verify(aliased, trust=Trust.of([passport_issuer]), status_lists=NoStatusLists())
    assert verdict.outcome == "malformed"
    assert "inline" in verdict.checks[0].detail


def test_a_poison_graph_of_interlinked_blank_nodes_is_refused_not_canonicalised(
    passport_issuer: Issuer,
) -> None:
    """RDFC-1.0 section 4.4: symmetric blank nodes make canonicalisation exponential; before the
    guard, eight of them took most of a minute. Refused with the reason instead."""
    link = CRED + "x"
    nodes = [
        {"id": f"_:b{i}", link: [{"id": f"_:b{j}"} for j in range(10) if j != i]} for i in range(10)
    ]
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": passport_issuer.did,
        "credentialSubject": {"id": "_:s", link: nodes},
    }
    with pytest.raises(dataintegrity.ProofError, match="blank nodes"):
        dataintegrity.sign(
            document,
            key=passport_issuer.key,
            verification_method=passport_issuer.verification_method,
            cryptosuite=dataintegrity.RDFC,
            created="2026-11-30T00:00:00Z",
        )


def test_an_empty_list_of_status_entries_is_malformed(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    """Signed by a trusted issuer but saying nothing about its status: not valid, no crash."""
    credential = _issued(session, passport_issuer)[0]
    unsigned = {k: v for k, v in credential.jcs.items() if k != "proof"}
    unsigned["credentialStatus"] = []
    signed = dataintegrity.sign(
        unsigned,
        key=passport_issuer.key,
        verification_method=passport_issuer.verification_method,
        cryptosuite=dataintegrity.JCS,
        created="2026-11-30T00:00:00Z",
    )
    verdict = verify(signed, trust=Trust.of([passport_issuer]), status_lists=NoStatusLists())
    assert verdict.outcome == "malformed"
