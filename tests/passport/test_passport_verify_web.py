"""The public verification pages and API, share links, and what other verifiers fetch (the DID
document, the status lists), through the whole application on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, Audit, free_port, require_browser, serving
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from passport_helpers import Learner, add_learner, add_organisations_and_staff
from sqlalchemy import Engine, select

from onestory.config import Settings
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.passport import credentials, shares
from onestory.passport.issuer import Trust
from onestory.passport.tables import PassportCredential, PassportHolder, PassportShare
from onestory.passport.verify import FileStatusLists, verify
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.web.app import create_app

BASE = "https://onestory.example.test"


@dataclass(frozen=True)
class World:
    """The application with one learner's credentials issued (``issued`` by achievement)."""

    app: FastAPI
    learner: Learner
    holder_id: str
    issued: list[PassportCredential]


def _settings(tmp_path: Path, base_url: str = BASE) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="e" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
        public_base_url=base_url,
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    app = create_app(_settings(tmp_path), engine=engine)
    with app.state.sessions() as session:
        add_organisations_and_staff(session)
        learner = add_learner(session)
        session.commit()
        credentials.issue_pending(session, app.state.passport_issuer, actor="test", base_url=BASE)
        holder = session.scalars(select(PassportHolder)).one()
        issued = list(
            session.scalars(select(PassportCredential).order_by(PassportCredential.achievement))
        )
        session.expunge_all()
        return World(app, learner, holder.id, issued)


@pytest.fixture
def client(world: World) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(world.app) as c:
        yield c


def _submit(
    client: PageCheckingClient, *, pasted: str = "", file: tuple[str, bytes] | None = None
) -> object:
    token = csrf_token_from(client.get("/passport/verify"))
    files = {"credential-file": (file[0], file[1], "application/octet-stream")} if file else None
    if files is None:
        # A browser sends the empty file input too.
        files = {"credential-file": ("", b"", "application/octet-stream")}
    return client.post(
        "/passport/verify", data={"credential": pasted, "csrf_token": token}, files=files
    )


def _outcome(response: object) -> str:
    verdict = soup_of(response).select_one("#verdict")  # type: ignore[arg-type]
    assert verdict is not None
    return str(verdict.get("data-outcome"))


def _renamed_jwt(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["name"] = "Level 5 Diploma in Management"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def _share_views(world: World) -> list[dict[str, object]]:
    with world.app.state.sessions() as session:
        return list(
            session.scalars(
                select(LedgerPayload.payload)
                .join(LedgerEntry, LedgerEntry.seq == LedgerPayload.seq)
                .where(LedgerEntry.entry_type == "passport.share.viewed")
                .order_by(LedgerEntry.seq)
            )
        )


def test_the_check_page_asks_for_a_paste_or_a_file(client: PageCheckingClient) -> None:
    page = client.get("/passport/verify")
    assert page.status_code == 200
    soup = soup_of(page)
    assert soup.select_one("h1").get_text(strip=True) == "Check a qualification"  # type: ignore[union-attr]
    form = soup.select_one("form[action='/passport/verify']")
    assert form is not None and form.get("enctype") == "multipart/form-data"
    assert soup.select_one("textarea#credential") is not None
    assert soup.select_one("input#credential-file[type=file]") is not None
    assert "QR code" in page.text


def test_a_pasted_credential_shows_green_and_what_was_checked(
    client: PageCheckingClient, world: World
) -> None:
    response = _submit(client, pasted=json.dumps(world.issued[0].rdfc))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert _outcome(response) == "valid"
    soup = soup_of(response)  # type: ignore[arg-type]
    assert "govuk-panel" in str(soup.select_one("#verdict").get("class"))  # type: ignore[union-attr]
    checks = soup.select("#checks .govuk-summary-list__key")
    assert [c.get_text(strip=True) for c in checks] == [
        "Format recognised",
        "Issuer recognised",
        "Signature matches",
        "Validity period",
        "Not revoked",
    ]
    card = soup.select_one("#credential-1").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert world.issued[0].achievement in card
    assert "Jordan Reece" in card and "Novus" in card and "Pearson" in card


def test_an_uploaded_file_is_checked_and_a_tampered_one_is_red(
    client: PageCheckingClient, world: World
) -> None:
    good = _submit(client, file=("maths.jwt", world.issued[0].jwt.encode()))
    assert _outcome(good) == "valid"
    bad = _submit(client, file=("maths.jwt", _renamed_jwt(world.issued[0].jwt).encode()))
    assert bad.status_code == 200  # type: ignore[attr-defined]
    assert _outcome(bad) == "tampered"
    banner = soup_of(bad).select_one("#verdict")  # type: ignore[arg-type]
    assert banner is not None and banner.get("role") == "alert"
    assert "This has been changed since it was issued" in banner.get_text()
    assert "Level 5 Diploma in Management" in bad.text  # type: ignore[attr-defined]


def test_bad_input_names_the_field(client: PageCheckingClient) -> None:
    empty = _submit(client)
    assert empty.status_code == 400  # type: ignore[attr-defined]
    summary = soup_of(empty).select_one(".govuk-error-summary a")  # type: ignore[arg-type]
    assert summary is not None and summary.get("href") == "#credential"
    assert summary.get_text(strip=True) == "Paste a credential or choose a file"
    garbage = _submit(client, pasted="my certificate number is 1234")
    assert garbage.status_code == 400  # type: ignore[attr-defined]
    message = soup_of(garbage).select_one("#credential-error")  # type: ignore[arg-type]
    assert message is not None
    assert "That is not a credential, presentation or JWT: it is neither JSON" in message.text
    big = _submit(client, file=("big.json", b" " * (1024 * 1024 + 1)))
    assert big.status_code == 400  # type: ignore[attr-defined]
    link = soup_of(big).select_one(".govuk-error-summary a")  # type: ignore[arg-type]
    assert link is not None and link.get("href") == "#credential-file"
    assert "smaller than 1 MB" in link.get_text()


def test_a_share_link_shows_the_checked_presentation_and_counts_the_view(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None
        share, token = shares.create_share(session, holder, [c.id for c in world.issued])
        share_id = share.id
        session.commit()
    page = client.get(f"/passport/s/{token}")
    assert page.status_code == 200
    assert _outcome(page) == "valid"
    assert soup_of(page).select_one("#credential-2") is not None
    download = soup_of(page).find("a", string="Download the presentation (JSON)")
    assert download is not None and download.get("href") == f"/passport/s/{token}.json"
    presentation = client.get(f"/passport/s/{token}.json")
    assert presentation.status_code == 200
    api = client.post("/api/passport/verify", json=presentation.json())
    assert api.json()["outcome"] == "valid"
    assert [c["achievement"] for c in api.json()["credentials"]] == [
        c.achievement for c in world.issued
    ]
    with world.app.state.sessions() as session:
        stored = session.get(PassportShare, share_id)
        assert stored is not None and stored.views == 2
    views = _share_views(world)
    assert [(v["share"], v["form"]) for v in views] == [(share_id, "page"), (share_id, "json")]
    assert views[0]["outcome"] == "valid"


def test_a_withdrawn_or_unknown_share_link_does_not_work(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        holder = session.get(PassportHolder, world.holder_id)
        assert holder is not None
        share, token = shares.create_share(session, holder, [world.issued[0].id])
        shares.withdraw_share(session, holder, share.id)
        session.commit()
    for url in (f"/passport/s/{token}", f"/passport/s/{token}.json", "/passport/s/nonsense"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "This link does not work" in response.text
        assert "withdrawn" in response.text
    assert _share_views(world) == []


def test_the_api_answers_the_verdict_for_each_form(
    client: PageCheckingClient, world: World
) -> None:
    credential = world.issued[0]
    for body in (credential.rdfc, credential.jcs, {"jwt": credential.jwt}):
        answer = client.post("/api/passport/verify", json=body)
        assert answer.status_code == 200
        verdict = answer.json()
        assert verdict["outcome"] == "valid", verdict
        assert verdict["headline"] == "This qualification is genuine and has not been revoked"
        assert verdict["checks"][0]["name"] == "Format recognised"
        assert verdict["credentials"][0]["holder_name"] == "Jordan Reece"
    # A JWT as plain text: browsers can forge plain-text posts, so it needs the form token.
    token = csrf_token_from(client.get("/passport/verify"))
    plain = client.post(
        "/api/passport/verify",
        content=credential.jwt,
        headers={"content-type": "text/plain", "X-CSRF-Token": token},
    )
    assert plain.json()["outcome"] == "valid"
    tampered = copy.deepcopy(credential.jcs)
    tampered["credentialSubject"]["achievement"]["name"] = "Anything"
    assert client.post("/api/passport/verify", json=tampered).json()["outcome"] == "tampered"
    not_json = client.post(
        "/api/passport/verify", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "not_json"
    garbage = client.post("/api/passport/verify", json={"type": "Invoice"})
    assert garbage.json()["outcome"] == "malformed"
    huge = client.post("/api/passport/verify", json={"padding": "x" * (1024 * 1024)})
    assert huge.status_code == 413 and huge.json()["code"] == "too_large"
    spec = client.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/passport/verify"]["post"]
    assert operation["tags"] == ["passport"]
    assert "text/plain" in operation["requestBody"]["content"]


def test_a_revoked_credential_is_revoked_on_the_page_and_in_the_api(
    client: PageCheckingClient, world: World
) -> None:
    with world.app.state.sessions() as session:
        credential = session.get(PassportCredential, world.issued[1].id)
        assert credential is not None
        credentials.revoke(
            session,
            world.app.state.passport_issuer,
            credential,
            actor="test",
            reason="issued in error",
            base_url=BASE,
        )
        session.commit()
    assert client.post("/api/passport/verify", json=world.issued[1].rdfc).json()["outcome"] == (
        "revoked"
    )
    page = _submit(client, pasted=json.dumps(world.issued[1].jcs))
    assert _outcome(page) == "revoked"
    assert "This qualification has been revoked by its issuer" in page.text  # type: ignore[attr-defined]


def test_the_did_document_and_status_list_serve_what_verifies(
    client: PageCheckingClient, world: World
) -> None:
    did = client.get("/.well-known/did.json")
    assert did.status_code == 200
    assert did.headers["content-type"].startswith("application/did+json")
    document = json.loads(did.content)
    assert document["id"] == "did:web:onestory.example.test"
    credential = world.issued[0]
    url = credentials.status_list_url(BASE, credential.status_list)
    listed = client.get(f"/passport/status/{credential.status_list}")
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("application/vc+ld+json")
    assert "max-age=300" in listed.headers["cache-control"]
    status_list = json.loads(listed.content)
    assert status_list["id"] == url
    # A verifier elsewhere, holding only what was fetched, gets the same answer.
    verdict = verify(
        credential.rdfc,
        trust=Trust.of([document]),
        status_lists=FileStatusLists({url: status_list}),
    )
    assert verdict.outcome == "valid", verdict.checks
    assert client.get("/passport/status/999").status_code == 404


def test_a_base_url_with_a_path_serves_the_did_document_at_the_did_web_path(
    engine: Engine, tmp_path: Path
) -> None:
    app = create_app(_settings(tmp_path, "https://justice.example.test/onestory"), engine=engine)
    with PageCheckingClient(app) as client:
        response = client.get("/onestory/did.json")
        assert response.status_code == 200
        assert response.json()["id"] == "did:web:justice.example.test:onestory"
        assert client.get("/elsewhere/did.json").status_code == 404


# --- in a real browser, with axe-core -----------------------------------------------------------


@pytest.mark.browser
def test_a_person_checks_by_pasting_and_by_uploading_in_a_real_browser(
    tmp_path: Path,
) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    engine = create_engine_for(f"sqlite:///{tmp_path / 'verify.sqlite3'}")
    load_metadata().create_all(engine)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(_settings(tmp_path, base), engine=engine)
    with app.state.sessions() as session:
        add_organisations_and_staff(session)
        add_learner(session)
        session.commit()
        credentials.issue_pending(session, app.state.passport_issuer, actor="test", base_url=base)
        holder = session.scalars(select(PassportHolder)).one()
        issued = list(session.scalars(select(PassportCredential)))
        _, token = shares.create_share(session, holder, [c.id for c in issued])
        session.commit()
        pasted, tampered = json.dumps(issued[0].rdfc), _renamed_jwt(issued[0].jwt)
    tampered_file = tmp_path / "maths.jwt"
    tampered_file.write_text(tampered)
    audit = Audit()
    try:
        with serving(app, port), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(base + "/passport/verify")
            audit.check(page, "check page")
            page.get_by_role("button", name="Check the qualification").click()
            expect(page.locator(".govuk-error-summary")).to_contain_text(
                "Paste a credential or choose a file"
            )
            audit.check(page, "missing input")
            page.get_by_label("Paste the qualification").fill(pasted)
            page.get_by_role("button", name="Check the qualification").click()
            expect(page.locator("#verdict")).to_have_attribute("data-outcome", "valid")
            expect(page.locator("h1")).to_have_text(
                "This qualification is genuine and has not been revoked"
            )
            audit.check(page, "valid paste")
            page.goto(base + "/passport/verify")
            page.get_by_label("Or choose its file").set_input_files(str(tampered_file))
            page.get_by_role("button", name="Check the qualification").click()
            expect(page.locator("#verdict")).to_have_attribute("data-outcome", "tampered")
            expect(page.get_by_role("alert")).to_contain_text(
                "This has been changed since it was issued"
            )
            audit.check(page, "tampered upload")
            page.goto(f"{base}/passport/s/{token}")
            expect(page.locator("#verdict")).to_have_attribute("data-outcome", "valid")
            audit.check(page, "share link")
            browser.close()
    finally:
        engine.dispose()
    assert not audit.violations, "axe found accessibility problems:\n" + audit.report()
