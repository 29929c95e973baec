"""Every layout against real synthetic worlds: clean files map whole, noisy ones lose only what
is really wrong, and every record can be scored against the ground truth."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from onestory.domain.people import Person
from onestory.exchange.mapping import (
    Layout,
    Mapped,
    Rejected,
    iter_mapped,
    load_layouts,
    map_row,
    record_id,
)
from onestory.synth import NoiseRates, write_world

LAYOUT_NAMES = sorted(load_layouts())

# Only noise that makes a value really wrong may get a row rejected, and each problem must be
# the one its noise explains: an identifier that fails its check (bad_id), a blank identifier
# the record is keyed by (missing_id), bytes that are not UTF-8 (encoding), a CSV row split by
# an unquoted comma (broken_quoting). Every other kind (typos, nicknames, swapped names, blank
# dates of birth, short PNC IDs, stale addresses...) is a variant real extracts have.


def _truth(world: Path) -> dict[str, dict[str, str]]:
    """file -> record_key -> the noise kinds applied, from ground_truth.csv."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    with (world / "ground_truth.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            assert row["record_key"] not in out[row["file"]], "ground truth keys are unique"
            out[row["file"]][row["record_key"]] = row["noise"]
    return out


@pytest.fixture(scope="module")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "w"
    write_world(out, people=300, seed=3, noise=NoiseRates.none())
    return out


@pytest.fixture(scope="module")
def noisy_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("noisy") / "w"
    write_world(out, people=300, seed=1)
    return out


@pytest.fixture(scope="module")
def very_noisy_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every kind of noise far above its default rate, to meet each variant many times."""
    out = tmp_path_factory.mktemp("very-noisy") / "w"
    rates = NoiseRates.parse(
        "typo=0.3,nickname=0.3,alias=0.2,name_swap=0.2,surname_change=0.5,hyphenation=0.5,"
        "case_whitespace=0.5,dob_transposed=0.2,dob_error=0.2,missing_value=0.3,missing_id=0.1,"
        "bad_id=0.05,encoding=0.3,broken_quoting=0.05,split_identity=0.2"
    )
    write_world(out, people=300, seed=5, noise=rates)
    return out


def _map_all(layout: Layout, world: Path) -> list[Mapped | Rejected]:
    return list(iter_mapped(layout, world / layout.file_name))


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_a_clean_world_maps_whole_and_matches_the_ground_truth(
    clean_world: Path, name: str
) -> None:
    layout = load_layouts()[name]
    results = _map_all(layout, clean_world)
    truth = _truth(clean_world)[layout.file_name]

    rejected = [r for r in results if isinstance(r, Rejected)]
    assert rejected == []
    keys = Counter(r.row.record_key for r in results)
    assert set(keys) == set(truth), "every ground-truth row is produced, and nothing else"
    assert max(keys.values()) == 1, "each once"
    assert len(truth) > 5, "the world holds enough rows of this file to mean something"


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_mapped_records_are_the_common_model(clean_world: Path, name: str) -> None:
    layout = load_layouts()[name]
    for result in _map_all(layout, clean_world):
        assert isinstance(result, Mapped)
        # The person is written without the model for speed: the model gives back the same.
        person = Person.model_validate(result.body["person"])
        assert person.model_dump(mode="json") == result.body["person"]
        columns = result.person
        assert columns.surname == person.primary_name.surname
        assert columns.forenames == " ".join(person.primary_name.forenames)
        assert columns.sex in ("M", "F", "U")
        assert person.dates_of_birth == ([columns.date_of_birth] if columns.date_of_birth else [])
        held = {i.type: i.value for i in person.identifiers}
        assert columns.pnc_id == held.get("PNC")
        assert columns.prison_number == held.get("NOMS")
        assert columns.probation_crn == held.get("CRN")
        assert all(i.held_by == result.agency for i in person.identifiers)
        assert result.kind == layout.kind
        assert result.body["record"], "the agency's part is there"
        assert result.id == record_id(layout, result.row.fields or {})


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_the_holding_organisation_is_one_the_world_has(clean_world: Path, name: str) -> None:
    layout = load_layouts()[name]
    organisations = json.loads((clean_world / "organisations.json").read_text(encoding="utf-8"))
    of_kind = {o["code"] for o in organisations if o["kind"] == layout.agency_kind}
    holders = Counter(r.agency for r in _map_all(layout, clean_world) if isinstance(r, Mapped))
    assert set(holders) <= of_kind, set(holders) - of_kind


def test_the_same_rows_get_the_same_ids_and_other_rows_other_ids(clean_world: Path) -> None:
    layout = load_layouts()["police-victims"]
    first = [r.id for r in _map_all(layout, clean_world) if isinstance(r, Mapped)]
    again = [r.id for r in _map_all(layout, clean_world) if isinstance(r, Mapped)]
    assert first == again
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_with_default_noise_few_rows_are_rejected_and_each_for_a_real_fault(
    noisy_world: Path, name: str
) -> None:
    _only_real_faults_rejected(load_layouts()[name], noisy_world, most=0.1)


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_with_heavy_noise_only_real_faults_are_rejected(very_noisy_world: Path, name: str) -> None:
    _only_real_faults_rejected(load_layouts()[name], very_noisy_world, most=0.6)


def _only_real_faults_rejected(layout: Layout, world: Path, *, most: float) -> None:
    results = _map_all(layout, world)
    truth = _truth(world)[layout.file_name]
    assert {r.row.record_key for r in results} == set(truth)
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert len(rejected) <= most * len(results)
    for result in rejected:
        noise = set(truth[result.row.record_key].split(";"))
        assert result.problems
        for problem in result.problems:
            assert problem.problem and problem.fix
            # Only a row that could not be read at all lacks a field to point at.
            assert (problem.field is None) == (result.row.fields is None)
            if result.row.fields is None:
                justified = {"encoding", "broken_quoting"}
            elif "is blank" in problem.problem:
                justified = {"missing_id"}
            else:
                justified = {"bad_id"}
            assert noise & justified, (result.row.record_key, noise, problem)


def test_a_row_with_several_faults_reports_them_all(clean_world: Path) -> None:
    layout = load_layouts()["police-suspects"]
    row = next(r.row for r in _map_all(layout, clean_world))
    assert row.fields is not None
    broken = replace(
        row,
        fields=row.fields
        | {"PNC_ID": "2016/0287414Y", "DOB": "31/02/1990", "URN": "", "OFFENCE_CODE": "XX12"},
    )
    outcome = map_row(layout, broken)
    assert isinstance(outcome, Rejected)
    assert sorted(p.field or "" for p in outcome.problems) == [
        "DOB",
        "OFFENCE_CODE",
        "PNC_ID",
        "URN",
    ]
