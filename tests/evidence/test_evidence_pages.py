"""The evidence pages over HTTP on SQLite and PostgreSQL, every page checked by the
page-checking client: adding an item, sharing and revoking, preview and download (and the
custody entries they leave), retention, disposal, derived copies, public submission links, and
a tampered blob caught at download."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from evidence_helpers import CASE_URN, People, add_item_bytes, sign_in
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from sqlalchemy import func, select

from onestory.config import Settings
from onestory.evidence import service
from onestory.evidence.blobs import BlobStore, FileBlobStore
from onestory.evidence.tables import CustodyEntry, EvidenceItem, ItemStatus, SubmissionLink
from onestory.ledger.checkpoints import cut_checkpoint, load_or_create_signer
from onestory.ledger.tables import LedgerEntry
from onestory.store.base import utcnow

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b7a0f70000000049454e44ae426082"
)
CASE_PAGE = f"/evidence/cases/{CASE_URN}"


def _form(
    exhibit: str = "SJ/1", *, sha: str = "", day: str = "1", schedule: str = "standard"
) -> dict[str, str]:
    return {
        "exhibit-reference": exhibit,
        "description": "Photograph of the broken window",
        "seized-by": "PC Sam Jones",
        "seized-day": day,
        "seized-month": "11",
        "seized-year": "2026",
        "seized-time": "10:30",
        "seized-from": "10 High Street",
        "device": "Canon EOS R6, serial 0123",
        "method": "Copied from the camera's card with a write blocker",
        "sender-sha256": sha,
        "retention-schedule": schedule,
    }


def _add_through_page(client: PageCheckingClient, data: bytes, **form: Any) -> Any:  # the response
    token = csrf_token_from(client.get(CASE_PAGE))
    fields = _form(**form) | {"csrf_token": token}
    return client.post(
        f"{CASE_PAGE}/items",
        data=fields,
        files={"evidence-file": ("window.png", data, "image/png")},
    )


def _item_id(response: Any) -> str:
    match = re.search(r"/evidence/items/([0-9a-f-]{36})$", str(response.url))
    assert match, f"expected to land on an item page, got {response.url}"
    return match.group(1)


def _actions(app: FastAPI, item_id: str) -> list[str]:
    with app.state.sessions() as session:
        return list(
            session.scalars(
                select(CustodyEntry.action)
                .where(CustodyEntry.item_id == item_id)
                .order_by(CustodyEntry.ledger_seq)
            )
        )


def _post(client: PageCheckingClient, page: str, action: str, data: dict[str, str]) -> Any:
    token = csrf_token_from(client.get(page))
    return client.post(action, data=data | {"csrf_token": token})


@pytest.fixture
def officer_client(
    evidence_client: PageCheckingClient, evidence_people: People
) -> PageCheckingClient:
    sign_in(evidence_client, evidence_people.officer.email)
    return evidence_client


def test_police_see_evidence_in_the_header_and_open_a_case_by_urn(
    officer_client: PageCheckingClient,
) -> None:
    home = officer_client.get("/")
    assert soup_of(home).find("a", href="/evidence") is not None
    page = officer_client.get("/evidence")
    assert "Your organisation holds no evidence yet" in page.text
    wrong = officer_client.get("/evidence", params={"urn": "not a urn"})
    assert wrong.status_code == 400
    assert "Enter a case URN like 01AB1234526" in wrong.text
    opened = officer_client.get("/evidence", params={"urn": "01ab 1234526"})
    assert opened.status_code == 200
    assert str(opened.url).endswith(CASE_PAGE)
    assert "Add an item" in opened.text


def test_an_item_added_through_the_page_is_hashed_recorded_and_previewed(
    evidence_app: FastAPI, officer_client: PageCheckingClient, evidence_store: BlobStore
) -> None:
    response = _add_through_page(officer_client, PNG, sha=hashlib.sha256(PNG).hexdigest())
    assert response.status_code == 200, response.text
    item_id = _item_id(response)
    text = response.text
    assert hashlib.sha256(PNG).hexdigest() in text
    assert "Canon EOS R6, serial 0123" in text
    preview = soup_of(response).find("img", id="preview")
    assert preview is not None and preview["src"] == f"/evidence/items/{item_id}/content"
    assert _actions(evidence_app, item_id) == ["acquired", "uploaded"]
    assert "will be provable once the next checkpoint is signed" in text
    # The page itself may not be framed; only its content may, and only by our own pages.
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    shown = officer_client.get(f"/evidence/items/{item_id}/content")
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]
    saved = officer_client.get(f"/evidence/items/{item_id}/download")
    assert saved.content == PNG
    assert saved.headers["content-disposition"].startswith("attachment")
    assert _actions(evidence_app, item_id) == ["acquired", "uploaded", "viewed", "downloaded"]

    # Once a checkpoint is signed, each entry's inclusion proof is on the page.
    settings: Settings = evidence_app.state.settings
    with evidence_app.state.sessions() as session:
        cut_checkpoint(session, load_or_create_signer(settings.data_dir, settings.ledger_origin))
        session.commit()
    page = officer_client.get(f"/evidence/items/{item_id}")
    timeline = soup_of(page).find(id="timeline")
    assert timeline is not None
    titles = [h.get_text(strip=True) for h in timeline.find_all("h3")]
    assert titles == ["Acquired", "Uploaded to the vault", "Viewed", "Downloaded"]
    assert "/api/ledger/proofs/inclusion?seq=" in page.text
    assert "Proof hashes" in page.text


def test_the_add_form_shows_each_error_and_a_hash_mismatch_stores_nothing(
    evidence_app: FastAPI, officer_client: PageCheckingClient, evidence_store: FileBlobStore
) -> None:
    token = csrf_token_from(officer_client.get(CASE_PAGE))
    empty = officer_client.post(f"{CASE_PAGE}/items", data={"csrf_token": token})
    assert empty.status_code == 400
    summary = soup_of(empty).find(class_="govuk-error-summary")
    assert summary is not None
    links = {a["href"] for a in summary.find_all("a")}
    assert {
        "#evidence-file",
        "#exhibit-reference",
        "#description",
        "#seized-day",
        "#retention-schedule",
    } <= links

    wrong = _add_through_page(officer_client, PNG, sha="0" * 64)
    assert wrong.status_code == 400
    assert "the sender gave " + "0" * 64 in wrong.text
    assert "nothing was stored" in wrong.text
    with evidence_app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceItem)) == 0
    assert not evidence_store.has(hashlib.sha256(PNG).hexdigest())
    assert list(evidence_store.staging_dir().iterdir()) == []


def test_sharing_with_a_prosecutor_and_revoking_through_the_page(
    evidence_app: FastAPI,
    evidence_client: PageCheckingClient,
    evidence_people: People,
    evidence_store: BlobStore,
) -> None:
    item_id = add_item_bytes(
        evidence_app, evidence_store, evidence_people.officer.actor, PNG, media_type="image/png"
    )
    sign_in(evidence_client, evidence_people.officer.email)
    until = utcnow() + timedelta(days=10)
    shared = _post(
        evidence_client,
        CASE_PAGE,
        f"{CASE_PAGE}/grants",
        {
            "grantee-email": evidence_people.prosecutor.email,
            "grant-scope": item_id,
            "grant-until-day": str(until.day),
            "grant-until-month": str(until.month),
            "grant-until-year": str(until.year),
        },
    )
    assert shared.status_code == 200
    assert f"{evidence_people.prosecutor.name} can see exhibit SJ/1" in shared.text
    grants = soup_of(shared).find(id="grants")
    assert grants is not None and "Live" in grants.get_text()

    # A victim-support worker is no one the rules let read evidence: refused, said why.
    refused = _post(
        evidence_client,
        CASE_PAGE,
        f"{CASE_PAGE}/grants",
        {
            "grantee-email": "nobody@example.test",
            "grant-scope": "case",
            "grant-until-day": str(until.day),
            "grant-until-month": str(until.month),
            "grant-until-year": str(until.year),
        },
    )
    assert refused.status_code == 400
    assert "No one has an account with the email nobody@example.test" in refused.text

    # The prosecutor sees the case and the item.
    evidence_client.cookies.clear()
    sign_in(evidence_client, evidence_people.prosecutor.email)
    home = evidence_client.get("/evidence")
    assert CASE_PAGE in home.text
    case = evidence_client.get(CASE_PAGE)
    assert "SJ/1" in case.text and "Add an item" not in case.text
    assert soup_of(case).find("form", action=f"{CASE_PAGE}/bundle") is not None
    assert evidence_client.get(f"/evidence/items/{item_id}/download").content == PNG

    # The officer revokes; the prosecutor is refused.
    evidence_client.cookies.clear()
    sign_in(evidence_client, evidence_people.officer.email)
    case = evidence_client.get(CASE_PAGE)
    form = soup_of(case).find("form", action=re.compile(r"^/evidence/grants/\d+/revoke$"))
    assert form is not None
    revoked = evidence_client.post(str(form["action"]), data={"csrf_token": csrf_token_from(case)})
    assert revoked.status_code == 200
    assert "Access revoked" in revoked.text
    assert "Revoked" in (soup_of(revoked).find(id="grants") or soup_of(revoked)).get_text()
    assert _actions(evidence_app, item_id) == [
        "acquired",
        "uploaded",
        "shared",
        "downloaded",
        "access_revoked",
    ]
    evidence_client.cookies.clear()
    sign_in(evidence_client, evidence_people.prosecutor.email)
    assert evidence_client.get(f"/evidence/items/{item_id}").status_code == 404


def test_retention_change_then_disposal_keeps_the_record(
    evidence_app: FastAPI,
    officer_client: PageCheckingClient,
    evidence_people: People,
    evidence_store: FileBlobStore,
) -> None:
    item_id = add_item_bytes(
        evidence_app,
        evidence_store,
        evidence_people.officer.actor,
        PNG,
        media_type="image/png",
        seized_at=datetime(2021, 5, 4, 9, 0, tzinfo=UTC),
    )
    page = f"/evidence/items/{item_id}"
    # Not yet due: the confirmation page says so and the POST is refused.
    not_due = officer_client.get(f"{page}/dispose")
    assert soup_of(not_due).find(id="not-due") is not None
    early = _post(officer_client, page, f"{page}/dispose", {"dispose-reason": "tidy up"})
    assert early.status_code == 400
    assert "is to be kept until" in early.text

    # A date in the past is refused: an ended retention comes only from a schedule.
    yesterday = utcnow() - timedelta(days=1)
    past = _post(
        officer_client,
        page,
        f"{page}/retention",
        {
            "retain-until-day": str(yesterday.day),
            "retain-until-month": str(yesterday.month),
            "retain-until-year": str(yesterday.year),
            "retention-reason": "Trying to dispose of it today",
        },
    )
    assert past.status_code == 400
    assert "cannot be in the past" in past.text
    tomorrow = utcnow() + timedelta(days=400)
    later = _post(
        officer_client,
        page,
        f"{page}/retention",
        {
            "retain-until-day": str(tomorrow.day),
            "retain-until-month": str(tomorrow.month),
            "retain-until-year": str(tomorrow.year),
            "retention-reason": "Appeal pending",
        },
    )
    assert later.status_code == 200
    ended = _post(
        officer_client,
        page,
        f"{page}/retention",
        {"retention-schedule": "no-further-action", "retention-reason": "No further action"},
    )
    assert ended.status_code == 200
    assert "No further action (two years)" in ended.text
    assert f"{page}/dispose" in ended.text
    confirm = officer_client.get(f"{page}/dispose")
    assert "This cannot be undone" in confirm.text
    disposed = _post(
        officer_client, f"{page}/dispose", f"{page}/dispose", {"dispose-reason": "Court order"}
    )
    assert disposed.status_code == 200
    assert soup_of(disposed).find(id="disposed") is not None
    assert hashlib.sha256(PNG).hexdigest() in disposed.text  # the hash is kept
    assert not evidence_store.has(hashlib.sha256(PNG).hexdigest())
    gone = officer_client.get(f"{page}/download")
    assert gone.status_code == 410
    assert "was disposed of" in gone.text
    with evidence_app.state.sessions() as session:
        assert session.get_one(EvidenceItem, item_id).status == ItemStatus.DISPOSED
    assert _actions(evidence_app, item_id)[-4:] == [
        "retention_changed",
        "retention_changed",
        "disposed",
        "access_refused",  # a download of disposed content is refused, not recorded as given
    ]


def test_a_derived_copy_is_linked_both_ways(
    evidence_app: FastAPI,
    officer_client: PageCheckingClient,
    evidence_people: People,
    evidence_store: BlobStore,
) -> None:
    item_id = add_item_bytes(
        evidence_app, evidence_store, evidence_people.officer.actor, PNG, media_type="image/png"
    )
    page = f"/evidence/items/{item_id}"
    token = csrf_token_from(officer_client.get(page))
    missing = officer_client.post(f"{page}/derived", data={"csrf_token": token})
    assert missing.status_code == 400
    assert "Say what was done to make the copy" in missing.text
    copy = officer_client.post(
        f"{page}/derived",
        data={"csrf_token": token, "derivation": "faces blurred"},
        files={"derived-file": ("blurred.png", PNG + b"blur", "image/png")},
    )
    assert copy.status_code == 200
    copy_id = _item_id(copy)
    assert "SJ/1/C1" in copy.text
    assert soup_of(copy).find("a", href=page) is not None
    original = officer_client.get(page)
    assert soup_of(original).find("a", href=f"/evidence/items/{copy_id}") is not None
    assert _actions(evidence_app, item_id)[-1] == "derived"
    with evidence_app.state.sessions() as session:
        made = session.get_one(EvidenceItem, copy_id)
        assert made.derived_from_id == item_id and made.derivation == "faces blurred"


def _make_link(client: PageCheckingClient, days: str = "14") -> str:
    made = _post(
        client,
        CASE_PAGE,
        f"{CASE_PAGE}/links",
        {"link-request": "Dashcam footage of Station Road, 9pm to 10pm", "link-days": days},
    )
    assert made.status_code == 200, made.text
    inset = soup_of(made).find(id="new-link")
    assert inset is not None
    match = re.search(r"http://\S+/evidence/submit/(\S+)", inset.get_text())
    assert match
    return f"/evidence/submit/{match.group(1)}"


def _submit(public: PageCheckingClient, path: str, data: bytes) -> Any:
    token = csrf_token_from(public.get(path))
    return public.post(
        path,
        data={
            "csrf_token": token,
            "recorded-day": "2",
            "recorded-month": "11",
            "recorded-year": "2026",
            "recorded-time": "9:40pm",
            "recorded-where": "Station Road",
            "sender-name": "Jo Witness",
            "sender-contact": "07700 900456",
            "declaration": "yes",
        },
        files={"submitted-file": ("dashcam.mp4", data, "video/mp4")},
    )


def test_a_submission_link_is_used_once_then_refused(
    evidence_app: FastAPI, officer_client: PageCheckingClient
) -> None:
    path = _make_link(officer_client)
    with evidence_app.state.sessions() as session:
        link = session.scalars(select(SubmissionLink)).one()
        assert path.rsplit("/", 1)[1] not in link.token_hash  # only the hash is kept
        created = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "evidence.submission_link.created")
        ).one()
        assert created.subjects == [{"kind": "case", "id": CASE_URN}]
    with PageCheckingClient(evidence_app) as public:
        form = public.get(path)
        assert form.status_code == 200
        assert "Dashcam footage of Station Road" in form.text
        assert CASE_URN not in form.text  # nothing about the case but the request
        token = csrf_token_from(form)
        undeclared = public.post(path, data={"csrf_token": token})
        assert undeclared.status_code == 400
        assert "Confirm the file is true" in undeclared.text
        sent = _submit(public, path, b"\x00\x00\x00\x18ftypmp42 dashcam")
        assert sent.status_code == 200
        assert "POL01/PUBLIC/1" in sent.text
        again = public.get(path)
        assert again.status_code == 410
        assert "already been used" in again.text
        replay = public.post(
            path,
            data={"csrf_token": csrf_token_from(public.get("/sign-in"))},
            files={"submitted-file": ("again.mp4", b"again", "video/mp4")},
        )
        assert replay.status_code == 410
    with evidence_app.state.sessions() as session:
        item = session.scalars(select(EvidenceItem)).one()
        assert item.organisation == "POL01"
        # The sender is kept with the link, for the holding force, never in the item's record.
        assert item.seized_by == f"A member of the public, through submission link {link.id}"
        assert "Jo Witness" not in item.description
        assert session.get_one(SubmissionLink, link.id).sender_name == "Jo Witness"
        assert item.media_type == "video/mp4"
        uploaded = session.scalars(
            select(CustodyEntry).where(CustodyEntry.item_id == item.id)
        ).all()
        assert {e.actor for e in uploaded} == {f"link:{link.id}"}
    case = officer_client.get(CASE_PAGE)
    assert "POL01/PUBLIC/1" in case.text


def test_an_expired_submission_link_is_refused(
    evidence_app: FastAPI, officer_client: PageCheckingClient
) -> None:
    path = _make_link(officer_client, days="1")
    with evidence_app.state.sessions() as session:
        link = session.scalars(select(SubmissionLink)).one()
        link.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    with PageCheckingClient(evidence_app) as public:
        gone = public.get(path)
        assert gone.status_code == 410
        assert "This link expired on" in gone.text
        unknown = public.get("/evidence/submit/not-a-real-token")
        assert unknown.status_code == 410
        assert "not recognised" in unknown.text
    too_long = _post(
        officer_client,
        CASE_PAGE,
        f"{CASE_PAGE}/links",
        {"link-request": "Footage", "link-days": "61"},
    )
    assert too_long.status_code == 400
    assert "from 1 to 60 days" in too_long.text


def test_a_tampered_blob_cuts_the_download_short_and_the_item_shows_it(
    evidence_app: FastAPI, evidence_people: People, evidence_store: FileBlobStore
) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: more than one block
    item_id = add_item_bytes(evidence_app, evidence_store, evidence_people.officer.actor, data)
    path = evidence_store.path(hashlib.sha256(data).hexdigest())
    path.chmod(0o640)
    changed = bytearray(path.read_bytes())
    changed[len(changed) // 2] ^= 0x01
    path.write_bytes(bytes(changed))
    with PageCheckingClient(evidence_app, raise_server_exceptions=False) as client:
        sign_in(client, evidence_people.officer.email)
        # The headers promised the whole file; the body stops before the altered last block,
        # so the reader's client sees an incomplete transfer, never a whole altered copy.
        response = client.get(f"/evidence/items/{item_id}/download")
        assert response.headers["content-length"] == str(len(data))
        assert 0 < len(response.content) < len(data)
        page = client.get(f"/evidence/items/{item_id}")
        assert soup_of(page).find(id="integrity-failed") is not None
        assert client.get(f"/evidence/items/{item_id}/download").status_code == 410
    assert "integrity_failed" in _actions(evidence_app, item_id)
    with evidence_app.state.sessions() as session:
        assert session.get_one(EvidenceItem, item_id).integrity_failed_at is not None
        with pytest.raises(service.Unavailable):
            service.open_item(
                session,
                policies=evidence_app.state.policies,
                actor=evidence_people.officer.actor,
                item=session.get_one(EvidenceItem, item_id),
            )


def test_the_page_opens_a_resumable_upload_only_for_a_form_that_would_be_accepted(
    officer_client: PageCheckingClient,
) -> None:
    fields = {
        "exhibit-reference": "SJ/9",
        "description": "Dashcam footage",
        "seized-by": "PC Sam Jones",
        "seized-day": "1",
        "seized-month": "11",
        "seized-year": "2026",
        "seized-time": "10:30",
        "retention-schedule": "standard",
        "file-name": "dashcam.mp4",
        "file-type": "video/mp4",
        "file-size": "3000000000",
    }
    refused = _post(
        officer_client,
        CASE_PAGE,
        f"{CASE_PAGE}/uploads",
        fields | {"description": "", "seized-day": "31", "seized-month": "2"},
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"description", "seized-day"}
    opened = _post(officer_client, CASE_PAGE, f"{CASE_PAGE}/uploads", fields)
    assert opened.status_code == 201, opened.text
    location = opened.json()["location"]
    token = csrf_token_from(officer_client.get(CASE_PAGE))
    state = officer_client.head(location, headers={"Tus-Resumable": "1.0.0", "X-CSRF-Token": token})
    assert state.headers["upload-offset"] == "0"
    assert state.headers["upload-length"] == "3000000000"
