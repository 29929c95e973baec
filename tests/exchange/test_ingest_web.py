"""The upload page, the quarantine pages and the ingest API, over HTTP on SQLite and PostgreSQL:
staff see and correct only their own organisation's rows, and every look is ledgered."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, csrf_token_from, soup_of
from web_helpers import sign_in

from onestory.config import Settings
from onestory.exchange.tables import (
    RESUBMITTED,
    WITHDRAWN,
    AgencyRecord,
    IngestFile,
    QuarantinedRow,
)
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount
from onestory.synth import write_world
from onestory.web.app import create_app

PASSWORD = "correct horse battery staple"
POLICE = "officer@pol01.test"
OTHER_FORCE = "officer@pol04.test"
EDUCATION = "tutor@college.test"
ADMIN = Actor("user:0", "administrator", None, None)
ORGANISATIONS = (
    ("POL01", "Metropolitan Police Service", "police"),
    ("POL04", "Lancashire Constabulary", "police"),
    ("CPS-LN", "CPS London North", "cps"),
    ("CPS-NW", "CPS North West", "cps"),
    ("EDU1", "Prison College", "education"),
)
ACCOUNTS = (
    (POLICE, "police_officer", "POL01"),
    (OTHER_FORCE, "police_officer", "POL04"),
    (EDUCATION, "education_provider", "EDU1"),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, people=40, seed=5)
    return out


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="i" * 48, notify_interval=0, webhook_interval=0
    )
    application = create_app(settings, engine=engine)
    with application.state.sessions() as session:
        for code, name, kind in ORGANISATIONS:
            session.add(Organisation(code=code, name=name, kind=kind))
        session.flush()
        for email, role, org in ACCOUNTS:
            organisation = session.scalars(select(Organisation).where(Organisation.code == org))
            session.add(
                UserAccount(
                    email=email,
                    display_name=email.split("@")[0],
                    role=role,
                    organisation=organisation.one(),
                    password_hash=hash_password(PASSWORD),
                )
            )
        session.commit()
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(app) as test_client:
        yield test_client


def spoilt_extract(world: Path, *, other_force: bool = False) -> bytes:
    """The first rows of the world's police extract, as POL01's, two with a cell spoilt (and,
    with ``other_force``, one more row that says POL04 holds it)."""
    with (world / "police.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[: 10 if other_force else 9]
    header = rows[0]
    for row in rows[1:]:
        row[header.index("FORCE")] = "01"
    rows[2][header.index("DOB")] = "31/02/1990"
    rows[4][header.index("PNC_ID")] = "not a PNC"
    if other_force:
        rows[9][header.index("FORCE")] = "04"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def upload(client: PageCheckingClient, body: bytes, name: str = "police.csv") -> object:
    token = csrf_token_from(client.get("/ingest"))
    return client.post(
        "/ingest",
        data={"csrf_token": token, "layout": ""},
        files={"extract": (name, body, "text/csv")},
        follow_redirects=True,
    )


def decisions(app: FastAPI) -> list[dict[str, object]]:
    with app.state.sessions() as session:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == "sharing.decision")
            .order_by(LedgerEntry.seq)
        ).all()
        return [{"actor": e.actor, "subjects": e.subjects} for e in entries]


def test_staff_upload_a_file_and_see_what_became_of_it(
    app: FastAPI, client: PageCheckingClient, world: Path, tmp_path: Path
) -> None:
    sign_in(client, POLICE)
    page = client.get("/ingest")
    assert page.status_code == 200 and "Metropolitan Police Service" in page.text
    answer = upload(client, spoilt_extract(world))
    assert answer.status_code == 200  # type: ignore[attr-defined]
    summary = soup_of(answer).find(id="summary")  # type: ignore[arg-type]
    assert summary is not None
    words = " ".join(summary.get_text(" ").split())
    assert "Accepted 6" in words and "Quarantined 2" in words
    with app.state.sessions() as session:
        file = session.scalars(select(IngestFile)).one()
        assert file.name == "police.csv" and file.actor.startswith("user:")
        assert session.scalar(select(func.count()).select_from(AgencyRecord)) == 6
    # The temporary copy is gone from the data directory.
    assert list((tmp_path / "uploads").iterdir()) == []
    listing = client.get("/ingest")
    assert "police.csv" in listing.text
    # The same bytes again change nothing.
    again = upload(client, spoilt_extract(world))
    assert "already received" in again.text  # type: ignore[attr-defined]
    with app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IngestFile)) == 1


def test_staff_correct_and_withdraw_their_quarantined_rows(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    sign_in(client, POLICE)
    upload(client, spoilt_extract(world))
    listing = client.get("/quarantine")
    assert listing.status_code == 200
    links = [a["href"] for a in soup_of(listing).select("#rows a")]
    assert len(links) == 2
    with app.state.sessions() as session:
        rows = session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.line)).all()
        dob_row, pnc_row = rows[0].id, rows[1].id
        right_dob = next(
            csv.reader(io.StringIO((world / "police.csv").read_text().splitlines()[2]))
        )

    page = client.get(f"/quarantine/{dob_row}")
    assert "31/02/1990" in page.text and "How to fix it" in page.text
    soup = soup_of(page)
    form = soup.find("form", action=f"/quarantine/{dob_row}/resubmit")
    assert form is not None
    names = [i["value"] for i in form.find_all("input", attrs={"name": "name"})]
    values = [i.get("value", "") for i in form.find_all("input", attrs={"name": "value"})]
    header = (world / "police.csv").read_text().splitlines()[0].split(",")
    assert names == header
    token = csrf_token_from(page)

    # Still wrong: the page says so and the row stays open.
    dob = header.index("DOB")
    wrong = {
        "csrf_token": token,
        "name": names,
        "value": [*values[:dob], "30/02/1990", *values[dob + 1 :]],
    }
    still = client.post(f"/quarantine/{dob_row}/resubmit", data=wrong)
    assert still.status_code == 400 and "There is a problem" in still.text

    fixed = {
        "csrf_token": token,
        "name": names,
        "value": [*values[:dob], right_dob[dob], *values[dob + 1 :]],
    }
    done = client.post(f"/quarantine/{dob_row}/resubmit", data=fixed, follow_redirects=True)
    assert done.status_code == 200 and "accepted as record" in done.text

    gone = client.post(f"/quarantine/{pnc_row}/withdraw", data={"csrf_token": token, "reason": ""})
    assert gone.status_code == 400
    gone = client.post(
        f"/quarantine/{pnc_row}/withdraw",
        data={"csrf_token": token, "reason": "sent in error"},
        follow_redirects=True,
    )
    assert gone.status_code == 200 and "withdrawn" in gone.text
    with app.state.sessions() as session:
        statuses = [
            r.status for r in session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.line))
        ]
        assert statuses == [RESUBMITTED, WITHDRAWN]
        assert session.scalar(select(func.count()).select_from(AgencyRecord)) == 7
    # Every look at a row and every change was decided and ledgered.
    subjects = [d["subjects"][0]["id"] for d in decisions(app)]  # type: ignore[index]
    assert f"quarantined_row:{dob_row}" in subjects and f"quarantined_row:{pnc_row}" in subjects


def test_other_organisations_get_not_found(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    sign_in(client, POLICE)
    upload(client, spoilt_extract(world))
    with app.state.sessions() as session:
        file_id = session.scalars(select(IngestFile.id)).one()
        row_id = session.scalars(select(QuarantinedRow.id)).first()
    sign_in(client, OTHER_FORCE)
    assert client.get(f"/ingest/files/{file_id}").status_code == 404
    assert client.get(f"/quarantine/{row_id}").status_code == 404
    assert client.get(f"/quarantine?file={file_id}").status_code == 404
    listing = client.get("/quarantine")
    assert listing.status_code == 200 and "No rows are waiting" in listing.text
    assert "police.csv" not in client.get("/ingest").text
    token = csrf_token_from(client.get("/ingest"))
    refused = client.post(
        f"/quarantine/{row_id}/withdraw", data={"csrf_token": token, "reason": "mine now"}
    )
    assert refused.status_code == 404
    # An education provider sends its own learning extracts, and sees none of the police's.
    sign_in(client, EDUCATION)
    own = client.get("/ingest")
    assert own.status_code == 200 and "police.csv" not in own.text


def test_a_row_another_force_holds_is_quarantined(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    sign_in(client, POLICE)
    answer = upload(client, spoilt_extract(world, other_force=True))
    words = " ".join(soup_of(answer).get_text(" ").split())  # type: ignore[arg-type]
    assert "Accepted 6" in words and "Quarantined 3" in words
    with app.state.sessions() as session:
        row = session.scalars(select(QuarantinedRow).where(QuarantinedRow.line == 10)).one()
        assert row.problems[0]["field"] == "FORCE"
        assert "POL04 holds it" in row.problems[0]["problem"]


def test_an_upload_without_a_file_is_a_clear_error(client: PageCheckingClient) -> None:
    sign_in(client, POLICE)
    token = csrf_token_from(client.get("/ingest"))
    answer = client.post("/ingest", data={"csrf_token": token, "layout": ""})
    assert answer.status_code == 400 and "Select the file to upload" in answer.text
    wrong = client.post(
        "/ingest",
        data={"csrf_token": token, "layout": ""},
        files={"extract": ("notes.csv", b"A,B\n1,2\n", "text/csv")},
    )
    assert wrong.status_code == 400 and "There is a problem" in wrong.text


# --- the API --------------------------------------------------------------------------------


def api_key(app: FastAPI, org: str, role: str, scopes: list[str]) -> dict[str, str]:
    with app.state.sessions() as session:
        _, key = issue_key(
            session, actor=ADMIN, organisation_code=org, name="system", role=role, scopes=scopes
        )
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def test_an_agency_system_posts_a_file_and_reads_its_quarantine(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    headers = api_key(app, "CPS-LN", "cps_prosecutor", ["create:person", "read:quarantined_row"])
    cases = json.loads((world / "cps.json").read_text(encoding="utf-8"))
    for case in cases:
        case["cpsArea"] = "CPS-LN"
    cases[0]["defendants"][0]["dateOfBirth"] = "1990-02-31"
    body = json.dumps(cases).encode()
    json_headers = {**headers, "Content-Type": "application/json"}
    posted = client.post("/api/ingest/cps?name=cps.json", content=body, headers=json_headers)
    assert posted.status_code == 201, posted.text
    summary = posted.json()
    assert summary["name"] == "cps.json" and summary["layout"] == "cps-cases"
    assert summary["rejected"] >= 1 and summary["accepted"] > 0
    again = client.post("/api/ingest/cps", content=body, headers=json_headers)
    assert again.status_code == 200 and again.json()["alreadyReceived"] is True

    read = client.get(f"/api/ingest/files/{summary['id']}", headers=headers)
    assert read.status_code == 200 and read.json()["accepted"] == summary["accepted"]
    rows = client.get(f"/api/quarantine?file={summary['id']}", headers=headers).json()["rows"]
    assert len(rows) == summary["rejected"]
    assert any("1990-02-31" in r["raw"] for r in rows)
    assert all(p["fix"] for r in rows for p in r["problems"])

    # Another organisation's key: the file is not there for it.
    other = api_key(app, "POL01", "police_officer", ["create:person", "read:quarantined_row"])
    assert client.get(f"/api/ingest/files/{summary['id']}", headers=other).status_code == 404
    assert client.get(f"/api/quarantine?file={summary['id']}", headers=other).status_code == 404
    # A police key cannot send CPS files; a key without the scope cannot send at all.
    wrong_kind = client.post(
        "/api/ingest/cps", content=body, headers={**other, "Content-Type": "application/json"}
    )
    assert wrong_kind.status_code == 403 and "wrong_agency" in wrong_kind.text
    no_scope = api_key(app, "CPS-LN", "cps_prosecutor", ["read:person"])
    refused = client.post(
        "/api/ingest/cps", content=body, headers={**no_scope, "Content-Type": "application/json"}
    )
    assert refused.status_code == 403 and "create:person" in refused.text


def test_an_agency_system_posts_a_csv_file(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    headers = api_key(app, "POL01", "police_officer", ["create:person"])
    posted = client.post(
        "/api/ingest/police?name=police.csv",
        content=spoilt_extract(world),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["accepted"] == 6 and posted.json()["rejected"] == 2


def test_the_same_bytes_from_another_organisation_are_its_own_file(
    app: FastAPI, client: PageCheckingClient, world: Path
) -> None:
    """Files are kept per sender: another CPS area sending identical bytes neither learns of
    the first file nor resumes or writes into it."""
    cases = json.loads((world / "cps.json").read_text(encoding="utf-8"))
    for case in cases:
        case["cpsArea"] = "CPS-LN"
    body = json.dumps(cases).encode()
    first = api_key(app, "CPS-LN", "cps_prosecutor", ["create:person", "read:quarantined_row"])
    second = api_key(app, "CPS-NW", "cps_prosecutor", ["create:person", "read:quarantined_row"])
    posted = client.post(
        "/api/ingest/cps", content=body, headers={**first, "Content-Type": "application/json"}
    )
    assert posted.status_code == 201, posted.text
    theirs = client.post(
        "/api/ingest/cps", content=body, headers={**second, "Content-Type": "application/json"}
    )
    # A new file of the second area's own, not "already received" with the first's summary;
    # its rows name CPS-LN as holder, so the second area may not send them: all quarantined.
    assert theirs.status_code == 201, theirs.text
    summary = theirs.json()
    assert summary["id"] != posted.json()["id"] and summary["alreadyReceived"] is False
    assert summary["accepted"] == 0 and summary["rejected"] == summary["rows"] > 0
    assert client.get(f"/api/ingest/files/{summary['id']}", headers=first).status_code == 404
    first_rows = client.get(f"/api/quarantine?file={posted.json()['id']}", headers=first)
    assert len(first_rows.json()["rows"]) == posted.json()["rejected"]
