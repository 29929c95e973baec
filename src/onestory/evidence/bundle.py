"""Disclosure bundles: one ZIP archive that proves itself to anyone holding the log's public key.

A bundle holds a case's files, a manifest (``manifest.json``), the custody record of every item
with an inclusion proof for each entry (``custody.json``), a signed checkpoint of the ledger that
covers them all (``checkpoint.txt``) and a README. ``verify_bundle`` checks it offline.

Making one is one transaction: an ``exported`` custody entry per item and one
``evidence.bundle.exported`` entry committing to the manifest's SHA-256 are appended, a checkpoint
is cut so it covers them, the proofs are read at that checkpoint's size, and the archive is
written to a temporary file under ``DATA_DIR/evidence/bundles`` (never in memory), each file
streamed from the blob store and hashed on the way. Only then is the transaction committed; if
anything fails it is rolled back and the partial archive deleted, and a file that no longer
matches its hash is recorded as an integrity failure in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from onestory.evidence import custody, service
from onestory.evidence.blobs import BlobStore
from onestory.evidence.service import EvidenceError, Refused
from onestory.evidence.tables import CustodyAction, EvidenceItem, ItemStatus
from onestory.evidence.verify_bundle import (
    BUNDLE_ENTRY_TYPE,
    CHECKPOINT,
    CUSTODY,
    FORMAT,
    MANIFEST,
    README,
    VERSION,
)
from onestory.ledger import audit, log
from onestory.ledger.checkpoints import cut_checkpoint
from onestory.ledger.entries import Subject
from onestory.ledger.note import NoteSigner
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow

BUNDLES = "bundles"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_LIMIT = 80


class IntegrityRefusal(EvidenceError):
    """Items of the case failed an integrity check: no bundle can vouch for them."""


@dataclass(frozen=True)
class Scope:
    """What an actor may bundle of a case, and for what purpose."""

    items: list[EvidenceItem]
    purpose: str


@dataclass(frozen=True)
class Bundle:
    """A finished bundle: where it is, what it commits to, and how big it is."""

    path: Path
    case_urn: str
    manifest_sha256: str
    items: int
    files: int
    content_bytes: int
    checkpoint_size: int
    verifier_key: str


def bundles_dir(data_dir: Path) -> Path:
    """Where bundles are written before they are sent or moved (same disk as the blobs)."""
    folder = data_dir / "evidence" / BUNDLES
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_name(text: str, fallback: str) -> str:
    """A file-name component with no path separators, no '..', no leading dot."""
    cleaned = _UNSAFE.sub("_", text).strip("._")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)[:_NAME_LIMIT].strip("._")
    return cleaned or fallback


def bundle_file_name(case_urn: str) -> str:
    """The name a bundle is offered under: the case and the time it was made."""
    return f"evidence-{safe_name(case_urn, 'case')}-{utcnow():%Y%m%dT%H%M%SZ}.zip"


# --- who may bundle what --------------------------------------------------------------------------


def scope_for(session: Session, *, policies: PolicySet, actor: Actor, case_urn: str) -> Scope:
    """The items of ``case_urn`` the actor may export, decided (and ledgered) item by item.

    Staff of the holding organisation may export its items when the rules let their role export
    evidence for prosecution; anyone else only items a live grant covers, for the grant's
    purpose. With nothing allowed, every item of the case records an ``access_refused`` entry
    and ``Refused`` is raised (the caller commits, then answers 404).
    """
    log.lock_for_append(session)  # decisions and refusals are written: take the lock first
    items = service.items_of_case(session, case_urn)
    allowed: list[EvidenceItem] = []
    purposes: set[str] = set()
    reasons: dict[str, tuple[str, str]] = {}
    for item in items:
        if service.is_holder(actor, item):
            purpose: str = service.DISCLOSURE_PURPOSE
        else:
            grant = service.live_grant(session, actor, item)
            if grant is None:
                reasons[item.id] = (service.DISCLOSURE_PURPOSE, "no live grant covers this item")
                continue
            purpose = grant.purpose
        decision = authorize(
            session,
            actor=actor,
            action=Action.EXPORT,
            record=RecordRef(RecordKind.EVIDENCE, item.id),
            purpose=purpose,
            policies=policies,
        )
        if decision.allowed:
            allowed.append(item)
            purposes.add(purpose)
        else:
            reasons[item.id] = (purpose, decision.reason)
    if not allowed:
        for item in items:
            purpose, reason = reasons[item.id]
            custody.record(
                session,
                item,
                CustodyAction.ACCESS_REFUSED,
                actor=actor.user_or_client_id,
                actor_org=actor.organisation_code,
                purpose=purpose,
                details={"attempted": str(CustodyAction.EXPORTED), "reason": reason},
            )
        raise Refused(f"no evidence of case {case_urn} may be exported by this user")
    purpose = purposes.pop() if len(purposes) == 1 else service.DISCLOSURE_PURPOSE
    return Scope(allowed, purpose)


# --- making the bundle ----------------------------------------------------------------------------


def make_bundle(
    session: Session,
    *,
    sessions: sessionmaker[Session],
    store: BlobStore,
    signer: NoteSigner,
    items: list[EvidenceItem],
    case_urn: str,
    actor: str,
    actor_org: str | None,
    purpose: str,
    work_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> Bundle:
    """Write the bundle of ``items`` and commit its custody entries; see the module docstring.

    The archive is left at ``Bundle.path`` (under ``work_dir``) for the caller to send or move.
    Raises ``IntegrityRefusal`` (nothing written) if an item failed an integrity check, and
    ``IntegrityFailure`` (after recording it) if a file no longer matches its hash now.
    """
    if not items:
        raise EvidenceError(f"case {case_urn} has no evidence to bundle")
    failed = [item.exhibit_reference for item in items if item.integrity_failed_at is not None]
    if failed:
        raise IntegrityRefusal(
            f"case {case_urn}: exhibit{'s' if len(failed) > 1 else ''} {', '.join(failed)} "
            "failed an integrity check (the stored content no longer matches the hash taken "
            "at acquisition), so no bundle can vouch for them; resolve that first"
        )
    log.lock_for_append(session)  # on SQLite, before anything else writes in between
    path = work_dir / f"{secrets.token_hex(16)}.zip.part"
    failures: list[tuple[str, str]] = []
    try:
        manifest, paths = _manifest(
            items, case_urn=case_urn, created_by=actor, log_name=signer.name
        )
        manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        bundle_seq = _ledger(
            session,
            items,
            case_urn,
            manifest_sha256,
            actor=actor,
            actor_org=actor_org,
            purpose=purpose,
        )
        checkpoint = cut_checkpoint(session, signer)
        custody_doc = _custody_document(session, items, bundle_seq, checkpoint.size)
        content = _write_zip(
            path,
            store,
            items,
            paths,
            manifest_bytes=manifest_bytes,
            custody_doc=custody_doc,
            note=checkpoint.note,
            readme=readme_text(case_urn, signer.verifier_key()),
            on_failure=lambda item_id, found: failures.append((item_id, found)),
            progress=progress,
        )
        session.commit()
    except BaseException:
        session.rollback()
        path.unlink(missing_ok=True)
        for item_id, found in failures:
            service.record_integrity_failure(
                sessions, item_id, found, detected_by=f"{actor} (bundling)"
            )
        raise
    final = path.with_name(path.name.removesuffix(".part"))
    path.replace(final)
    return Bundle(
        path=final,
        case_urn=case_urn,
        manifest_sha256=manifest_sha256,
        items=len(items),
        files=sum(1 for p in paths.values() if p is not None),
        content_bytes=content,
        checkpoint_size=checkpoint.size,
        verifier_key=signer.verifier_key(),
    )


def _manifest(
    items: list[EvidenceItem], *, case_urn: str, created_by: str, log_name: str
) -> tuple[dict[str, Any], dict[str, str | None]]:
    paths: dict[str, str | None] = {}
    entries = []
    for number, item in enumerate(items, start=1):
        where = None
        if item.status != ItemStatus.DISPOSED:
            folder = f"{number:04d}-{safe_name(item.exhibit_reference, 'exhibit')}"
            where = f"files/{folder}/{safe_name(item.filename, 'evidence')}"
        paths[item.id] = where
        entries.append(
            {
                "id": item.id,
                "exhibitReference": item.exhibit_reference,
                "path": where,
                "sha256": item.sha256,
                "sizeBytes": item.size_bytes,
                "mediaType": item.media_type,
                "description": item.description,
                "seizedBy": item.seized_by,
                "seizedAt": item.seized_at.isoformat(),
                "seizedFrom": item.seized_from,
                "device": item.device,
                "method": item.method,
                "derivedFrom": item.derived_from_id,
                "status": item.status,
            }
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "caseUrn": case_urn,
        "createdAt": utcnow().isoformat(),
        "createdBy": created_by,
        "log": log_name,
        "items": entries,
    }
    return manifest, paths


def _ledger(
    session: Session,
    items: list[EvidenceItem],
    case_urn: str,
    manifest_sha256: str,
    *,
    actor: str,
    actor_org: str | None,
    purpose: str,
) -> int:
    """Append each item's ``exported`` entry and the bundle's own; the bundle entry's seq."""
    for item in items:
        custody.record(
            session,
            item,
            CustodyAction.EXPORTED,
            actor=actor,
            actor_org=actor_org,
            purpose=purpose,
            details={"bundleManifestSha256": manifest_sha256},
        )
    appended = log.append(
        session,
        entry_type=BUNDLE_ENTRY_TYPE,
        actor=actor,
        actor_org=actor_org,
        purpose=purpose,
        subjects=[Subject(RecordKind.EVIDENCE, item.id) for item in items],
        payload={
            "caseUrn": case_urn,
            "manifestSha256": manifest_sha256,
            "items": [item.id for item in items],
            "createdBy": actor,
        },
    )
    session.flush()
    return appended.seq


def _proved(
    session: Session,
    *,
    seq: int,
    size: int,
    entry: dict[str, Any],
    payload: dict[str, Any] | None,
    salt: bytes | None,
) -> dict[str, Any]:
    proof = log.inclusion_proof(session, seq, size)
    return {
        "entry": entry,
        "payload": payload,
        "salt": audit.b64(salt) if salt is not None else None,
        "inclusion": audit.inclusion_document(
            seq=seq, size=size, leaf_hash=log.leaf_hash(session, seq), proof=proof
        ),
    }


def _custody_document(
    session: Session, items: list[EvidenceItem], bundle_seq: int, size: int
) -> dict[str, Any]:
    history = custody.history(session, [item.id for item in items])
    by_item = {
        item_id: [
            _proved(
                session,
                seq=record.seq,
                size=size,
                entry=record.entry,
                payload=record.payload,
                salt=record.salt,
            )
            for record in records
        ]
        for item_id, records in history.items()
    }
    entry = session.get_one(LedgerEntry, bundle_seq)
    payload = session.get(LedgerPayload, bundle_seq)
    bundle = _proved(
        session,
        seq=bundle_seq,
        size=size,
        entry=log.entry_json(entry),
        payload=dict(payload.payload) if payload is not None else None,
        salt=bytes(payload.salt) if payload is not None else None,
    )
    return {"items": by_item, "bundle": bundle}


def _write_zip(
    path: Path,
    store: BlobStore,
    items: list[EvidenceItem],
    paths: dict[str, str | None],
    *,
    manifest_bytes: bytes,
    custody_doc: dict[str, Any],
    note: str,
    readme: str,
    on_failure: Callable[[str, str], None],
    progress: Callable[[int], None] | None,
) -> int:
    """Write the archive; how many bytes of files went in."""
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.writestr(README, readme)
        archive.writestr(MANIFEST, manifest_bytes)
        archive.writestr(CHECKPOINT, note)
        for item in items:
            where = paths[item.id]
            if where is None:
                continue
            info = zipfile.ZipInfo(where, date_time=item.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED  # usually compressed media already
            info.file_size = item.size_bytes  # lets zipfile choose ZIP64 for large files
            info.external_attr = 0o444 << 16

            def failed(found: str, item_id: str = item.id) -> None:
                on_failure(item_id, found)

            with archive.open(info, "w") as out:
                for block in service.read_verified(store, item, failed):
                    out.write(block)
                    written += len(block)
                    if progress is not None:
                        progress(len(block))
        archive.writestr(CUSTODY, json.dumps(custody_doc, indent=1, ensure_ascii=False) + "\n")
    return written


def readme_text(case_urn: str, verifier_key: str) -> str:
    """The README: what the bundle is and how to check it, in plain English."""
    return f"""OneStory disclosure bundle for case {case_urn}
{"=" * (40 + len(case_urn))}

This archive holds digital evidence for the case above, as disclosed from OneStory, with
everything needed to check for yourself that none of it has been changed:

  files/          the evidence files, exactly as they were taken in
  manifest.json   a list of the files: each one's SHA-256 hash, size, media type, exhibit
                  reference, and who seized or produced it, when, where and how
  custody.json    every recorded action on each item (acquired, uploaded, viewed, shared,
                  exported ...), each with a proof that it is in OneStory's public ledger
  checkpoint.txt  the ledger's state when this bundle was made, signed with its key

How to check it
---------------
You need only this archive and the ledger's public key. Obtain the key from a source you
trust (the operator publishes it; do not rely on a copy sent with the bundle). When this
bundle was made the key was:

  {verifier_key}

Then run, on any computer with OneStory installed (no connection or database is needed):

  onestory evidence verify THIS-FILE.zip --key '{verifier_key}'

It checks that the checkpoint is signed by that key; that every custody entry is in the
signed ledger and says what it says; that the manifest is the one the ledger recorded for
this bundle; and that every file hashes to its recorded value. Any changed, missing or added
byte is reported with the file and the check that failed.
"""
