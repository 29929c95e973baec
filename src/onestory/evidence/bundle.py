"""Disclosure bundles: one ZIP archive that proves itself to anyone holding the log's public key.

A bundle holds a case's files, a manifest (``manifest.json``), the custody record of every item
with an inclusion proof for each entry (``custody.json``), a signed checkpoint of the ledger that
covers them all (``checkpoint.txt``) and a README. ``verify_bundle`` checks it offline.

Making one has two phases, so the ledger's append lock is never held while gigabytes are copied:

1. With no transaction open, the README, the manifest and every file are written to a temporary
   archive under ``DATA_DIR/evidence/bundles`` (never in memory), each file streamed from the
   blob store and hashed on the way; a file that no longer matches its hash aborts the bundle and
   is recorded as an integrity failure in a transaction of its own.
2. Then, in one short transaction holding the append lock, the items are read again (anything
   disposed of, failed or changed meanwhile aborts the bundle), an ``exported`` custody entry is
   appended per item and then the ``evidence.bundle.exported`` entry, which commits to the
   manifest's SHA-256 and to the sequence numbers of every custody entry of every item (so a
   bundle with an entry left out fails verification); a checkpoint is cut to cover them, the
   proofs are read at its size, ``custody.json`` and ``checkpoint.txt`` are appended to the
   archive, and the transaction commits. If anything fails it is rolled back and the partial
   archive deleted.

Archives left behind (a crash, a client gone before its download) are swept by
``sweep_stale_bundles`` at the start of every bundle request or command.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from onestory.evidence import custody, service
from onestory.evidence.blobs import BlobStore
from onestory.evidence.service import EvidenceError, Refused
from onestory.evidence.tables import CustodyAction, CustodyEntry, EvidenceItem, ItemStatus
from onestory.evidence.verify_bundle import (
    BUNDLE_ENTRY_TYPE,
    CHECKPOINT,
    CUSTODY,
    FORMAT,
    MANIFEST,
    README,
    VERSION,
)
from onestory.ledger import audit, log, merkle
from onestory.ledger.checkpoints import cut_checkpoint
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.note import NoteSigner
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow

BUNDLES = "bundles"
STALE_AFTER = timedelta(hours=1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_LIMIT = 80
_NODE_BATCH = 500  # tree nodes read per query (well inside every database's parameter limit)


class IntegrityRefusal(EvidenceError):
    """Items of the case failed an integrity check: no bundle can vouch for them."""


class ItemsChanged(EvidenceError):
    """Items were disposed of, failed or changed while the bundle's files were being copied."""


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
    purpose. Every item left out (no live grant, or the rules say no) records an
    ``access_refused`` entry, so the custody record shows what a partial bundle withheld and
    from whom; with nothing allowed, ``Refused`` is raised (the caller commits, then answers 404).
    """
    log.lock_for_append(session)  # decisions and refusals are written: take the lock first
    items = service.items_of_case(session, case_urn)
    allowed: list[EvidenceItem] = []
    purposes: set[str] = set()
    for item in items:
        purpose, refusal = _export_decision(session, policies, actor, item)
        if refusal is None:
            allowed.append(item)
            purposes.add(purpose)
            continue
        custody.record(
            session,
            item,
            CustodyAction.ACCESS_REFUSED,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=purpose,
            details={"attempted": str(CustodyAction.EXPORTED), "reason": refusal},
        )
    if not allowed:
        raise Refused(f"no evidence of case {case_urn} may be exported by this user")
    purpose = purposes.pop() if len(purposes) == 1 else service.DISCLOSURE_PURPOSE
    return Scope(allowed, purpose)


def _export_decision(
    session: Session, policies: PolicySet, actor: Actor, item: EvidenceItem
) -> tuple[str, str | None]:
    """The purpose the actor would export ``item`` for, and why not (None when allowed)."""
    if service.is_holder(actor, item):
        purpose: str = service.DISCLOSURE_PURPOSE
    else:
        grant = service.live_grant(session, actor, item)
        if grant is None:
            return service.DISCLOSURE_PURPOSE, "no live grant covers this item"
        purpose = grant.purpose
    decision = authorize(
        session,
        actor=actor,
        action=Action.EXPORT,
        record=RecordRef(RecordKind.EVIDENCE, item.id),
        purpose=purpose,
        policies=policies,
    )
    return purpose, None if decision.allowed else decision.reason


# --- leftovers ------------------------------------------------------------------------------------


def sweep_stale_bundles(data_dir: Path, older_than: timedelta = STALE_AFTER) -> list[Path]:
    """Delete archives in the bundles folder not touched for ``older_than``; the ones deleted.

    A finished bundle is sent or moved at once and an archive being written is touched with
    every block, so anything older was left by a crash or a download that never finished.
    """
    cutoff = time.time() - older_than.total_seconds()
    removed: list[Path] = []
    for pattern in ("*.zip", "*.zip.part"):
        for path in bundles_dir(data_dir).glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue  # another request swept it first
    return removed


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

    The caller's transaction is committed first (its access decisions stand whether or not the
    bundle is made): no transaction stays open while the files are copied, and on SQLite one
    that had read could not take the write lock afterwards. The archive is left at
    ``Bundle.path`` (under ``work_dir``) for the caller to send or move. Raises
    ``IntegrityRefusal`` (nothing written) if an item failed an integrity check,
    ``IntegrityFailure`` (after recording it) if a file no longer matches its hash now, and
    ``ItemsChanged`` if an item was disposed of, failed or changed while the files were copied.
    """
    if not items:
        raise EvidenceError(f"case {case_urn} has no evidence to bundle")
    _refuse_failed(items, case_urn)
    session.commit()
    path = work_dir / f"{secrets.token_hex(16)}.zip.part"
    failures: list[tuple[str, str]] = []
    try:
        manifest, paths = _manifest(
            items, case_urn=case_urn, created_by=actor, log_name=signer.name
        )
        manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        content = _write_files(
            path,
            store,
            items,
            paths,
            manifest_bytes=manifest_bytes,
            readme=readme_text(case_urn, signer.verifier_key()),
            on_failure=lambda item_id, found: failures.append((item_id, found)),
            progress=progress,
        )
        log.lock_for_append(session)  # a new transaction: write (lock) first, then read
        current = _recheck(session, manifest, case_urn)
        bundle_seq, history = _ledger(
            session,
            current,
            case_urn,
            manifest_sha256,
            actor=actor,
            actor_org=actor_org,
            purpose=purpose,
        )
        checkpoint = cut_checkpoint(session, signer)
        custody_doc = _custody_document(session, history, bundle_seq, checkpoint.size)
        _finish_zip(path, custody_doc=custody_doc, note=checkpoint.note)
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


def _refuse_failed(items: list[EvidenceItem], case_urn: str) -> None:
    failed = [item.exhibit_reference for item in items if item.integrity_failed_at is not None]
    if failed:
        raise IntegrityRefusal(
            f"case {case_urn}: exhibit{'s' if len(failed) > 1 else ''} {', '.join(failed)} "
            "failed an integrity check (the stored content no longer matches the hash taken "
            "at acquisition), so no bundle can vouch for them; resolve that first"
        )


def _facts(item: EvidenceItem) -> dict[str, Any]:
    """What the manifest says of an item, but its path (the same facts the recheck compares)."""
    return {
        "id": item.id,
        "exhibitReference": item.exhibit_reference,
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
        facts = _facts(item)
        entries.append(
            {"id": item.id, "exhibitReference": item.exhibit_reference, "path": where} | facts
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


def _recheck(session: Session, manifest: dict[str, Any], case_urn: str) -> list[EvidenceItem]:
    """The items read again under the lock, in manifest order, if the manifest still holds.

    The files were copied without a lock, so an item may have been disposed of, failed an
    integrity check, or changed meanwhile; a bundle must not vouch for what is no longer so.
    """
    listed: list[dict[str, Any]] = manifest["items"]
    ids = [entry["id"] for entry in listed]
    fresh = {
        item.id: item
        for item in session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    }
    changes = []
    for entry in listed:
        item = fresh.get(entry["id"])
        exhibit = f"exhibit {entry['exhibitReference']}"
        if item is None:
            changes.append(f"{exhibit} is no longer in the store")
        elif item.integrity_failed_at is not None:
            changes.append(f"{exhibit} failed an integrity check")
        elif item.status != entry["status"]:
            changes.append(f"{exhibit} became {item.status} (it was {entry['status']})")
        elif any(entry[key] != value for key, value in _facts(item).items()):
            changes.append(f"{exhibit} had its details changed")
    if changes:
        raise ItemsChanged(
            f"case {case_urn}: while the bundle's files were being copied, {'; '.join(changes)}; "
            "no bundle was made and nothing was recorded: make it again"
        )
    return [fresh[item_id] for item_id in ids]


def _ledger(
    session: Session,
    items: list[EvidenceItem],
    case_urn: str,
    manifest_sha256: str,
    *,
    actor: str,
    actor_org: str | None,
    purpose: str,
) -> tuple[int, dict[str, list[custody.CustodyRecord]]]:
    """Append each item's ``exported`` entry, then the bundle's own; its seq and the custody.

    The bundle entry lists every custody entry of each item, up to its ``exported`` entry, by
    sequence number: the signed commitment that lets a verifier notice one left out.
    """
    _record_exported(
        session,
        items,
        actor=actor,
        actor_org=actor_org,
        purpose=purpose,
        details={"bundleManifestSha256": manifest_sha256},
    )
    history = custody.history(session, [item.id for item in items])
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
            "custody": {
                item_id: [record.seq for record in records] for item_id, records in history.items()
            },
            "createdBy": actor,
        },
    )
    session.flush()
    return appended.seq, history


def _record_exported(
    session: Session,
    items: list[EvidenceItem],
    *,
    actor: str,
    actor_org: str | None,
    purpose: str,
    details: dict[str, Any],
) -> None:
    """Each item's ``exported`` custody entry, as ``custody.record`` writes it, in one append.

    One append for all: a case of a thousand items otherwise spends seconds under the lock on
    a head update and a frontier read per entry.
    """
    moment = utcnow()
    action = CustodyAction.EXPORTED
    appended = log.append_many(
        session,
        [
            NewEntry(
                custody.entry_type(action),
                actor,
                actor_org,
                purpose,
                (Subject(RecordKind.EVIDENCE, item.id),),
                custody.base_payload(item, action) | details,
                at=moment,
            )
            for item in items
        ],
    )
    session.add_all(
        CustodyEntry(
            item_id=item.id,
            action=str(action),
            ledger_seq=done.seq,
            at=moment,
            actor=actor,
            actor_org=actor_org,
        )
        for item, done in zip(items, appended, strict=True)
    )
    session.flush()


class _Proofs:
    """Inclusion proofs of many entries in one tree, from one read of the nodes they need
    (a query per entry costs seconds under the lock for a large case)."""

    def __init__(self, session: Session, seqs: list[int], size: int) -> None:
        self.size = size
        self.plans = {seq: merkle.inclusion_proof_plan(seq, size) for seq in seqs}
        wanted = {(0, seq) for seq in seqs}
        wanted.update(node for plan in self.plans.values() for step in plan for node in step)
        ordered = sorted(wanted)
        self.nodes: dict[merkle.NodeId, bytes] = {}
        for start in range(0, len(ordered), _NODE_BATCH):
            self.nodes.update(log.load_nodes(session, ordered[start : start + _NODE_BATCH]))
        missing = sorted(wanted - set(self.nodes))
        if missing:
            level, index = missing[0]
            raise log.LedgerError(
                f"the ledger is missing tree node (level {level}, index {index}) of the tree "
                f"of {size} entries: run `onestory ledger verify`"
            )

    def proved(
        self,
        *,
        seq: int,
        entry: dict[str, Any],
        payload: dict[str, Any] | None,
        salt: bytes | None,
    ) -> dict[str, Any]:
        return {
            "entry": entry,
            "payload": payload,
            "salt": audit.b64(salt) if salt is not None else None,
            "inclusion": audit.inclusion_document(
                seq=seq,
                size=self.size,
                leaf_hash=self.nodes[(0, seq)],
                proof=merkle.build_proof(self.plans[seq], self.nodes),
            ),
        }


def _custody_document(
    session: Session,
    history: dict[str, list[custody.CustodyRecord]],
    bundle_seq: int,
    size: int,
) -> dict[str, Any]:
    seqs = [record.seq for records in history.values() for record in records]
    proofs = _Proofs(session, [*seqs, bundle_seq], size)
    by_item = {
        item_id: [
            proofs.proved(
                seq=record.seq, entry=record.entry, payload=record.payload, salt=record.salt
            )
            for record in records
        ]
        for item_id, records in history.items()
    }
    entry = session.get_one(LedgerEntry, bundle_seq)
    payload = session.get(LedgerPayload, bundle_seq)
    bundle = proofs.proved(
        seq=bundle_seq,
        entry=log.entry_json(entry),
        payload=dict(payload.payload) if payload is not None else None,
        salt=bytes(payload.salt) if payload is not None else None,
    )
    return {"items": by_item, "bundle": bundle}


def _write_files(
    path: Path,
    store: BlobStore,
    items: list[EvidenceItem],
    paths: dict[str, str | None],
    *,
    manifest_bytes: bytes,
    readme: str,
    on_failure: Callable[[str, str], None],
    progress: Callable[[int], None] | None,
) -> int:
    """Start the archive: README, manifest and every file; how many bytes of files went in."""
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.writestr(README, readme)
        archive.writestr(MANIFEST, manifest_bytes)
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
    return written


def _finish_zip(path: Path, *, custody_doc: dict[str, Any], note: str) -> None:
    """Append what the ledger vouches with: the custody record and the signed checkpoint."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.writestr(CUSTODY, json.dumps(custody_doc, indent=1, ensure_ascii=False) + "\n")
        archive.writestr(CHECKPOINT, note)


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
signed ledger and says what it says, and that none was left out; that the manifest is the
one the ledger recorded for this bundle; and that every file hashes to its recorded value.
Any changed, missing or added byte is reported with the file and the check that failed.
"""
