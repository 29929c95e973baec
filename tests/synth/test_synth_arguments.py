"""Bad arguments are refused with a message that says what is wrong, in the API and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from onestory.synth import NoiseRates, write_world
from onestory.synth.cli import synth


def test_parse_sets_the_named_kinds_and_keeps_the_defaults() -> None:
    rates = NoiseRates.parse("typo=0.05, nickname=0.1")
    assert rates.typo == 0.05 and rates.nickname == 0.1
    assert rates.alias == NoiseRates().alias
    assert NoiseRates.parse("") == NoiseRates()
    assert NoiseRates.parse("all=0") == NoiseRates.none()
    assert NoiseRates.parse("all=0,bad_id=1").bad_id == 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tyop=0.1", "unknown noise kind 'tyop'; known kinds: all, typo"),
        ("typo=lots", "noise rate for 'typo' must be a number between 0 and 1 (got 'lots')"),
        ("typo=1.5", "noise rate 'typo' must be between 0 and 1 (got 1.5)"),
        ("typo=-0.1", "noise rate 'typo' must be between 0 and 1 (got -0.1)"),
        ("typo=nan", "noise rate 'typo' must be between 0 and 1 (got nan)"),
        ("typo", "noise setting 'typo' should look like kind=rate"),
        ("=0.2", "noise setting '=0.2' should look like kind=rate"),
    ],
)
def test_parse_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        NoiseRates.parse(spec)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@given(st.dictionaries(st.sampled_from(NoiseRates.kinds()), st.floats(0, 1), max_size=6))
def test_parse_reads_back_any_rates(values: dict[str, float]) -> None:
    spec = ",".join(f"{kind}={value!r}" for kind, value in values.items())
    rates = NoiseRates.parse(spec)
    for kind in NoiseRates.kinds():
        assert getattr(rates, kind) == values.get(kind, getattr(NoiseRates(), kind))


def test_rates_are_checked_when_made() -> None:
    with pytest.raises(ValueError, match="noise rate 'alias' must be between 0 and 1"):
        NoiseRates(alias=2)
    with pytest.raises(ValueError, match="must be a number"):
        NoiseRates(typo="0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("people", "message"),
    [
        (0, "people must be at least 1 (got 0)"),
        (-5, "people must be at least 1 (got -5)"),
        (2.5, "people must be a whole number (got 2.5)"),
    ],
)
def test_write_world_refuses_bad_head_counts(tmp_path: Path, people: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        write_world(tmp_path / "w", people=people, seed=1)  # type: ignore[arg-type]
    assert str(error.value) == message
    assert not (tmp_path / "w").exists()


def test_write_world_refuses_a_file_or_someone_elses_directory(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        write_world(a_file, people=5, seed=1)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"holds files other than a synthetic world \(notes.txt\)"):
        write_world(theirs, people=5, seed=1)
    assert (theirs / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="until must be a date"):
        write_world(tmp_path / "w", people=5, seed=1, until=date(1999, 1, 1))


def test_write_world_overwrites_its_own_previous_world(tmp_path: Path) -> None:
    out = tmp_path / "w"
    write_world(out, people=30, seed=1)
    first = (out / "events.jsonl").read_bytes()
    summary = write_world(out, people=20, seed=2)
    assert summary.people == 20
    assert (out / "events.jsonl").read_bytes() != first
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    (out / "manifest.json").write_text('{"generator": "someone else"}')
    with pytest.raises(ValueError, match=r"manifest\.json not written by onestory\.synth"):
        write_world(out, people=20, seed=2)


def test_progress_counts_every_person(tmp_path: Path) -> None:
    calls: list[int] = []
    summary = write_world(tmp_path / "w", people=1234, seed=5, progress=calls.append)
    assert sum(calls) == 1234 == summary.people
    assert len(calls) >= 2


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("synth")(synth)
    return app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--people", "-5"], "Error: --people must be at least 1 (got -5)"),
        (["--noise", "typo=9"], "Error: --noise: noise rate 'typo' must be between 0 and 1"),
        (["--noise", "bogus=0.1"], "Error: --noise: unknown noise kind 'bogus'"),
        (["--until", "31/10/2026"], "Error: --until must be a date as YYYY-MM-DD"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_status_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(_app(), [*args, "--out", str(tmp_path / "w")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(message)
    assert "Traceback" not in result.output
    assert not (tmp_path / "w").exists()


def test_cli_writes_a_world_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = CliRunner().invoke(
        _app(), ["--people", "40", "--seed", "3", "--out", str(out), "--noise", "all=0"]
    )
    assert result.exit_code == 0, result.output
    assert "police.csv" in result.stdout and "events.jsonl" in result.stdout
    assert "40 people, seed 3" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["people"] == 40 and manifest["noise"]["typo"] == 0.0
