"""Resumable evidence uploads (tus 1.0.0) through the API, on SQLite and PostgreSQL.

Most cases go through the TestClient; the interrupted upload is done for real, against uvicorn
on a loopback port, with a raw socket that sends half a body and hangs up.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import select as socket_select
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from onestory.config import Settings
from onestory.evidence import upload_service
from onestory.evidence.blobs import store_for
from onestory.evidence.tables import CustodyEntry, EvidenceItem, EvidenceUpload
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount
from onestory.store.base import utcnow
from onestory.web.app import create_app

ADMIN = Actor("user:1", "administrator", None, None)
PATH = "/api/evidence/uploads"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
PASSWORD = "correct horse battery staple"
CASE = "61GD7528225"


def metadata(**changes: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "caseUrn": CASE,
        "exhibitReference": "JS/1",
        "description": "Download of the victim's phone",
        "seizedBy": "PC 4521 Jo Smith",
        "seizedAt": "2026-11-01T10:30:00+00:00",
        "seizedFrom": "12 High Street, Anytown",
        "device": "Samsung Galaxy S23, IMEI 356789104563210",
        "method": "Cellebrite UFED 7.60 logical extraction",
        "filename": "extraction.zip",
        "mediaType": "application/zip",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="e" * 48,
        notify_interval=0,
        webhook_interval=0,
    )


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    application = create_app(settings, engine=engine)
    with application.state.sessions() as session:
        session.add(Organisation(code="POL-01", name="Wessex Police", kind="police"))
        session.add(Organisation(code="CPS-01", name="CPS Wessex", kind="cps"))
        session.commit()
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def issue(app: FastAPI, org: str = "POL-01", role: str = "police_officer") -> dict[str, str]:
    """Headers for a new API client of ``org`` with ``create:evidence``."""
    with app.state.sessions() as session:
        _, key = issue_key(
            session,
            actor=ADMIN,
            organisation_code=org,
            name=f"Evidence bridge {os.urandom(2).hex()}",
            role=role,
            scopes=["create:evidence"],
        )
        session.commit()
    return {"Authorization": f"Bearer {key}", **TUS}


@pytest.fixture
def police(app: FastAPI) -> dict[str, str]:
    return issue(app)


def create(
    client: TestClient | httpx2.Client,
    headers: dict[str, str],
    length: int,
    meta: dict[str, str] | None = None,
) -> str:
    response = client.post(
        PATH,
        headers={
            **headers,
            "Upload-Length": str(length),
            "Upload-Metadata": upload_service.encode_metadata(meta or metadata()),
        },
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith(PATH + "/")
    return str(location)


def send(
    client: TestClient | httpx2.Client,
    headers: dict[str, str],
    location: str,
    offset: int,
    body: bytes,
) -> Any:
    return client.patch(
        location,
        headers={**headers, "Upload-Offset": str(offset), "Content-Type": OCTETS},
        content=body,
    )


def staged_files(settings: Settings) -> list[Path]:
    staging = settings.data_dir / "evidence" / "staging"
    return sorted(staging.glob("upload-*.part")) if staging.is_dir() else []


def count(app: FastAPI, table: type) -> int:
    with app.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


# --- the protocol, through the TestClient ---------------------------------------------------------


def test_options_describes_the_server(client: TestClient) -> None:
    response = client.options(PATH)
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-extension"] == "creation,termination,expiration"
    assert int(response.headers["tus-max-size"]) == upload_service.MAX_SIZE


def test_two_patches_make_an_item_with_its_custody(
    app: FastAPI, client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    data = os.urandom(300_000)
    location = create(client, police, len(data))
    head = client.head(location, headers=police)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"

    first = send(client, police, location, 0, data[:100_000])
    assert first.status_code == 204, first.text
    assert first.headers["upload-offset"] == "100000"
    assert "onestory-item" not in first.headers
    assert client.head(location, headers=police).headers["upload-offset"] == "100000"

    last = send(client, police, location, 100_000, data[100_000:])
    assert last.status_code == 204, last.text
    assert last.headers["upload-offset"] == str(len(data))
    item_path = last.headers["onestory-item"]
    item_id = item_path.rsplit("/", 1)[1]
    assert item_path == f"/api/evidence/items/{item_id}"

    sha256 = hashlib.sha256(data).hexdigest()
    with app.state.sessions() as session:
        item = session.get_one(EvidenceItem, item_id)
        assert (item.sha256, item.size_bytes) == (sha256, len(data))
        assert (item.case_urn, item.exhibit_reference, item.organisation) == (
            CASE,
            "JS/1",
            "POL-01",
        )
        assert item.device == "Samsung Galaxy S23, IMEI 356789104563210"
        assert item.media_type == "application/zip"
        actions = session.scalars(
            select(CustodyEntry.action).where(CustodyEntry.item_id == item_id)
        ).all()
        assert list(actions) == ["acquired", "uploaded"]
    store = store_for(settings.data_dir)
    assert store.path(sha256).read_bytes() == data
    assert staged_files(settings) == []

    state = client.get(location, headers=police).json()
    assert state["offset"] == state["length"] == len(data)
    assert state["item"] == item_path
    assert state["failedReason"] is None


def test_a_hash_mismatch_is_refused_and_nothing_is_stored(
    app: FastAPI, client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    data = os.urandom(50_000)
    claimed = hashlib.sha256(b"something else").hexdigest()
    location = create(client, police, len(data), metadata(sha256=claimed.upper()))
    response = send(client, police, location, 0, data)
    assert response.status_code == 422
    message = response.json()["error"]
    assert claimed in message and hashlib.sha256(data).hexdigest() in message
    assert "nothing was stored" in message
    assert count(app, EvidenceItem) == 0
    assert list(store_for(settings.data_dir).iter_hashes()) == []
    assert staged_files(settings) == []
    assert client.get(location, headers=police).json()["failedReason"] == message
    again = send(client, police, location, len(data), b"")
    assert again.status_code == 410
    assert client.head(location, headers=police).status_code == 410


def test_the_right_hash_is_accepted_and_recorded(
    app: FastAPI, client: TestClient, police: dict[str, str]
) -> None:
    data = os.urandom(20_000)
    sha256 = hashlib.sha256(data).hexdigest()
    location = create(client, police, len(data), metadata(sha256=sha256))
    assert send(client, police, location, 0, data).status_code == 204
    with app.state.sessions() as session:
        assert session.scalars(select(EvidenceItem.sha256)).one() == sha256


def test_a_wrong_offset_is_a_conflict_naming_both(
    client: TestClient, police: dict[str, str]
) -> None:
    location = create(client, police, 1000)
    assert send(client, police, location, 0, b"x" * 100).status_code == 204
    response = send(client, police, location, 50, b"y" * 10)
    assert response.status_code == 409
    assert "Upload-Offset is 50" in response.json()["error"]
    assert "has 100 bytes" in response.json()["error"]
    assert client.head(location, headers=police).headers["upload-offset"] == "100"


def test_a_patch_while_another_is_writing_is_locked(
    client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    location = create(client, police, 1000)
    [path] = staged_files(settings)
    with path.open("ab") as other_writer:  # another worker in the middle of a PATCH
        fcntl.flock(other_writer.fileno(), fcntl.LOCK_EX)
        response = send(client, police, location, 0, b"z" * 10)
    assert response.status_code == 423
    assert "receiving another PATCH" in response.json()["error"]
    assert send(client, police, location, 0, b"z" * 10).status_code == 204


def test_another_clients_upload_does_not_exist_for_them(
    app: FastAPI, client: TestClient, police: dict[str, str]
) -> None:
    location = create(client, police, 1000)
    other = issue(app)
    assert client.head(location, headers=other).status_code == 404
    assert client.get(location, headers=other).status_code == 404
    assert send(client, other, location, 0, b"a").status_code == 404
    assert client.delete(location, headers=other).status_code == 404
    assert client.head(location, headers=police).status_code == 200


def test_an_expired_upload_is_gone_with_its_bytes(
    app: FastAPI, client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    location = create(client, police, 1000)
    assert send(client, police, location, 0, b"q" * 10).status_code == 204
    with app.state.sessions() as session:
        upload = session.get_one(EvidenceUpload, location.rsplit("/", 1)[1])
        upload.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    response = send(client, police, location, 10, b"q" * 10)
    assert response.status_code == 410
    assert "expired" in response.json()["error"]
    assert staged_files(settings) == []
    assert client.head(location, headers=police).status_code == 410


def test_the_sweep_forgets_expired_uploads(
    app: FastAPI, client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    old = create(client, police, 1000)
    fresh = create(client, police, 1000, metadata(exhibitReference="JS/2"))
    with app.state.sessions() as session:
        gone = upload_service.expire_uploads(
            session, store_for(settings.data_dir), utcnow() + upload_service.EXPIRY / 2
        )
        assert gone == 0
        gone = upload_service.expire_uploads(
            session, store_for(settings.data_dir), utcnow() + upload_service.EXPIRY * 2
        )
        session.commit()
    assert gone == 2
    assert staged_files(settings) == []
    assert client.head(old, headers=police).status_code == 404
    assert client.head(fresh, headers=police).status_code == 404


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"seizedAt": "2026-11-01T10:30:00"}, "seizedAt: Input should have timezone info"),
        ({"caseUrn": "NOT-A-URN"}, "caseUrn: Value error, case URN"),
        ({"description": None}, "description: Field required"),
        ({"sha256": "abc"}, "sha256: 'abc' is not a SHA-256"),
        ({"colour": "red"}, "colour: not a metadata key"),
        ({"retentionSchedule": "forever"}, "retentionSchedule:"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(
    app: FastAPI,
    client: TestClient,
    police: dict[str, str],
    changes: dict[str, str | None],
    named: str,
) -> None:
    response = client.post(
        PATH,
        headers={
            **police,
            "Upload-Length": "10",
            "Upload-Metadata": upload_service.encode_metadata(metadata(**changes)),
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert any(field.startswith(named) for field in body["fields"]), body
    assert named in body["error"]
    assert count(app, EvidenceUpload) == 0


def test_malformed_headers_are_refused(client: TestClient, police: dict[str, str]) -> None:
    bad_base64 = client.post(
        PATH, headers={**police, "Upload-Length": "10", "Upload-Metadata": "caseUrn ***"}
    )
    assert bad_base64.status_code == 400
    assert "caseUrn" in bad_base64.json()["error"]
    no_length = client.post(
        PATH,
        headers={**police, "Upload-Metadata": upload_service.encode_metadata(metadata())},
    )
    assert no_length.status_code == 400
    assert "Upload-Length is missing" in no_length.json()["error"]
    huge = client.post(
        PATH,
        headers={
            **police,
            "Upload-Length": str(upload_service.MAX_SIZE + 1),
            "Upload-Metadata": upload_service.encode_metadata(metadata()),
        },
    )
    assert huge.status_code == 413


def test_an_exhibit_reference_in_use_is_refused_before_any_bytes(
    client: TestClient, police: dict[str, str]
) -> None:
    location = create(client, police, 5)
    assert send(client, police, location, 0, b"12345").status_code == 204
    response = client.post(
        PATH,
        headers={
            **police,
            "Upload-Length": "5",
            "Upload-Metadata": upload_service.encode_metadata(
                metadata(caseUrn="61 GD 7528225")  # the same URN, written with spaces
            ),
        },
    )
    assert response.status_code == 409
    assert "already has an exhibit 'JS/1'" in response.json()["error"]


def test_a_body_longer_than_the_upload_keeps_nothing(
    client: TestClient, police: dict[str, str]
) -> None:
    location = create(client, police, 100)
    assert send(client, police, location, 0, b"a" * 40).status_code == 204
    declared = send(client, police, location, 40, b"b" * 61)
    assert declared.status_code == 413
    assert "longer than the 60 bytes left" in declared.json()["error"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the excess shows only as it comes
        yield b"c" * 30
        yield b"c" * 31

    streamed = client.patch(
        location,
        headers={**police, "Upload-Offset": "40", "Content-Type": OCTETS},
        content=chunked(),
    )
    assert streamed.status_code == 413
    assert client.head(location, headers=police).headers["upload-offset"] == "40"
    done = send(client, police, location, 40, b"d" * 60)
    assert done.status_code == 204 and "onestory-item" in done.headers


def test_tus_resumable_is_required(client: TestClient, police: dict[str, str]) -> None:
    without = {k: v for k, v in police.items() if k != "Tus-Resumable"}
    response = client.post(PATH, headers={**without, "Upload-Length": "10"})
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert "Tus-Resumable header is missing" in response.json()["error"]
    old = client.head(f"{PATH}/whatever", headers={**without, "Tus-Resumable": "0.2.2"})
    assert old.status_code == 412


def test_a_patch_must_say_it_is_offset_octets(client: TestClient, police: dict[str, str]) -> None:
    location = create(client, police, 10)
    response = client.patch(
        location,
        headers={**police, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
        content=b"x",
    )
    assert response.status_code == 415
    assert OCTETS in response.json()["error"]


def test_callers_without_the_right_are_refused(app: FastAPI, client: TestClient) -> None:
    # (A POST without a key or the session's CSRF token stops at the CSRF check: 403.)
    nobody = client.head(f"{PATH}/some-upload-id-0000000", headers=TUS)
    assert nobody.status_code == 401
    assert nobody.headers["www-authenticate"] == 'Bearer realm="OneStory"'
    assert nobody.headers["tus-resumable"] == "1.0.0"
    prosecutor = issue(app, org="CPS-01", role="cps_prosecutor")
    before = count(app, LedgerEntry)
    response = client.post(
        PATH,
        headers={
            **prosecutor,
            "Upload-Length": "10",
            "Upload-Metadata": upload_service.encode_metadata(metadata()),
        },
    )
    assert response.status_code == 403
    assert "no agreement lets a cps_prosecutor create evidence" in response.json()["error"]
    assert count(app, LedgerEntry) == before + 1  # the refusal is in the ledger
    assert count(app, EvidenceUpload) == 0


def test_terminate_deletes_the_bytes_and_the_upload(
    app: FastAPI, client: TestClient, police: dict[str, str], settings: Settings
) -> None:
    location = create(client, police, 100)
    assert send(client, police, location, 0, b"t" * 30).status_code == 204
    assert client.delete(location, headers=police).status_code == 204
    assert staged_files(settings) == []
    assert count(app, EvidenceUpload) == 0
    assert client.head(location, headers=police).status_code == 404


def test_police_staff_upload_from_the_browser_session(app: FastAPI, client: TestClient) -> None:
    with app.state.sessions() as session:
        org = session.scalars(select(Organisation).where(Organisation.code == "POL-01")).one()
        session.add(
            UserAccount(
                email="jo.smith@police.example",
                display_name="Jo Smith",
                role="police_officer",
                organisation=org,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()
    token = _csrf(client.get("/sign-in").text)
    signed_in = client.post(
        "/sign-in",
        data={"email": "jo.smith@police.example", "password": PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {**TUS, "X-CSRF-Token": _csrf(signed_in.text)}
    no_token = client.post(PATH, headers={**TUS, "Upload-Length": "3"})
    assert no_token.status_code == 403
    location = create(client, headers, 3)
    done = send(client, headers, location, 0, b"abc")
    assert done.status_code == 204, done.text
    with app.state.sessions() as session:
        item = session.scalars(select(EvidenceItem)).one()
        assert item.created_by.startswith("user:")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no csrf_token field on the page"
    return found.group(1)


# --- for real: uvicorn on a loopback port, and a connection dropped half way ----------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def open_patch(
    base: str, headers: dict[str, str], location: str, offset: int, total: int
) -> socket.socket:
    """A PATCH announcing ``total`` body bytes, headers sent, body still to come."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    lines = [f"PATCH {location} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Upload-Offset: {offset}", f"Content-Type: {OCTETS}", f"Content-Length: {total}"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    return sock


def hold_upload(
    http: httpx2.Client,
    server: str,
    headers: dict[str, str],
    location: str,
    offset: int,
    data: bytes,
) -> tuple[socket.socket, httpx2.Response]:
    """Start a PATCH that keeps its connection open, and return it with a probe it locked out.

    A probe can win the lock first, in which case the holder is the one refused (its socket
    gets the answer): then the holder is opened again. Probes are spaced out, since each is a
    request that writes (the key's last use).
    """
    deadline = time.monotonic() + 60
    while True:
        holder = open_patch(server, headers, location, offset, len(data) - offset)
        holder.sendall(data[offset : offset + 1000])
        while True:
            probe = send(http, headers, location, offset, b"")
            if probe.status_code == 423:
                return holder, probe
            assert probe.status_code == 204 and time.monotonic() < deadline, probe.text
            answered, _, _ = socket_select.select([holder], [], [], 0.25)
            if answered:  # the holder was refused while a probe held the lock: start again
                holder.close()
                break


def settled_offset(http: httpx2.Client, headers: dict[str, str], location: str) -> int:
    """The offset once no PATCH holds the upload: an empty PATCH at HEAD's offset is accepted
    (204) only when the upload is free and the offset is current."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        offset = int(http.head(location, headers=headers).headers["upload-offset"])
        if send(http, headers, location, offset, b"").status_code == 204:
            return offset
        time.sleep(0.2)
    raise AssertionError(f"{location}: the upload stayed busy")


def patch_when_free(
    http: httpx2.Client, headers: dict[str, str], location: str, offset: int, body: bytes
) -> Any:
    """PATCH, waiting while the dropped request's handler still holds the upload (423)."""
    deadline = time.monotonic() + 20
    while True:
        response = send(http, headers, location, offset, body)
        if response.status_code != 423 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_an_interrupted_upload_resumes_to_the_same_hash(
    app: FastAPI, server: str, police: dict[str, str], settings: Settings
) -> None:
    data = os.urandom(9 * 1024 * 1024 + 12_345)  # more than two of the server's batches
    half = len(data) // 2
    with httpx2.Client(base_url=server, timeout=30) as http:
        whole = create(http, police, len(data), metadata(exhibitReference="JS/1"))
        done = send(http, police, whole, 0, data)
        assert done.status_code == 204, done.text
        whole_item = done.headers["onestory-item"].rsplit("/", 1)[1]

        resumed = create(http, police, len(data), metadata(exhibitReference="JS/2"))
        sock = open_patch(server, police, resumed, 0, len(data))
        sock.sendall(data[:half])
        sock.close()  # the connection drops half way through the body
        # What reached the server is kept; bytes still in flight when the connection dropped may
        # not be (the server sees the disconnect first), which is why a tus client asks HEAD.
        offset = settled_offset(http, police, resumed)
        assert 0 < offset <= half

        # A second PATCH on a live connection holds the upload: a third is locked out. (Its
        # bytes reach the file in batches, so an empty PATCH is the probe: harmless if free.)
        holder, probe = hold_upload(http, server, police, resumed, offset, data)
        assert "receiving another PATCH" in probe.json()["error"]
        holder.close()
        resume_at = settled_offset(http, police, resumed)
        assert offset <= resume_at <= offset + 1000

        finished = patch_when_free(http, police, resumed, resume_at, data[resume_at:])
        assert finished.status_code == 204, finished.text
        resumed_item = finished.headers["onestory-item"].rsplit("/", 1)[1]

    expected = hashlib.sha256(data).hexdigest()
    with app.state.sessions() as session:
        first = session.get_one(EvidenceItem, whole_item)
        second = session.get_one(EvidenceItem, resumed_item)
        assert first.sha256 == second.sha256 == expected
        assert second.size_bytes == len(data)
    store = store_for(settings.data_dir)
    assert list(store.iter_hashes()) == [expected]  # one copy of the bytes for both exhibits
    assert hashlib.sha256(store.path(expected).read_bytes()).hexdigest() == expected
    assert staged_files(settings) == []


def test_receiving_inline_gives_the_same_item(
    app: FastAPI, client: TestClient, police: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strategy the benchmark compares with: each chunk hashed and written on the loop."""
    monkeypatch.setattr(upload_service, "OFFLOAD", False)
    data = os.urandom(3 * 1024 * 1024 + 7)
    location = create(client, police, len(data))
    assert send(client, police, location, 0, data[:1000]).status_code == 204

    def chunked() -> Iterator[bytes]:
        yield data[1000:2000]
        yield data[2000:] + b"!"  # one byte too many: nothing of this PATCH is kept

    too_long = client.patch(
        location,
        headers={**police, "Upload-Offset": "1000", "Content-Type": OCTETS},
        content=chunked(),
    )
    assert too_long.status_code == 413
    assert client.head(location, headers=police).headers["upload-offset"] == "1000"
    done = send(client, police, location, 1000, data[1000:])
    assert done.status_code == 204, done.text
    with app.state.sessions() as session:
        assert session.scalars(select(EvidenceItem.sha256)).one() == (
            hashlib.sha256(data).hexdigest()
        )
