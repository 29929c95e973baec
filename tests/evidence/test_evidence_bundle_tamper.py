"""The offline verifier against tampered bundles: every changed, missing or added byte fails,
naming the check and the file. One real bundle is made (SQLite) and rewritten with zipfile."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from evidence_bundle_case import (
    CASE,
    EXHIBITS,
    ORIGIN,
    build_case,
    officer_views,
    operator_bundle,
    policies,
)
from evidence_bundle_case import verifier_key as key_of

from onestory.evidence.verify_bundle import (
    AGREEMENT,
    BUNDLE_ENTRY,
    COMMITMENTS,
    COMPLETENESS,
    CONTENTS,
    CUSTODY,
    INCLUSION,
    MANIFEST,
    MEMBERS,
    SIGNATURE,
    BundleError,
    unsafe_name,
    verify_bundle,
)
from onestory.ledger.note import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata


@dataclass(frozen=True)
class Made:
    path: Path
    key: str


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    data_dir = tmp_path_factory.mktemp("bundle")
    engine = create_engine_for(f"sqlite:///{data_dir / 'db.sqlite3'}")
    load_metadata().create_all(engine)
    sessions = session_factory(engine)
    case = build_case(sessions, data_dir, policies())
    officer_views(sessions, case, "JS/1")
    bundle = operator_bundle(sessions, data_dir)
    engine.dispose()
    return Made(bundle.path, key_of(data_dir))


Edit = Callable[[str, bytes], bytes | None]


def rewrite(source: Path, target: Path, edit: Edit, extra: dict[str, bytes] | None = None) -> Path:
    """Copy the archive member by member; ``edit`` returns new bytes, or None to drop one."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = edit(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info, data)
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return target


def manifest_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(MANIFEST))


def first_file(path: Path) -> str:
    return str(manifest_of(path)["items"][0]["path"])


def failed(report_checks: list, name: str, file: str) -> list[str]:
    return [c.detail for c in report_checks if not c.passed and c.name == name and c.file == file]


def test_a_clean_bundle_verifies_every_check(made: Made) -> None:
    seen: list[int] = []
    report = verify_bundle(made.path, made.key, progress=seen.append)
    assert report.ok, [c for c in report.failures]
    assert {c.name for c in report.checks} >= {SIGNATURE, COMMITMENTS, INCLUSION, CONTENTS}
    assert report.files == len(EXHIBITS)
    assert report.bytes == sum(len(data) for *_, data in EXHIBITS) == sum(seen)
    assert report.case_urn == CASE and report.log == ORIGIN
    # acquired + uploaded + exported each, the shared one also shared, the first viewed; and the
    # bundle entry
    assert report.entries == 3 * len(EXHIBITS) + 1 + 1 + 1
    assert any(c.name == COMPLETENESS and c.passed for c in report.checks)
    with zipfile.ZipFile(made.path) as archive:
        names = archive.namelist()
        assert all(unsafe_name(name) is None for name in names)
        assert archive.getinfo(first_file(made.path)).compress_type == zipfile.ZIP_STORED
        assert archive.getinfo(MANIFEST).compress_type == zipfile.ZIP_DEFLATED
        readme = archive.read("README.txt").decode()
    assert f"onestory evidence verify THIS-FILE.zip --key '{made.key}'" in readme
    paths = [item["path"] for item in manifest_of(made.path)["items"]]
    assert paths[1] == "files/0002-JS_2/photo_of_the_scene.jpg"


def test_a_changed_byte_in_a_file_fails_naming_it(made: Made, tmp_path: Path) -> None:
    target = first_file(made.path)

    def flip(name: str, data: bytes) -> bytes:
        if name != target:
            return data
        return data[:100] + bytes([data[100] ^ 1]) + data[101:]

    report = verify_bundle(rewrite(made.path, tmp_path / "t.zip", flip), made.key)
    assert not report.ok
    (detail,) = failed(report.failures, CONTENTS, target)
    assert "its content was changed" in detail
    assert [c.name for c in report.failures] == [CONTENTS]


def test_a_removed_file_fails_naming_it(made: Made, tmp_path: Path) -> None:
    target = first_file(made.path)
    report = verify_bundle(
        rewrite(made.path, tmp_path / "t.zip", lambda n, d: None if n == target else d), made.key
    )
    (detail,) = failed(report.failures, CONTENTS, target)
    assert "missing from the bundle" in detail and "JS/1" in detail


def test_an_added_file_fails_naming_it(made: Made, tmp_path: Path) -> None:
    added = "files/0001-JS_1/extra.jpg"
    report = verify_bundle(
        rewrite(made.path, tmp_path / "t.zip", lambda n, d: d, {added: b"planted"}), made.key
    )
    (detail,) = failed(report.failures, MEMBERS, added)
    assert "added to the bundle" in detail
    assert [c.name for c in report.failures] == [MEMBERS]


def test_a_changed_manifest_fails(made: Made, tmp_path: Path) -> None:
    def edit(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        return data.replace(b"PC 123 Morgan", b"PC 999 Other", 1)

    report = verify_bundle(rewrite(made.path, tmp_path / "t.zip", edit), made.key)
    (detail,) = failed(report.failures, BUNDLE_ENTRY, MANIFEST)
    assert "the manifest was changed" in detail


def test_a_manifest_hash_changed_to_match_a_changed_file_fails(made: Made, tmp_path: Path) -> None:
    """Swap a file and fix its hash in the manifest: the custody record and ledger still say no."""
    target = first_file(made.path)
    manifest = manifest_of(made.path)
    manifest["items"][0]["sha256"] = "0" * 64

    def edit(name: str, data: bytes) -> bytes:
        return json.dumps(manifest, indent=2).encode() + b"\n" if name == MANIFEST else data

    report = verify_bundle(rewrite(made.path, tmp_path / "t.zip", edit), made.key)
    assert failed(report.failures, BUNDLE_ENTRY, MANIFEST)
    assert any("JS/1" in d for d in failed(report.failures, AGREEMENT, MANIFEST))
    assert failed(report.failures, CONTENTS, target)


def _edit_custody(made: Made, tmp_path: Path, change: Callable[[dict], None]) -> Path:
    def edit(name: str, data: bytes) -> bytes:
        if name != CUSTODY:
            return data
        document = json.loads(data)
        change(document)
        return json.dumps(document).encode()

    return rewrite(made.path, tmp_path / "t.zip", edit)


def test_an_edited_custody_payload_fails_naming_the_exhibit_entry_and_action(
    made: Made, tmp_path: Path
) -> None:
    item_id = manifest_of(made.path)["items"][0]["id"]
    seq: list[int] = []

    def change(document: dict) -> None:
        record = document["items"][item_id][0]
        record["payload"]["seizedFrom"] = "somewhere else"
        seq.append(record["entry"]["seq"])

    report = verify_bundle(_edit_custody(made, tmp_path, change), made.key)
    (detail,) = failed(report.failures, COMMITMENTS, CUSTODY)
    assert f"exhibit JS/1 (item {item_id}), entry {seq[0]} (acquired)" in detail
    assert "does not match the entry's digest" in detail


def _without(made: Made, tmp_path: Path, exhibit: int, action: str) -> tuple[Path, str, int]:
    """The bundle with one item's first ``action`` entry removed from custody.json."""
    item_id = manifest_of(made.path)["items"][exhibit]["id"]
    removed: list[int] = []

    def change(document: dict) -> None:
        records = document["items"][item_id]
        record = next(r for r in records if r["payload"]["action"] == action)
        removed.append(record["entry"]["seq"])
        records.remove(record)

    return _edit_custody(made, tmp_path, change), item_id, removed[0]


@pytest.mark.parametrize(("exhibit", "action"), [(1, "uploaded"), (0, "viewed")])
def test_a_custody_entry_removed_fails_naming_the_exhibit_and_the_entry(
    made: Made, tmp_path: Path, exhibit: int, action: str
) -> None:
    """Every entry left still proves itself: only the bundle entry's list shows one is gone."""
    path, item_id, seq = _without(made, tmp_path, exhibit, action)
    report = verify_bundle(path, made.key)
    assert not report.ok
    (detail,) = failed(report.failures, COMPLETENESS, CUSTODY)
    reference = EXHIBITS[exhibit][0]
    assert f"exhibit {reference} (item {item_id}): custody entry {seq} is missing" in detail
    assert [c.name for c in report.failures] == [COMPLETENESS]


def test_a_custody_entry_added_or_reordered_fails(made: Made, tmp_path: Path) -> None:
    first, second = (item["id"] for item in manifest_of(made.path)["items"][:2])
    moved: list[int] = []

    def add(document: dict) -> None:
        record = document["items"][first][0]
        moved.append(record["entry"]["seq"])
        document["items"][second].append(record)

    report = verify_bundle(_edit_custody(made, tmp_path, add), made.key)
    (detail,) = failed(report.failures, COMPLETENESS, CUSTODY)
    assert f"exhibit JS/2 (item {second}): custody entry {moved[0]} is in {CUSTODY} but not" in (
        detail
    )

    def swap(document: dict) -> None:
        records = document["items"][first]
        records[0], records[1] = records[1], records[0]

    report = verify_bundle(_edit_custody(made, tmp_path, swap), made.key)
    (detail,) = failed(report.failures, COMPLETENESS, CUSTODY)
    assert "exhibit JS/1" in detail and "not as the bundle's ledger entry lists them" in detail


def test_an_edited_custody_entry_document_fails_its_inclusion(made: Made, tmp_path: Path) -> None:
    item_id = manifest_of(made.path)["items"][1]["id"]

    def change(document: dict) -> None:
        document["items"][item_id][1]["entry"]["actor"] = "user:999"

    report = verify_bundle(_edit_custody(made, tmp_path, change), made.key)
    (detail,) = failed(report.failures, INCLUSION, CUSTODY)
    assert "JS/2" in detail and "the entry was edited" in detail


def test_an_erased_payload_is_reported_not_failed(made: Made, tmp_path: Path) -> None:
    item_id = manifest_of(made.path)["items"][2]["id"]

    def change(document: dict) -> None:
        record = document["items"][item_id][1]  # uploaded
        record["payload"] = record["salt"] = None

    report = verify_bundle(_edit_custody(made, tmp_path, change), made.key)
    assert report.ok, report.failures
    assert any("details erased" in c.detail for c in report.checks)


def test_a_checkpoint_signed_by_another_key_fails(made: Made, tmp_path: Path) -> None:
    impostor = NoteSigner.generate(ORIGIN)

    def resign(name: str, data: bytes) -> bytes:
        if name != "checkpoint.txt":
            return data
        body = data.decode().split("\n\n")[0] + "\n"
        return sign_checkpoint(impostor, Checkpoint.parse_body(body)).encode()

    forged = rewrite(made.path, tmp_path / "t.zip", resign)
    report = verify_bundle(forged, made.key)
    (detail,) = failed(report.failures, SIGNATURE, "checkpoint.txt")
    assert "is not signed by the key given" in detail
    assert failed(report.failures, INCLUSION, "checkpoint.txt")
    # ... and with the impostor's key everything else holds: only the key makes it trustworthy.
    assert verify_bundle(forged, impostor.verifier_key()).ok


def test_a_forged_checkpoint_of_another_tree_fails_every_inclusion(
    made: Made, tmp_path: Path
) -> None:
    """Even signed with the right key, a checkpoint of another root proves nothing here."""
    signer = NoteSigner.generate(ORIGIN)

    def other_tree(name: str, data: bytes) -> bytes:
        if name != "checkpoint.txt":
            return data
        size = Checkpoint.parse_body(data.decode().split("\n\n")[0] + "\n").size
        return sign_checkpoint(signer, Checkpoint(ORIGIN, size, b"\x07" * 32)).encode()

    report = verify_bundle(
        rewrite(made.path, tmp_path / "t.zip", other_tree), signer.verifier_key()
    )
    assert [c.name for c in report.failures] == [INCLUSION] * report.entries


def test_unsafe_and_duplicate_member_names_fail(made: Made, tmp_path: Path) -> None:
    target = tmp_path / "t.zip"
    rewrite(made.path, target, lambda n, d: d, {"../evil.sh": b"x"})
    with zipfile.ZipFile(target, "a") as archive, pytest.warns(UserWarning):
        archive.writestr(MANIFEST, b"{}")
    report = verify_bundle(target, made.key)
    members = [c.detail for c in report.failures if c.name == MEMBERS]
    assert any("'..'" in d for d in members)
    assert any("appears 2 times" in d for d in members)


def test_not_a_zip_is_an_error_saying_so(tmp_path: Path, made: Made) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="is not a zip archive"):
        verify_bundle(path, made.key)


def test_a_malformed_key_is_refused(made: Made) -> None:
    with pytest.raises(ValueError, match="verifier key"):
        verify_bundle(made.path, "not-a-key")
    assert NoteVerifier.from_verifier_key(made.key).name == ORIGIN


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("files/0001-JS_1/a.jpg", True),
        ("../a", False),
        ("/etc/passwd", False),
        ("files\\a", False),
        ("files//a", False),
        ("C:/a", False),
        ("files/./a", False),
    ],
)
def test_unsafe_names(name: str, safe: bool) -> None:
    assert (unsafe_name(name) is None) is safe


def test_the_verifier_imports_no_database_code() -> None:
    code = (
        "import sys, onestory.evidence.verify_bundle\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'pydantic', "
        "'fastapi') or m in ('onestory.config', 'onestory.store')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_salt_is_base64(made: Made) -> None:
    with zipfile.ZipFile(made.path) as archive:
        document = json.loads(archive.read(CUSTODY))
    salts = [r["salt"] for records in document["items"].values() for r in records]
    assert all(len(base64.b64decode(s)) == 32 for s in salts)


def test_a_byte_flipped_in_place_in_the_archive_fails_naming_the_file(
    made: Made, tmp_path: Path
) -> None:
    """Not rewritten by zipfile: the archive's own CRC is now wrong too, and SHA-256 catches it."""
    target = first_file(made.path)
    with zipfile.ZipFile(made.path) as archive:
        info = archive.getinfo(target)
    raw = bytearray(made.path.read_bytes())
    name_length, extra_length = struct.unpack(
        "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_length + extra_length
    raw[start + 5] ^= 0x40
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    report = verify_bundle(damaged, made.key)
    (detail,) = failed(report.failures, CONTENTS, target)
    assert "its content was changed" in detail
