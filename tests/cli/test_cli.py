"""The command line: one-line errors, database upgrade, schema export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from onestory.cli import main


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONESTORY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ONESTORY_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "onestory", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def test_negative_people_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("synth", "--people", "-5", "--out", str(tmp_path / "w"), data_dir=tmp_path)
    assert_one_line_error(result, "--people", "-5")


def test_data_dir_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("oops")
    result = run_cli("db", "upgrade", data_dir=not_a_dir)
    assert_one_line_error(result, "not a directory")


def test_corrupt_database_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "onestory.sqlite3").write_bytes(b"this is not a database file" * 100)
    result = run_cli("db", "upgrade", data_dir=tmp_path)
    assert_one_line_error(result, "cannot open the database", "move it aside")


def test_corrupt_secret_key_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    result = run_cli("demo", "--people", "10", "--no-serve", data_dir=tmp_path)
    assert_one_line_error(result, "secret_key", "too short")


def test_db_upgrade_creates_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    from onestory.store import create_engine_for
    from onestory.store.migrate import head_revision

    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    assert f"revision {head_revision(engine)}." in capsys.readouterr().out
    engine.dispose()
    assert (tmp_path / "onestory.sqlite3").exists()


def test_schema_export_writes_valid_schemas(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    assert main(["schema", "export", str(out)]) == 0
    files = sorted(out.glob("*.schema.json"))
    assert len(files) >= 14
    for path in files:
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(".json")


def test_unknown_option_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("synth", "--colour", "blue", data_dir=tmp_path)
    assert_one_line_error(result, "--colour")


def test_exported_schemas_validate_every_synthetic_event(tmp_path: Path) -> None:
    world, schemas = tmp_path / "world", tmp_path / "schemas"
    assert main(["synth", "--people", "150", "--seed", "5", "--out", str(world)]) == 0
    assert main(["schema", "export", str(schemas)]) == 0
    validators = {
        path.name.removesuffix(".schema.json"): Draft202012Validator(json.loads(path.read_text()))
        for path in schemas.glob("*.schema.json")
    }
    seen: set[str] = set()
    lines = (world / "events.jsonl").read_text(encoding="utf-8").splitlines()
    for line_no, line in enumerate(lines, start=1):
        event = json.loads(line)
        key = f"{event['eventType']}.v{event['version']}"
        errors = list(validators[key].iter_errors(event))
        assert not errors, f"events.jsonl:{line_no}: {errors[0].message}"
        seen.add(key)
    records = validators.pop("record.v1")
    assert seen == set(validators)
    person = {"names": [{"forenames": ["Ann"], "surname": "Lee"}], "datesOfBirth": ["1990-02-01"]}
    assert records.is_valid({"kind": "prison.custody", "person": person, "caseUrn": "04BB0297518"})
    assert not records.is_valid({"kind": "prison.custody", "person": {"names": []}})
