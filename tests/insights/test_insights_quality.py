"""Data quality by agency extract, checked against the small world's ground truth and raw files.

``ground_truth.csv`` says which noise the generator put into each extract row. Rows with an
invalid identifier (``bad_id``), a line that is not UTF-8 (``encoding``) or broken CSV quoting
(``broken_quoting``) can never be taken in, so each must be in quarantine; the prison and
probation layouts also require their own number, so a row whose number went missing
(``missing_id``) may be quarantined too. Identifier completeness is compared with the values the
raw extract files hold, read here in plain Python: a stored record holds an identifier exactly
when its row did, so the measure may fall short of the raw count only by rows held in quarantine.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
from insights_cases_world import World, truth_of
from insights_world import InsightsWorld

from onestory.insights.engine import all_measures

FILES = {
    "police-suspects": "police.csv",
    "police-victims": "police_victims.csv",
    "cps-cases": "cps.json",
    "court-cases": "courts.json",
    "prison-custody": "prisons.csv",
    "probation-orders": "probation.jsonl",
    "education-learning": "education.csv",
}
UNREADABLE = {"bad_id", "encoding", "broken_quoting"}
OWN_NUMBER_REQUIRED = {"prison-custody", "probation-orders"}


@pytest.fixture(scope="module")
def world(insights_world: InsightsWorld) -> World:
    return truth_of(insights_world)


def _rows(world: World) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["agency"], r["check"], r["detail"]): r for r in world.measure("data-quality")}


def _noise(world: World) -> tuple[Counter[str], dict[str, Counter[str]]]:
    rows: Counter[str] = Counter()
    noise: dict[str, Counter[str]] = defaultdict(Counter)
    for row in world.csv("ground_truth.csv"):
        rows[row["file"]] += 1
        for kind in filter(None, row["noise"].split(";")):
            noise[row["file"]][kind] += 1
    return rows, noise


def test_quarantined_and_stored_rows_match_the_noise_put_in(world: World) -> None:
    rows = _rows(world)
    file_rows, noise = _noise(world)
    for layout, file in FILES.items():
        linked = rows[(layout, "linked to a person", "records with a person")]
        stored = linked["records"]
        quarantined = [
            r for (a, check, _), r in rows.items() if a == layout and check == "quarantined"
        ]
        received = quarantined[0]["records"] if quarantined else stored
        held_back = received - stored
        unreadable = sum(noise[file][kind] for kind in UNREADABLE)
        assert received == file_rows[file], layout
        if layout in OWN_NUMBER_REQUIRED:
            assert unreadable <= held_back <= unreadable + noise[file]["missing_id"], layout
        else:
            assert held_back == unreadable, layout
        # Each quarantined row is counted under at least one problem, and none more than once.
        assert sum(r["affected"] for r in quarantined) >= held_back, layout
        for r in quarantined:
            assert r["rate"] == pytest.approx(r["affected"] / r["records"], abs=5e-5)
    assert sum(sum(noise[f][k] for k in UNREADABLE) for f in FILES.values()) > 10


def test_every_stored_record_is_linked_after_linking_everyone(world: World) -> None:
    # The shared world was linked with the whole index run, which clusters every record.
    linked = [r for r in world.measure("data-quality") if r["check"] == "linked to a person"]
    assert {r["agency"] for r in linked} == set(FILES)
    for r in linked:
        assert (r["affected"], r["rate"]) == (r["records"], 1.0), r


def _raw_identifiers(world: World) -> dict[tuple[str, str], int]:
    """Rows holding each identifier, by layout, in the raw court, probation and prison files."""
    held: dict[tuple[str, str], int] = Counter()
    cases = json.loads((world.folder / "courts.json").read_text("utf-8"))["prosecutionCases"]
    for case in cases:
        for defendant in case["defendants"]:
            held[("court-cases", "PNC ID")] += bool(defendant.get("pncId"))
    with (world.folder / "probation.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            ids = json.loads(line)["otherIds"]
            held[("probation-orders", "PNC ID")] += bool(ids.get("pncNumber"))
            held[("probation-orders", "National Insurance number")] += bool(ids.get("niNumber"))
            held[("probation-orders", "CRO number")] += bool(ids.get("croNumber"))
    for row in world.csv("prisons.csv"):
        held[("prison-custody", "PNC ID")] += bool(row["PNC"].strip())
        held[("prison-custody", "CRO number")] += bool(row["CRO"].strip())
    return held


def test_identifier_completeness_matches_the_raw_extracts(world: World) -> None:
    rows = _rows(world)
    held = _raw_identifiers(world)
    assert sum(held.values()) > 100, "the world's extracts hold too few identifiers to test"
    for (layout, identifier), raw in held.items():
        row = rows[(layout, "identifier completeness", identifier)]
        in_quarantine = sum(
            r["affected"]
            for (a, check, _), r in rows.items()
            if a == layout and check == "quarantined"
        )
        assert raw - in_quarantine <= row["affected"] <= raw, (layout, identifier, row, raw)
        assert row["rate"] == pytest.approx(row["affected"] / row["records"], abs=5e-5)
    # Victims are never given a PNC ID: completeness must say none.
    assert rows[("police-victims", "identifier completeness", "PNC ID")]["affected"] == 0


def test_data_quality_is_public_and_documented() -> None:
    measure = all_measures()["data-quality"]
    assert measure.public
    assert measure.dimensions == ("agency", "check", "detail")
    for column in (*measure.dimensions, *measure.counts, *measure.statistics):
        assert len(measure.columns[column]) > 10, column
