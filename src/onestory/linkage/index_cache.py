"""A prepared copy of the person index on disk, for placing new records quickly.

Placing a thousand new records needs the index's records read from the database and prepared
(names split and normalised, dates and postcodes in their comparison forms) before Splink can
block and score against them; at a million records that costs about half a minute, every time.
A full run writes the prepared index here as Parquet; each incremental run reads it, and adds
the records it placed as one more part. The manifest names the parts, the model version and the
row count; a copy whose count disagrees with the index in the database (records placed by
another process meanwhile, a crash between writing a part and the manifest) is not used, and
the caller rebuilds it from the database. It is a cache: deleting the folder loses nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

MANIFEST = "manifest.json"


@dataclass
class Manifest:
    """What the copy holds: for which model, how many records, in which files."""

    model_version: int
    rows: int
    parts: list[str] = field(default_factory=list)


def write(folder: Path, prepared: pd.DataFrame, *, model_version: int) -> None:
    """Replace the copy with ``prepared`` (the whole index, as ``model.prepare`` made it)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    part = "part-000000.parquet"
    prepared.to_parquet(folder / part, index=False)
    _write_manifest(folder, Manifest(model_version, len(prepared), [part]))


def append(folder: Path, prepared: pd.DataFrame, *, model_version: int) -> None:
    """Add newly placed records as one more part; a copy of another model is left alone."""
    manifest = _manifest(folder)
    if manifest is None or manifest.model_version != model_version or prepared.empty:
        return
    part = f"part-{len(manifest.parts):06d}.parquet"
    prepared.to_parquet(folder / part, index=False)
    manifest.parts.append(part)
    manifest.rows += len(prepared)
    _write_manifest(folder, manifest)


def read(folder: Path, *, model_version: int, rows: int) -> pd.DataFrame | None:
    """The prepared index, if the copy is of this model and holds exactly ``rows`` records."""
    manifest = _manifest(folder)
    if manifest is None or manifest.model_version != model_version or manifest.rows != rows:
        return None
    try:
        frames = [pd.read_parquet(folder / part) for part in manifest.parts]
    except (OSError, ValueError):
        return None
    if not frames:
        return None
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame if len(frame) == rows else None


def _manifest(folder: Path) -> Manifest | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(int(data["model_version"]), int(data["rows"]), list(data["parts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    # Written aside and renamed: a reader sees the old manifest or the new one, never half.
    temporary = folder / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(asdict(manifest)), encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)
