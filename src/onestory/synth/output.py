"""The output directory: what may be overwritten, and the manifest that identifies a world."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
GENERATOR = "onestory.synth"
WORLD_FILES = (
    "organisations.json", "police.csv", "police_victims.csv", "cps.json", "courts.json",
    "prisons.csv", "probation.jsonl", "education.csv", "events.jsonl", "ground_truth.csv",
    "truth_people.csv", "truth_cases.csv", "victims_code.csv",
)  # fmt: skip


def prepare(out_dir: Path) -> None:
    """Make ``out_dir`` ready for a new world, or raise ValueError saying why it cannot be.

    An empty or missing directory is used as it is. A directory holding a previous world (its
    manifest names this generator, or it holds nothing but world files, as an interrupted run
    leaves it) is cleared of those files. Anything else is refused, so nobody's files are lost.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if not out_dir.exists():
        out_dir.mkdir(parents=True)
        return
    entries = {entry.name for entry in out_dir.iterdir()}
    if not entries:
        return
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            generator = json.loads(manifest.read_text(encoding="utf-8")).get("generator")
        except (OSError, ValueError, AttributeError):
            generator = None
        if generator != GENERATOR:
            raise ValueError(f"{out_dir} holds a manifest.json not written by {GENERATOR}; "
                             "choose an empty directory")  # fmt: skip
    known = {*WORLD_FILES, MANIFEST}
    strangers = sorted(n for n in entries if n not in known or not (out_dir / n).is_file())
    if strangers:
        shown = ", ".join(strangers[:3]) + (" …" if len(strangers) > 3 else "")
        raise ValueError(f"{out_dir} is not empty and holds files other than a synthetic world "
                         f"({shown}); choose an empty directory")  # fmt: skip
    for name in entries:
        (out_dir / name).unlink()


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write manifest.json last, so its presence means the world is complete."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out_dir / MANIFEST).write_text(text, encoding="utf-8")
