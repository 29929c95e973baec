"""Content-addressed storage for evidence: each distinct file once, named by its SHA-256.

``BlobStore`` is the interface (an object store can stand behind it); ``FileBlobStore`` keeps
blobs on the local file system under ``DATA_DIR/evidence/blobs/ab/cd/<sha256>``, read-only once
written. Bytes reach the store through a staging file: they are streamed to disk and hashed in
one pass (``stage``, ``Staging``), then the finished file is moved into place (``adopt``), so no
file is ever held whole in memory and a half-written blob never has a content address.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

BLOCK = 1 << 20  # 1 MiB: big enough that hashing and writing dominate the Python overhead
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """A blob that is missing, or a name that is not a SHA-256."""


def check_sha256(value: str) -> str:
    """``value`` if it is a lower-case hex SHA-256, else ``BlobError`` saying so."""
    if not _SHA256.match(value):
        raise BlobError(f"{value!r} is not a SHA-256 (64 lower-case hexadecimal characters)")
    return value


@dataclass(frozen=True)
class Staged:
    """A file in the staging area, fully written, with its hash and size."""

    path: Path
    sha256: str
    size: int


class BlobStore(Protocol):
    """Where evidence bytes are kept, by content address."""

    def staging_dir(self) -> Path:
        """A folder on the same file system as the blobs, for files being written."""
        ...

    def has(self, sha256: str) -> bool:
        """Whether the blob is held."""
        ...

    def adopt(self, staged: Staged) -> bool:
        """Move a staged file in as blob ``staged.sha256``; False if it was already held (the
        staged copy is then deleted)."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The blob's bytes, for reading; ``BlobError`` if it is not held."""
        ...

    def size(self, sha256: str) -> int | None:
        """The blob's size, or None if it is not held."""
        ...

    def delete(self, sha256: str) -> None:
        """Delete the blob (disposal); nothing happens if it is not held."""
        ...

    def iter_hashes(self) -> Iterator[str]:
        """Every blob held, by hash."""
        ...


class FileBlobStore:
    """Blobs as read-only files in a two-level fan-out of folders."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs"
        self._staging = root / "staging"

    def staging_dir(self) -> Path:
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    def path(self, sha256: str) -> Path:
        """Where blob ``sha256`` lives (whether or not it is there)."""
        check_sha256(sha256)
        return self._blobs / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def adopt(self, staged: Staged) -> bool:
        target = self.path(staged.sha256)
        if target.is_file():
            staged.path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged.path, 0o440)
        # A rename within one file system is atomic: the blob appears whole or not at all.
        os.replace(staged.path, target)
        return True

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobError(f"blob {sha256} is not in the store") from None

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, sha256: str) -> None:
        path = self.path(sha256)
        if path.exists():
            path.chmod(0o640)
            path.unlink()

    def iter_hashes(self) -> Iterator[str]:
        if not self._blobs.is_dir():
            return
        for path in sorted(self._blobs.glob("??/??/*")):
            if _SHA256.match(path.name):
                yield path.name


def store_for(data_dir: Path) -> FileBlobStore:
    """The default store: the data directory's ``evidence`` folder."""
    return FileBlobStore(data_dir / "evidence")


def new_staging_path(store: BlobStore, prefix: str = "") -> Path:
    """A fresh, unused file name in the staging area."""
    return store.staging_dir() / f"{prefix}{secrets.token_hex(16)}.part"


def stage(store: BlobStore, source: BinaryIO, *, limit: int | None = None) -> Staged:
    """Copy ``source`` into the staging area, hashing as it goes, in blocks.

    ``limit``: refuse (``BlobError``, nothing kept) a source longer than this many bytes.
    """
    path = new_staging_path(store)
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while block := source.read(BLOCK):
                size += len(block)
                if limit is not None and size > limit:
                    raise BlobError(f"the file is larger than the {limit:,} bytes allowed")
                hasher.update(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, hasher.hexdigest(), size)


def hash_file(path: Path) -> tuple[str, int]:
    """The SHA-256 and size of a file, read in blocks."""
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def hash_blob(store: BlobStore, sha256: str) -> str:
    """Re-read a stored blob and return the hash of what is there now."""
    hasher = hashlib.sha256()
    with store.open(sha256) as source:
        while block := source.read(BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


def size_words(size: int) -> str:
    """A size as people read it: "1.4 MB" (and the exact bytes for anything over 1 kB)."""
    if size < 1000:
        return f"{size} bytes"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"  # pragma: no cover
