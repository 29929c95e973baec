"""Checking a disclosure bundle offline, with nothing but the bundle and the log's public key.

This is what a court or a defence expert runs. It imports only the standard library,
``cryptography`` and the pure ledger modules (no database, no settings), and it trusts nothing in
the bundle except what the checkpoint's signature covers:

1. ``checkpoint.txt`` is signed by the key given (so its tree root is the log's);
2. every custody entry's payload matches its digest, its leaf is in that tree (inclusion proof),
   and it is about the item it is filed under;
3. the bundle's own ledger entry commits to ``manifest.json`` byte for byte, and lists by
   sequence number every custody entry of every item, which ``custody.json`` must hold exactly,
   in that order (so an entry left out, added or reordered is noticed);
4. the manifest agrees with each item's ``acquired`` entry (hash, size, exhibit, media type);
5. each file hashes to the manifest's SHA-256, and the archive holds nothing else.

Every check that fails says which file or entry and why; ``verify_bundle`` never raises for a
failed check, only for an archive it cannot read at all (``BundleError``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import posixpath
import struct
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onestory.ledger import merkle
from onestory.ledger.audit import unb64
from onestory.ledger.entries import canonical_json, commitment
from onestory.ledger.note import Checkpoint, NoteVerifier, open_checkpoint

FORMAT = "onestory-evidence-bundle"
VERSION = 1
MANIFEST = "manifest.json"
CUSTODY = "custody.json"
CHECKPOINT = "checkpoint.txt"
README = "README.txt"
FIXED_MEMBERS = (MANIFEST, CUSTODY, CHECKPOINT, README)
FILES_FOLDER = "files/"
CUSTODY_TYPE_PREFIX = "evidence.custody."
BUNDLE_ENTRY_TYPE = "evidence.bundle.exported"
EVIDENCE_KIND = "evidence"
BLOCK = 1 << 20
# The JSON members are metadata; anything far bigger is not a bundle this code wrote.
MAX_JSON_BYTES = 1 << 30

# The local file header (APPNOTE 4.3.7): signature, then the fields we need.
_LOCAL_HEADER = struct.Struct("<4s2xH18xHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1
_UTF8_NAME = 0x800

# The checks, by name, in the order they are reported.
SIGNATURE = "checkpoint signature"
MEMBERS = "archive members"
FORMAT_CHECK = "bundle format"
COMMITMENTS = "custody commitments"
INCLUSION = "custody inclusion"
SUBJECTS = "custody subjects"
BUNDLE_ENTRY = "bundle entry"
COMPLETENESS = "custody completeness"
AGREEMENT = "manifest against custody"
CONTENTS = "file contents"
CHECK_NAMES = (
    SIGNATURE,
    MEMBERS,
    FORMAT_CHECK,
    COMMITMENTS,
    INCLUSION,
    SUBJECTS,
    BUNDLE_ENTRY,
    COMPLETENESS,
    AGREEMENT,
    CONTENTS,
)
# What the manifest and the acquired entry must agree on: manifest key -> payload key.
AGREED_FIELDS = {
    "sha256": "sha256",
    "sizeBytes": "sizeBytes",
    "exhibitReference": "exhibitReference",
    "mediaType": "mediaType",
}


class BundleError(Exception):
    """The file cannot be read as a bundle at all (not a zip archive, or unreadable)."""


@dataclass(frozen=True)
class Check:
    """One check's outcome: which check, whether it held, what was found, and where."""

    name: str
    passed: bool
    detail: str
    file: str | None = None


@dataclass
class BundleReport:
    """Everything that was checked, with counts of what was read."""

    checks: list[Check] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    entries: int = 0
    case_urn: str | None = None
    log: str | None = None
    checkpoint_size: int | None = None

    @property
    def ok(self) -> bool:
        """Whether every check held (and there was at least one)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]


class _Checks:
    """Collects failures per check, and a passing line for each check that had none."""

    def __init__(self) -> None:
        self.failed: dict[str, list[Check]] = {name: [] for name in CHECK_NAMES}
        self.notes: dict[str, list[str]] = {name: [] for name in CHECK_NAMES}
        self.passed: dict[str, str] = {}

    def fail(self, name: str, detail: str, file: str | None = None) -> None:
        self.failed[name].append(Check(name, False, detail, file))

    def note(self, name: str, detail: str) -> None:
        self.notes[name].append(detail)

    def ok(self, name: str, detail: str) -> None:
        self.passed[name] = detail

    def report(self, report: BundleReport) -> BundleReport:
        for name in CHECK_NAMES:
            failed = self.failed[name]
            if failed:
                report.checks.extend(failed)
            elif name in self.passed:
                report.checks.append(Check(name, True, self.passed[name]))
            for note in self.notes[name]:
                report.checks.append(Check(name, True, note))
        return report


def unsafe_name(name: str) -> str | None:
    """Why an archive member name is unsafe to extract, or None when it is safe."""
    if not name or name.endswith("/"):
        return "is empty or a folder"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "has an empty, '.' or '..' path component"
    if posixpath.normpath(name) != name:
        return "is not in normal form"
    if any(ord(c) < 0x20 for c in name):
        return "contains a control character"
    return None


def content_bytes(path: Path) -> int:
    """How many bytes of files the bundle's manifest names (for a progress bar's total)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename: info.file_size for info in archive.infolist()}
        return sum(size for name, size in names.items() if name.startswith(FILES_FOLDER))
    except (zipfile.BadZipFile, OSError):
        return 0


def verify_bundle(
    path: Path, verifier_key: str, *, progress: Callable[[int], None] | None = None
) -> BundleReport:
    """Check the bundle at ``path`` against the log's verifier key; see the module docstring.

    ``progress`` is called with the number of bytes hashed as the files are read. Raises
    ``BundleError`` only when the archive cannot be opened; ``ValueError`` for a malformed key.
    """
    verifier = NoteVerifier.from_verifier_key(verifier_key.strip())
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{path} is not a zip archive ({exc}), so it is not a bundle") from exc
    except OSError as exc:
        raise BundleError(f"{path} cannot be read: {exc}") from exc
    with archive:
        return _Verification(archive, verifier, progress).run()


class _Verification:
    """One run over one archive."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        verifier: NoteVerifier,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.archive = archive
        self.verifier = verifier
        self.progress = progress
        self.checks = _Checks()
        self.report = BundleReport()
        self.checkpoint: Checkpoint | None = None
        self.manifest_bytes: bytes | None = None
        self._names: set[str] = set()
        self._agreed = 0

    def run(self) -> BundleReport:
        self._members()
        self._signature()
        manifest = self._manifest()
        custody = self._json(CUSTODY)
        items = _manifest_items(manifest)
        if manifest is not None:
            self.report.case_urn = _text(manifest.get("caseUrn"))
            self.report.log = _text(manifest.get("log"))
        if custody is not None and manifest is not None:
            self._custody(custody, items)
        if manifest is None:
            self.checks.fail(
                CONTENTS, f"the files cannot be checked without a readable {MANIFEST}", MANIFEST
            )
        else:
            self._contents(items)
        return self.checks.report(self.report)

    # --- 1. the checkpoint -------------------------------------------------------------------

    def _signature(self) -> None:
        note = self._read_small(CHECKPOINT)
        if note is None:
            self.checks.fail(SIGNATURE, f"{CHECKPOINT} is missing from the bundle", CHECKPOINT)
            return
        try:
            self.checkpoint = open_checkpoint(self.verifier, note)
        except merkle.VerificationError as exc:
            self.checks.fail(
                SIGNATURE,
                f"{CHECKPOINT} is not signed by the key given ({self.verifier.name}, key ID "
                f"{self.verifier.key_id.hex()}): {exc}; no entry can be trusted without it",
                CHECKPOINT,
            )
            return
        self.report.checkpoint_size = self.checkpoint.size
        self.checks.ok(
            SIGNATURE,
            f"{CHECKPOINT} is signed by {self.verifier.name} (key ID "
            f"{self.verifier.key_id.hex()}): the log held {self.checkpoint.size:,} entries",
        )

    # --- the archive's members ---------------------------------------------------------------

    def _members(self) -> None:
        names = [info.filename for info in self.archive.infolist()]
        for name, count in Counter(names).items():
            if count > 1:
                self.checks.fail(MEMBERS, f"{name} appears {count} times in the archive", name)
        for name in names:
            reason = unsafe_name(name)
            if reason is not None:
                self.checks.fail(MEMBERS, f"member name {name!r} {reason}", name)
        self._names = set(names)

    def _expected_members(self, items: list[dict[str, Any]]) -> None:
        allowed = set(FIXED_MEMBERS) | {
            item["path"] for item in items if isinstance(item.get("path"), str)
        }
        extra = sorted(self._names - allowed)
        for name in extra:
            self.checks.fail(
                MEMBERS,
                f"{name} is in the archive but not in {MANIFEST}: it was added to the bundle",
                name,
            )
        if not extra and not self.checks.failed[MEMBERS]:
            self.checks.ok(
                MEMBERS,
                f"{len(self._names)} members: the files {MANIFEST} lists and the bundle's own",
            )

    # --- reading the JSON members ------------------------------------------------------------

    def _read_small(self, name: str) -> bytes | None:
        if name not in self._names:
            return None
        info = self.archive.getinfo(name)
        if info.file_size > MAX_JSON_BYTES:
            self.checks.fail(FORMAT_CHECK, f"{name} is {info.file_size:,} bytes: too large", name)
            return None
        try:
            return self.archive.read(name)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            self.checks.fail(FORMAT_CHECK, f"{name} cannot be read from the archive: {exc}", name)
            return None

    def _json(self, name: str) -> dict[str, Any] | None:
        raw = self._read_small(name)
        if raw is None:
            if name not in self._names:
                self.checks.fail(FORMAT_CHECK, f"{name} is missing from the bundle", name)
            return None
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.checks.fail(FORMAT_CHECK, f"{name} is not valid JSON: {exc}", name)
            return None
        if not isinstance(value, dict):
            self.checks.fail(FORMAT_CHECK, f"{name} is not a JSON object", name)
            return None
        return value

    def _manifest(self) -> dict[str, Any] | None:
        self.manifest_bytes = self._read_small(MANIFEST)
        manifest = self._json(MANIFEST)
        if manifest is None:
            return None
        problems = []
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            problems.append(f"is not a {FORMAT} version {VERSION}")
        items = manifest.get("items")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
        ):
            problems.append("has no list of items, each with an id")
        elif len({item["id"] for item in items}) != len(items):
            problems.append("lists an item twice")
        else:
            paths = [item.get("path") for item in items if item.get("path") is not None]
            for item in items:
                where = item.get("path")
                if where is not None and (
                    not isinstance(where, str)
                    or not where.startswith(FILES_FOLDER)
                    or unsafe_name(where) is not None
                ):
                    problems.append(f"gives item {item['id']} the unsafe path {where!r}")
            if len(set(map(str, paths))) != len(paths):
                problems.append("gives two items the same path")
        if self.checkpoint is not None and manifest.get("log") != self.checkpoint.origin:
            problems.append(
                f"names the log {manifest.get('log')!r}, but the checkpoint is of "
                f"{self.checkpoint.origin!r}"
            )
        for problem in problems:
            self.checks.fail(FORMAT_CHECK, f"{MANIFEST} {problem}", MANIFEST)
        if problems:
            return None
        self.checks.ok(
            FORMAT_CHECK,
            f"{MANIFEST}: {FORMAT} version {VERSION}, case {manifest.get('caseUrn')}, "
            f"{len(manifest['items'])} items",
        )
        return manifest

    # --- 2 to 4. the custody record ----------------------------------------------------------

    def _custody(self, custody: dict[str, Any], items: list[dict[str, Any]]) -> None:
        by_item = custody.get("items")
        if not isinstance(by_item, dict):
            self.checks.fail(FORMAT_CHECK, f"{CUSTODY} has no 'items' object", CUSTODY)
            return
        checked = 0
        for item in items:
            label = _label(item)
            records = by_item.get(item["id"])
            if not isinstance(records, list) or not records:
                self.checks.fail(
                    SUBJECTS, f"{label}: {CUSTODY} holds no custody entries for it", CUSTODY
                )
                continue
            for position, record in enumerate(records):
                if self._entry(record, label, position, item_id=item["id"]):
                    checked += 1
            self._agreement(item, records, label)
        extra = sorted(set(by_item) - {item["id"] for item in items})
        for item_id in extra:
            self.checks.fail(
                SUBJECTS, f"{CUSTODY} holds entries for item {item_id}, not in {MANIFEST}", CUSTODY
            )
        bundle = custody.get("bundle")
        if not isinstance(bundle, dict):
            self.checks.fail(BUNDLE_ENTRY, f"{CUSTODY} has no bundle entry", CUSTODY)
        elif self._entry(bundle, "the bundle entry", 0, item_id=None):
            checked += 1
            self._bundle_entry(bundle, items, by_item)
            self._completeness(bundle.get("payload"), items, by_item)
        else:
            self.checks.fail(
                COMPLETENESS, "not checked, as the bundle entry is unreadable", CUSTODY
            )
        self.report.entries = checked
        self.checks.ok(COMMITMENTS, f"{checked:,} entries: each payload matches its digest")
        size = self.checkpoint.size if self.checkpoint else 0
        self.checks.ok(INCLUSION, f"{checked:,} entries are in the signed tree of {size:,}")
        self.checks.ok(SUBJECTS, f"{checked:,} entries are each about the item they are under")

    def _entry(self, record: object, label: str, position: int, *, item_id: str | None) -> bool:
        """Check one entry's commitment, leaf, inclusion and subject; whether it could be read."""
        if not isinstance(record, dict) or not isinstance(record.get("entry"), dict):
            self.checks.fail(
                COMMITMENTS, f"{label}: custody record {position} has no entry", CUSTODY
            )
            return False
        entry: dict[str, Any] = record["entry"]
        payload = record.get("payload")
        seq = entry.get("seq")
        action = payload.get("action") if isinstance(payload, dict) else None
        where = f"{label}, entry {seq}" + (f" ({action})" if action else "")
        self._commitment(entry, payload, record.get("salt"), where)
        self._inclusion(entry, record.get("inclusion"), where)
        self._subject(entry, payload, where, item_id)
        return True

    def _commitment(self, entry: dict[str, Any], payload: object, salt: object, where: str) -> None:
        if payload is None and salt is None:
            self.checks.note(
                COMMITMENTS,
                f"{where}: details erased at the end of their retention; only the entry "
                "itself and its inclusion were checked",
            )
            return
        if not isinstance(payload, dict):
            self.checks.fail(COMMITMENTS, f"{where}: the payload is not a JSON object", CUSTODY)
            return
        try:
            salt_bytes = unb64(salt, "salt")
            digest = commitment(salt_bytes, payload)
        except (merkle.VerificationError, ValueError, TypeError) as exc:
            self.checks.fail(COMMITMENTS, f"{where}: cannot recompute the digest: {exc}", CUSTODY)
            return
        if not isinstance(entry.get("digest"), str) or not hmac.compare_digest(
            digest, entry["digest"]
        ):
            self.checks.fail(
                COMMITMENTS,
                f"{where}: the payload does not match the entry's digest (it hashes to "
                f"{digest}, the entry commits to {entry.get('digest')}): the details were edited",
                CUSTODY,
            )

    def _inclusion(self, entry: dict[str, Any], inclusion: object, where: str) -> None:
        if self.checkpoint is None:
            self.checks.fail(
                INCLUSION, f"{where}: not checked, as there is no trusted checkpoint", CHECKPOINT
            )
            return
        if not isinstance(inclusion, dict):
            self.checks.fail(INCLUSION, f"{where}: no inclusion proof", CUSTODY)
            return
        try:
            leaf = merkle.hash_leaf(canonical_json(entry))
            if inclusion.get("leafIndex") != entry.get("seq"):
                raise merkle.VerificationError(
                    f"the proof is for entry {inclusion.get('leafIndex')}, not {entry.get('seq')}"
                )
            if inclusion.get("treeSize") != self.checkpoint.size:
                raise merkle.VerificationError(
                    f"the proof is for a tree of {inclusion.get('treeSize')} entries; the "
                    f"checkpoint signs {self.checkpoint.size}"
                )
            if unb64(inclusion.get("leafHash"), "leafHash") != leaf:
                raise merkle.VerificationError(
                    "the entry document does not hash to the proof's leaf: the entry was edited"
                )
            steps = [unb64(p, f"proof[{i}]") for i, p in enumerate(inclusion.get("proof") or [])]
            index = entry.get("seq")
            if not isinstance(index, int) or isinstance(index, bool):
                raise merkle.VerificationError("the entry has no sequence number")
            merkle.verify_inclusion(
                leaf, index, self.checkpoint.size, steps, self.checkpoint.root_hash
            )
        except (merkle.VerificationError, ValueError, TypeError) as exc:
            self.checks.fail(INCLUSION, f"{where}: not in the signed log: {exc}", CUSTODY)

    def _subject(
        self, entry: dict[str, Any], payload: object, where: str, item_id: str | None
    ) -> None:
        if item_id is None:
            return
        subjects = entry.get("subjects")
        if not isinstance(subjects, list) or {"kind": EVIDENCE_KIND, "id": item_id} not in subjects:
            self.checks.fail(SUBJECTS, f"{where}: the entry is not about this item", CUSTODY)
        kind = entry.get("type")
        if not isinstance(kind, str) or not kind.startswith(CUSTODY_TYPE_PREFIX):
            self.checks.fail(SUBJECTS, f"{where}: type {kind!r} is not a custody entry", CUSTODY)
        elif isinstance(payload, dict):
            if kind != CUSTODY_TYPE_PREFIX + str(payload.get("action")):
                self.checks.fail(
                    SUBJECTS,
                    f"{where}: the entry's type {kind} is not the payload's action "
                    f"{payload.get('action')!r}",
                    CUSTODY,
                )
            if payload.get("item") != item_id:
                self.checks.fail(
                    SUBJECTS, f"{where}: the payload is about item {payload.get('item')}", CUSTODY
                )

    def _bundle_entry(
        self, bundle: dict[str, Any], items: list[dict[str, Any]], by_item: dict[str, Any]
    ) -> None:
        entry, payload = bundle["entry"], bundle.get("payload")
        ids = [item["id"] for item in items]
        problems: list[tuple[str, str]] = []
        if entry.get("type") != BUNDLE_ENTRY_TYPE:
            problems.append((CUSTODY, f"the bundle entry's type is {entry.get('type')!r}"))
        subjects = entry.get("subjects") if isinstance(entry.get("subjects"), list) else []
        named = {s.get("id") for s in subjects if isinstance(s, dict)}
        if named != set(ids):
            problems.append((CUSTODY, "the bundle entry's subjects are not the manifest's items"))
        manifest_sha = hashlib.sha256(self.manifest_bytes or b"").hexdigest()
        if not isinstance(payload, dict):
            problems.append((CUSTODY, "the bundle entry has no payload to check the manifest by"))
        else:
            if payload.get("manifestSha256") != manifest_sha:
                problems.append(
                    (
                        MANIFEST,
                        f"{MANIFEST} hashes to {manifest_sha}, but the bundle's ledger entry "
                        f"records {payload.get('manifestSha256')}: the manifest was changed",
                    )
                )
            if payload.get("items") != ids:
                problems.append(
                    (MANIFEST, f"the items of {MANIFEST} are not those the bundle entry records")
                )
        for item in items:
            records = by_item.get(item["id"]) or []
            exported = [
                r
                for r in records
                if isinstance(r, dict)
                and isinstance(r.get("payload"), dict)
                and r["payload"].get("action") == "exported"
                and r["payload"].get("bundleManifestSha256") == manifest_sha
            ]
            if not exported:
                problems.append(
                    (CUSTODY, f"{_label(item)}: no 'exported' entry records this manifest")
                )
        for file, problem in problems:
            self.checks.fail(BUNDLE_ENTRY, problem, file)
        if not problems:
            self.checks.ok(
                BUNDLE_ENTRY,
                f"the ledger entry {entry.get('seq')} records {MANIFEST} (SHA-256 "
                f"{manifest_sha}) and its {len(ids)} items, each with an 'exported' entry",
            )

    def _completeness(
        self, payload: object, items: list[dict[str, Any]], by_item: dict[str, Any]
    ) -> None:
        """Each item's custody entries are exactly those the bundle entry lists, in order."""
        listed = payload.get("custody") if isinstance(payload, dict) else None
        if not isinstance(listed, dict):
            self.checks.fail(
                COMPLETENESS,
                "the bundle's ledger entry does not list the custody entries of each item, so "
                "an entry left out of the bundle could not be noticed",
                CUSTODY,
            )
            return
        total = 0
        for item in items:
            expected = listed.get(item["id"])
            records = by_item.get(item["id"])
            held = [
                r["entry"].get("seq")
                for r in records or []
                if isinstance(r, dict) and isinstance(r.get("entry"), dict)
            ]
            if not isinstance(expected, list):
                self.checks.fail(
                    COMPLETENESS,
                    f"{_label(item)}: the bundle's ledger entry lists no custody entries for it",
                    CUSTODY,
                )
                continue
            total += len(expected)
            self._same_entries(_label(item), expected, held)
        for item_id in sorted(set(listed) - {item["id"] for item in items}):
            self.checks.fail(
                COMPLETENESS,
                f"the bundle's ledger entry lists custody entries of item {item_id}, which is not "
                f"in {MANIFEST}",
                MANIFEST,
            )
        self.checks.ok(
            COMPLETENESS,
            f"{len(items)} items hold exactly the {total:,} custody entries the bundle's ledger "
            "entry lists, in order",
        )

    def _same_entries(self, label: str, expected: list[Any], held: list[Any]) -> None:
        missing = [seq for seq in expected if seq not in held]
        extra = [seq for seq in held if seq not in expected]
        for seq in missing:
            self.checks.fail(
                COMPLETENESS,
                f"{label}: custody entry {seq} is missing from {CUSTODY}; the bundle's ledger "
                "entry lists it",
                CUSTODY,
            )
        for seq in extra:
            self.checks.fail(
                COMPLETENESS,
                f"{label}: custody entry {seq} is in {CUSTODY} but not among the entries the "
                "bundle's ledger entry lists",
                CUSTODY,
            )
        if not missing and not extra and held != expected:
            self.checks.fail(
                COMPLETENESS,
                f"{label}: {CUSTODY} holds its entries as {held}, not as the bundle's ledger "
                f"entry lists them ({expected})",
                CUSTODY,
            )

    def _agreement(self, item: dict[str, Any], records: list[Any], label: str) -> None:
        payloads = [r.get("payload") for r in records if isinstance(r, dict)]
        acquired = next(
            (p for p in payloads if isinstance(p, dict) and p.get("action") == "acquired"), None
        )
        if acquired is None:
            self.checks.fail(
                AGREEMENT,
                f"{label}: no 'acquired' entry with its details to check against",
                CUSTODY,
            )
            return
        for manifest_key, payload_key in AGREED_FIELDS.items():
            if item.get(manifest_key) != acquired.get(payload_key):
                self.checks.fail(
                    AGREEMENT,
                    f"{label}: {MANIFEST} gives {manifest_key} {item.get(manifest_key)!r}, the "
                    f"acquired entry records {acquired.get(payload_key)!r}",
                    MANIFEST,
                )
        self._agreed += 1
        self.checks.ok(AGREEMENT, f"{self._agreed} items agree with their acquired entries")

    # --- 5. the files ------------------------------------------------------------------------

    def _contents(self, items: list[dict[str, Any]]) -> None:
        self._expected_members(items)
        held = 0
        for item in items:
            where = item.get("path")
            if where is None:
                if item.get("status") != "disposed":
                    self.checks.fail(
                        CONTENTS, f"{_label(item)}: no file, yet not disposed of", MANIFEST
                    )
                continue
            if self._file(item, str(where)):
                held += 1
        if items:
            self.checks.ok(
                CONTENTS,
                f"{held} files, {self.report.bytes:,} bytes: each hashes to its manifest SHA-256",
            )

    def _file(self, item: dict[str, Any], name: str) -> bool:
        if name not in self._names:
            self.checks.fail(CONTENTS, f"{name} is missing from the bundle ({_label(item)})", name)
            return False
        hasher = hashlib.sha256()
        size = 0
        try:
            for block in self._blocks(self.archive.getinfo(name)):
                hasher.update(block)
                size += len(block)
                if self.progress is not None:
                    self.progress(len(block))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            self.checks.fail(CONTENTS, f"{name} cannot be read from the archive: {exc}", name)
            return False
        self.report.files += 1
        self.report.bytes += size
        found = hasher.hexdigest()
        if size != item.get("sizeBytes"):
            self.checks.fail(
                CONTENTS,
                f"{name} is {size:,} bytes; the manifest says {item.get('sizeBytes')}",
                name,
            )
            return False
        if found != item.get("sha256"):
            self.checks.fail(
                CONTENTS,
                f"{name} hashes to SHA-256 {found}, not {item.get('sha256')} as the manifest "
                "and the custody record say: its content was changed",
                name,
            )
            return False
        return True

    def _blocks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """A member's bytes in blocks.

        Files are stored uncompressed, so they are read straight from the archive at the offset
        the central directory gives, after checking that the local header there names the same
        member: the SHA-256 checked next is a stronger test than zipfile's CRC-32, and skipping
        it and zipfile's copies makes the check run at the speed of hashing. Anything else goes
        through zipfile.
        """
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & _ENCRYPTED:
            with self.archive.open(info) as source:
                while block := source.read(BLOCK):
                    yield block
            return
        raw = self.archive.fp
        if raw is None:
            raise ValueError("the archive is closed")
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise zipfile.BadZipFile(f"no local header where {info.filename} should start")
        _, flags, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        encoding = "utf-8" if flags & _UTF8_NAME else "cp437"
        if raw.read(name_length).decode(encoding, "replace") != info.orig_filename:
            raise zipfile.BadZipFile(
                f"the local header of {info.filename} names another member (a forged directory)"
            )
        raw.seek(extra_length, os.SEEK_CUR)
        left = info.compress_size
        while left:
            block = raw.read(min(BLOCK, left))
            if not block:
                raise zipfile.BadZipFile(f"{info.filename} is cut short")
            left -= len(block)
            yield block


def _manifest_items(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if manifest is None:
        return []
    return [item for item in manifest.get("items") or [] if isinstance(item, dict)]


def _label(item: Mapping[str, Any]) -> str:
    return f"exhibit {item.get('exhibitReference')} (item {item.get('id')})"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
