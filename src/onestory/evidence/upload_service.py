"""Resumable uploads of evidence (tus 1.0.0): creating, receiving, finishing and expiring them.

An upload is a row (``EvidenceUpload``: the item's details, the length promised, who made it)
and a staging file ``upload-<id>.part`` in the blob store's staging folder. The staging file's
size *is* the upload's offset, so a crash between writing bytes and recording them cannot make
the two disagree, and a connection dropped half way keeps everything that arrived: the client
asks for the offset and sends the rest.

The SHA-256 is computed while the bytes arrive. The running hash of each upload lives in this
process (``_HASHES``) with the offset it covers; when it is missing or behind (another worker
took the previous part, or the server restarted), the staging file is re-read up to the offset
first. When the last byte arrives the file is handed to ``service.add_item`` as a finished
``Staged`` file, which checks the sender's hash and adopts it into the content-addressed store.

Receiving is the hot path (the benchmark uploads 4 GiB). By default (``OFFLOAD``) the event
loop gathers the body into batches of ``BATCH`` bytes and a worker thread hashes and writes each
one (hashlib and file writes release the GIL) while the loop receives the next: one batch in
flight, so memory stays at about two batches per upload whatever the file size, and concurrent
uploads hash on several cores rather than all on the loop's. Measured against hashing and
writing each received chunk on the loop (``bench/results/evidence_intake.md``, 2 CPUs shared
with the client): 1 MiB batches gave the best 4 GiB median (212 MB/s against 199 inline and
159 with 4 MiB batches), inline the best 1 GiB median and the least CPU; within the noise of
a shared machine they tie, and the loop stays free with the batches.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import hashlib
import re
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from onestory.evidence import retention
from onestory.evidence.blobs import BLOCK, BlobError, BlobStore, Staged, check_sha256
from onestory.evidence.service import (
    HOLDER_PURPOSE,
    EvidenceError,
    HashMismatch,
    ItemDetails,
    Refused,
    add_item,
)
from onestory.evidence.tables import EvidenceItem, EvidenceUpload
from onestory.sharing.authorize import Actor, Decision, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
# Evidence is not an agency file: a phone download or a day of CCTV runs to tens of GiB, so the
# limit is this module's own rather than ``settings.max_upload_bytes`` (4 GiB, for extracts).
MAX_SIZE = 64 * 1024**3
EXPIRY = timedelta(days=7)
# Bytes handed to the worker thread at once: 1 MiB measured faster than 4 MiB, and its peak
# memory is 4 MB above receiving inline against 18 MB for 4 MiB.
BATCH = 1024 * 1024
# False: hash and write each received chunk (up to 256 KiB) on the event loop thread instead
# (bench/bench_evidence_intake.py flips this and BATCH in the server it starts).
OFFLOAD = True

_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")

# tus metadata key -> ItemDetails field; "sha256" is the sender's hash, kept on the upload row.
METADATA_FIELDS = {
    "caseUrn": "case_urn",
    "exhibitReference": "exhibit_reference",
    "description": "description",
    "seizedBy": "seized_by",
    "seizedAt": "seized_at",
    "seizedFrom": "seized_from",
    "device": "device",
    "method": "method",
    "filename": "filename",
    "mediaType": "media_type",
    "retentionSchedule": "retention_schedule",
}
SHA256_KEY = "sha256"
_KEY_OF_FIELD = {v: k for k, v in METADATA_FIELDS.items()}


class UploadError(Exception):
    """A request the upload cannot take; ``status`` is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str, *, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields or []


class CreationRefused(UploadError):
    """The sharing rules do not let the actor add evidence (the decision is ledgered)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(403, f"you may not add evidence: {decision.reason}")


# --- Upload-Metadata ------------------------------------------------------------------------------


def parse_metadata(header: str | None) -> dict[str, str]:
    """The tus ``Upload-Metadata`` header as a dict: ``key base64value`` pairs, comma-separated."""
    result: dict[str, str] = {}
    if not header or not header.strip():
        return result
    for number, pair in enumerate(header.split(","), start=1):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not _METADATA_KEY.match(key):
            raise UploadError(
                400,
                f"Upload-Metadata: pair {number} ({pair.strip()[:40]!r}) is not 'key base64value'",
            )
        if key in result:
            raise UploadError(400, f"Upload-Metadata: the key {key!r} is given twice")
        try:
            raw = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            result[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UploadError(
                400, f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text"
            ) from None
    return result


def encode_metadata(values: dict[str, str]) -> str:
    """The ``Upload-Metadata`` header for ``values`` (for clients, tests and the benchmark)."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in values.items()
    )


def details_from_metadata(metadata: dict[str, str]) -> tuple[ItemDetails, str | None]:
    """The item's details and the sender's SHA-256, or ``UploadError`` (400) naming each bad
    field by its metadata key (``seizedAt: Input should have timezone info``)."""
    problems = [
        f"{key}: not a metadata key this upload takes (known: "
        f"{', '.join([*METADATA_FIELDS, SHA256_KEY])})"
        for key in metadata
        if key not in METADATA_FIELDS and key != SHA256_KEY
    ]
    expected: str | None = None
    given_hash = metadata.get(SHA256_KEY, "").strip().lower()
    if given_hash:
        try:
            expected = check_sha256(given_hash)
        except BlobError as exc:
            problems.append(f"{SHA256_KEY}: {exc}")
    values: dict[str, Any] = {
        name: metadata[key] for key, name in METADATA_FIELDS.items() if metadata.get(key)
    }
    if "retention_schedule" in values:
        # ItemDetails' own check raises RetentionError, which pydantic does not collect.
        try:
            retention.schedule(values["retention_schedule"])
        except retention.RetentionError as exc:
            problems.append(f"retentionSchedule: {exc}")
            del values["retention_schedule"]
    details: ItemDetails | None = None
    try:
        details = ItemDetails(**values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "metadata"
            problems.append(f"{_KEY_OF_FIELD.get(name, name)}: {error['msg']}")
    if problems or details is None:
        raise UploadError(
            400, "the upload's metadata is not usable: " + "; ".join(problems), fields=problems
        )
    return details, expected


# --- creating and finding uploads -----------------------------------------------------------------


def staging_path(store: BlobStore, upload_id: str) -> Path:
    """Where an upload's bytes so far are kept."""
    return store.staging_dir() / f"upload-{upload_id}.part"


def current_offset(store: BlobStore, upload_id: str) -> int:
    """How many bytes of the upload have arrived: the staging file's size."""
    try:
        return staging_path(store, upload_id).stat().st_size
    except FileNotFoundError:
        return 0


def parse_length(value: str | None) -> int:
    """The ``Upload-Length`` header, checked."""
    if value is None:
        raise UploadError(400, "Upload-Length is missing: say how many bytes the file has")
    if not value.isdigit():
        raise UploadError(400, f"Upload-Length {value!r} is not a whole number of bytes")
    length = int(value)
    if length == 0:
        raise UploadError(400, "Upload-Length is 0: an empty file cannot be evidence")
    if length > MAX_SIZE:
        raise UploadError(
            413, f"Upload-Length {length:,} is more than the {MAX_SIZE:,} bytes an item may have"
        )
    return length


def create_upload(
    session: Session,
    *,
    policies: PolicySet,
    store: BlobStore,
    actor: Actor,
    length: int,
    metadata: dict[str, str],
    now: datetime | None = None,
) -> EvidenceUpload:
    """Check the details and the actor's right to add evidence, then open an upload.

    Everything that can be refused is refused here, before a byte is sent: bad metadata (400),
    an exhibit reference the case already has (409), an actor the rules do not allow (403, the
    decision ledgered: the caller commits either way). The caller commits.
    """
    details, expected = details_from_metadata(metadata)
    clash = session.scalar(
        select(EvidenceItem.id).where(
            EvidenceItem.case_urn == str(details.case_urn),
            EvidenceItem.exhibit_reference == details.exhibit_reference,
        )
    )
    if clash is not None:
        raise UploadError(
            409,
            f"case {details.case_urn} already has an exhibit {details.exhibit_reference!r}; "
            "give this one its own exhibit reference",
        )
    upload_id = secrets.token_urlsafe(24)
    decision = authorize(
        session,
        actor=actor,
        action=Action.CREATE,
        record=RecordRef(RecordKind.EVIDENCE, f"upload:{upload_id}"),
        purpose=HOLDER_PURPOSE,
        policies=policies,
    )
    if not decision.allowed or actor.organisation_code is None:
        raise CreationRefused(decision)
    moment = now or utcnow()
    upload = EvidenceUpload(
        id=upload_id,
        length=length,
        details=details.model_dump(mode="json"),
        expected_sha256=expected,
        created_by=actor.user_or_client_id,
        organisation=actor.organisation_code,
        created_at=moment,
        expires_at=moment + EXPIRY,
    )
    session.add(upload)
    session.flush()
    staging_path(store, upload_id).touch()
    return upload


def find_upload(
    session: Session, store: BlobStore, upload_id: str, actor: Actor, now: datetime | None = None
) -> EvidenceUpload:
    """The actor's upload; 404 if there is none (or it is someone else's), 410 once expired.

    An expired upload's staging file is deleted here; the sweep (``expire_uploads``) forgets
    the row later.
    """
    upload = session.get(EvidenceUpload, upload_id) if _UPLOAD_ID.match(upload_id) else None
    if upload is None or upload.created_by != actor.user_or_client_id:
        raise UploadError(404, f"there is no upload {upload_id} of yours")
    if upload.item_id is None and upload.expires_at <= (now or utcnow()):
        discard(store, upload_id)
        raise UploadError(
            410,
            f"upload {upload_id} expired at {upload.expires_at:%Y-%m-%d %H:%M} UTC; start again",
        )
    return upload


def discard(store: BlobStore, upload_id: str) -> None:
    """Delete an upload's staging file and forget its running hash."""
    staging_path(store, upload_id).unlink(missing_ok=True)
    with _HASHES_LOCK:
        _HASHES.pop(upload_id, None)


def terminate(session: Session, store: BlobStore, upload: EvidenceUpload) -> None:
    """tus termination: the bytes and the row go (an item already made from it stays)."""
    with locked(store, upload.id):
        discard(store, upload.id)
        session.delete(upload)
        session.flush()


def expire_uploads(session: Session, store: BlobStore, now: datetime | None = None) -> int:
    """Forget every upload past its expiry: its staging file and its row. How many; the caller
    commits. Uploads being written at this moment are left for the next sweep."""
    moment = now or utcnow()
    gone = 0
    for upload in session.scalars(
        select(EvidenceUpload).where(EvidenceUpload.expires_at <= moment)
    ).all():
        try:
            with locked(store, upload.id):
                discard(store, upload.id)
        except UploadError:
            continue
        session.delete(upload)
        gone += 1
    session.flush()
    return gone


# --- receiving bytes ------------------------------------------------------------------------------


@dataclass
class _RunningHash:
    offset: int
    hasher: Any  # hashlib's sha256 object (its type is private)


_HASHES: dict[str, _RunningHash] = {}
_HASHES_LOCK = threading.Lock()


@contextmanager
def locked(store: BlobStore, upload_id: str) -> Iterator[BinaryIO]:
    """The staging file opened for appending, locked against every other writer (423 if busy).

    An advisory ``flock`` works across the server's worker processes as well as its threads.
    """
    path = staging_path(store, upload_id)
    handle = path.open("ab", buffering=0)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadError(
                423, f"upload {upload_id} is receiving another PATCH; wait for it to end"
            ) from None
        yield handle
    finally:
        handle.close()


def running_hash(path: Path, upload_id: str, offset: int) -> _RunningHash:
    """The hash of the first ``offset`` bytes: kept from the last PATCH in this process, or
    re-read from the staging file when there is none or it covers another offset."""
    with _HASHES_LOCK:
        state = _HASHES.get(upload_id)
    if state is not None and state.offset == offset:
        return state
    hasher = hashlib.sha256()
    done = 0
    with path.open("rb") as source:
        while done < offset and (block := source.read(min(BLOCK, offset - done))):
            hasher.update(block)
            done += len(block)
    if done != offset:
        raise UploadError(500, f"upload {upload_id}: the staging file is shorter than {offset}")
    state = _RunningHash(offset, hasher)
    with _HASHES_LOCK:
        _HASHES[upload_id] = state
    return state


@dataclass
class Sink:
    """Where a PATCH's bytes go: the locked staging file and the running hash."""

    upload_id: str
    handle: BinaryIO
    state: _RunningHash
    limit: int  # the upload's length: nothing is written beyond it
    start: int = field(init=False)
    start_hasher: Any = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.state.offset
        self.start_hasher = self.state.hasher.copy()

    def write(self, data: bytes | bytearray) -> None:
        """Append and hash one batch (on a worker thread, or inline)."""
        view = memoryview(data)
        while view:
            written = self.handle.write(view)
            view = view[written or 0 :]
        self.state.hasher.update(data)
        self.state.offset += len(data)

    def undo(self) -> None:
        """Take back everything this PATCH wrote (a body longer than the upload)."""
        self.handle.truncate(self.start)
        self.state.offset = self.start
        self.state.hasher = self.start_hasher


class TooLong(Exception):
    """The body went past the upload's length."""


async def receive(body: AsyncIterator[bytes], sink: Sink) -> None:
    """Copy a request body into the sink, batching it off the event loop (``OFFLOAD``).

    Stops (re-raising) if the client goes away, after writing everything that arrived; raises
    ``TooLong`` if the body would take the upload past its length, after writing nothing past it.
    """
    room = sink.limit - sink.state.offset
    if not OFFLOAD:
        async for chunk in body:
            if len(chunk) > room:
                raise TooLong
            room -= len(chunk)
            sink.write(chunk)
        return
    loop = asyncio.get_running_loop()
    in_flight: asyncio.Future[None] | None = None
    batch = bytearray()
    try:
        async for chunk in body:
            if len(chunk) > room - len(batch):
                raise TooLong
            batch += chunk
            if len(batch) >= BATCH:
                if in_flight is not None:
                    await in_flight
                room -= len(batch)
                in_flight = loop.run_in_executor(None, sink.write, batch)
                batch = bytearray()
    finally:
        # Whatever happened (the end, a disconnect, too long), what arrived before it is kept.
        if in_flight is not None:
            await in_flight
        if batch:
            await loop.run_in_executor(None, sink.write, batch)


def forget(upload_id: str) -> None:
    """Drop the running hash (after a failed write it may not match the file any more)."""
    with _HASHES_LOCK:
        _HASHES.pop(upload_id, None)


# --- finishing ------------------------------------------------------------------------------------


def finish(
    session: Session,
    *,
    policies: PolicySet,
    store: BlobStore,
    actor: Actor,
    upload: EvidenceUpload,
    sha256: str,
) -> EvidenceItem:
    """Make the item from a complete upload, and commit.

    On any refusal (the sender's hash does not match, the exhibit reference was taken since,
    the rules say no) nothing is stored: the staging file is deleted, the upload keeps the
    reason in ``failed_reason``, and ``UploadError`` carries it (422, 409 or 403).
    """
    staged = Staged(staging_path(store, upload.id), sha256, upload.length)
    upload_id = upload.id
    forget(upload_id)
    try:
        item = add_item(
            session,
            policies=policies,
            store=store,
            actor=actor,
            staged=staged,
            details=ItemDetails(**upload.details),
            expected_sha256=upload.expected_sha256,
            via="tus",
        )
        upload.item_id = item.id
        session.commit()
        return item
    except HashMismatch as exc:
        failure = UploadError(422, str(exc))
    except Refused as exc:
        failure = UploadError(403, f"you may not add evidence: {exc}")
    except EvidenceError as exc:
        failure = UploadError(409, str(exc))
    _keep_what_can_be_kept(session)
    staged.path.unlink(missing_ok=True)
    failed = session.get(EvidenceUpload, upload_id)
    if failed is not None:
        failed.failed_reason = str(failure)
        session.commit()
    raise failure


def _keep_what_can_be_kept(session: Session) -> None:
    # The ledgered decision of a refusal is kept; a transaction a failed insert spoilt is not.
    try:
        session.commit()
    except SQLAlchemyError:
        session.rollback()
