"""The same arguments give the same bytes; the noise never changes the world underneath."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from synth_world import World

from onestory.synth import NoiseRates, write_world
from onestory.synth.output import WORLD_FILES


def _hashes(path: Path) -> dict[str, str]:
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    return {name: entry["sha256"] for name, entry in manifest["files"].items()}


def test_same_seed_gives_identical_bytes(small_world: World, tmp_path: Path) -> None:
    again = tmp_path / "again"
    write_world(again, people=300, seed=7)
    for name in (*WORLD_FILES, "manifest.json"):
        assert (again / name).read_bytes() == (small_world.path / name).read_bytes(), name


def test_same_seed_in_another_process_with_other_hash_seed(
    small_world: World, tmp_path: Path
) -> None:
    out = tmp_path / "elsewhere"
    code = (
        "from pathlib import Path; from onestory.synth import write_world; "
        f"write_world(Path({str(out)!r}), people=300, seed=7)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert _hashes(out) == _hashes(small_world.path)


def test_another_seed_gives_another_world(small_world: World, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_world(other, people=300, seed=8)
    ours, theirs = _hashes(small_world.path), _hashes(other)
    assert ours["organisations.json"] == theirs["organisations.json"]
    for name in ("police.csv", "events.jsonl", "truth_people.csv", "ground_truth.csv"):
        assert ours[name] != theirs[name], name


def test_noise_rates_change_extracts_but_not_the_world(small_world: World, tmp_path: Path) -> None:
    quiet = tmp_path / "quiet"
    write_world(quiet, people=300, seed=7, noise=NoiseRates.none())
    ours, theirs = _hashes(small_world.path), _hashes(quiet)
    for name in ("truth_people.csv", "truth_cases.csv", "events.jsonl", "victims_code.csv"):
        assert ours[name] == theirs[name], name
    assert ours["police.csv"] != theirs["police.csv"]


def test_manifest_records_the_run(small_world: World) -> None:
    manifest = json.loads(small_world.text("manifest.json"))
    assert manifest["generator"] == "onestory.synth"
    assert manifest["seed"] == 7
    assert manifest["people"] == 300
    assert manifest["until"] == "2026-10-31"
    assert manifest["noise"] == NoiseRates().as_dict()
    assert set(manifest["files"]) == set(WORLD_FILES)
    for name, entry in manifest["files"].items():
        assert entry["rows"] == small_world.summary.rows[name]
    assert small_world.summary.total_rows == sum(small_world.summary.rows.values())
    assert small_world.summary.as_dict()["people"] == 300
