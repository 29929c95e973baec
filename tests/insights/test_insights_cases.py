"""Timeliness, caseload, hearings and attrition, checked against the small world's ground truth.

The truth is ``truth_cases.csv`` (one row per suspect of a case, with every date of its journey)
and, for hearings, the world's own events file read in plain Python. Events reach the store
whole (the synthetic events carry no noise and none is quarantined), so these measures must
match the truth exactly: any difference is a fault in the SQL, not noise in the data.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import duckdb
import pytest
from insights_cases_world import World, percentile, truth_of
from insights_world import InsightsWorld

from onestory.insights.engine import all_measures
from onestory.synth.offences import OFFENCES

COMPLETED_WITHOUT_SENTENCE = {"acquitted", "dismissed", "withdrawn"}


@pytest.fixture(scope="module")
def world(insights_world: InsightsWorld) -> World:
    return truth_of(insights_world)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _charged(world: World) -> list[dict[str, str]]:
    return [row for row in world.csv("truth_cases.csv") if row["charge_decision"] == "charge"]


def _completed_on(row: dict[str, str]) -> date | None:
    if row["sentence_date"]:
        return _day(row["sentence_date"])
    if row["verdict"] in COMPLETED_WITHOUT_SENTENCE:
        return _day(row["verdict_date"])
    return None


def test_timeliness_matches_the_true_journeys(world: World) -> None:
    groups = {o.code: o.group for o in OFFENCES}
    intervals: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for row in _charged(world):
        key = (groups[row["offence_code"]], world.force_names[row["force"]])
        offence, charged = _day(row["offence_date"]), _day(row["charge_decision_date"])
        assert offence and charged
        intervals[("offence to charge", *key)].append((charged - offence).days)
        first = _day(row["first_hearing_date"])
        if first is None or first > world.until:  # listed, not yet heard
            continue
        intervals[("charge to first hearing", *key)].append((first - charged).days)
        completed = _completed_on(row)
        if completed is not None:
            intervals[("first hearing to completion", *key)].append((completed - first).days)

    expected = {
        key: (len(days), round(percentile(days, 0.5), 1), round(percentile(days, 0.9), 1))
        for key, days in intervals.items()
    }
    got = {
        (r["stage"], r["offence_group"], r["police_area"]): (
            r["cases"],
            r["median_days"],
            r["p90_days"],
        )
        for r in world.measure("timeliness")
    }
    assert sum(n for n, _, _ in expected.values()) > 100, "the world is too small to test"
    assert got.keys() == expected.keys()
    for key, (cases, median, p90) in expected.items():
        assert got[key][0] == cases, key
        assert got[key][1] == pytest.approx(median, abs=0.051), key
        assert got[key][2] == pytest.approx(p90, abs=0.051), key


def test_timeliness_sql_maps_every_offence_code_to_its_ons_group() -> None:
    # The SQL holds the offence groups as a CASE; run just that CASE over every known code.
    sql = all_measures()["timeliness"].sql
    case = re.search(r"(CASE\s+WHEN crimes\.offence_code.*?END) AS offence_group", sql, re.S)
    assert case is not None, "the timeliness SQL no longer maps offence codes with a CASE"
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE crimes (offence_code VARCHAR)")
        con.executemany("INSERT INTO crimes VALUES (?)", [(o.code,) for o in OFFENCES])
        con.execute("INSERT INTO crimes VALUES (?)", ["XX99999"])
        mapped = dict(con.execute(f"SELECT offence_code, {case.group(1)} FROM crimes").fetchall())
    finally:
        con.close()
    assert mapped == {**{o.code: o.group for o in OFFENCES}, "XX99999": "other offences"}


def _open_stage(row: dict[str, str], until: date) -> str | None:
    """A suspect's stage on ``until`` from their true journey, or None when closed or unseen."""
    if not row["charge_decision"]:
        # Only an arrest leaves an event before the decision; a suspect never arrested is unseen.
        return "under investigation" if row["arrest_date"] else None
    if row["charge_decision"] != "charge":
        return None
    first = _day(row["first_hearing_date"])
    if first is None or _completed_on(row) is not None:  # discontinued before a hearing, or done
        return None
    if row["verdict"] == "convicted":
        return "convicted, awaiting sentence"
    return "in court" if first <= until else "charged, awaiting first hearing"


def _age_band(days: int) -> str:
    if days <= 91:
        return "0 to 3 months"
    if days <= 182:
        return "3 to 6 months"
    if days <= 365:
        return "6 to 12 months"
    return "12 months or more"


def test_caseload_matches_the_open_true_journeys(world: World) -> None:
    expected: Counter[tuple[str, str, str]] = Counter()
    for row in world.csv("truth_cases.csv"):
        if not row["person_id"]:
            continue  # a crime with no suspect: no event says when it closed
        stage = _open_stage(row, world.until)
        if stage is None:
            continue
        reported = _day(row["reported_date"])
        assert reported is not None
        age = _age_band((world.as_at - reported).days)
        expected[(stage, age, world.force_names[row["force"]])] += 1
    got = {
        (r["stage"], r["age_band"], r["police_area"]): r["cases"] for r in world.measure("caseload")
    }
    assert sum(expected.values()) > 0, "the world has no open cases to test"
    assert got == dict(expected)


def _hearings_from_events(world: World) -> tuple[Counter[tuple[str, str, str]], dict[str, str]]:
    """Hearings listed, by month, court code and outcome, read from the world's events file."""
    listed: dict[str, dict[str, Any]] = {}
    resulted: dict[str, dict[str, Any]] = {}
    for event in world.events:
        if event["eventType"] == "court.hearing.listed":
            hearing = event["payload"]["hearing"]
            listed.setdefault(hearing["hearingId"], hearing)
        elif event["eventType"] == "court.hearing.resulted":
            outcome = event["payload"]["outcome"]
            resulted.setdefault(outcome["hearingId"], outcome)
    counts: Counter[tuple[str, str, str]] = Counter()
    for hearing_id, hearing in listed.items():
        result = resulted.get(hearing_id)
        verdicts = [o["verdict"] for o in (result or {}).get("offences", []) if o["verdict"]]
        if result is None:
            outcome = "not yet heard"
        elif verdicts:
            outcome = verdicts[0]
        elif result["nextHearingId"]:
            outcome = "adjourned or sent to a further hearing"
        elif hearing["hearingType"] == "sentence":
            outcome = "sentenced"
        else:
            outcome = "concluded without a verdict"
        counts[(hearing["startsAt"][:7] + "-01", hearing["court"], outcome)] += 1
    organisations = json.loads((world.folder / "organisations.json").read_text("utf-8"))
    names = {o["code"]: o["name"] for o in organisations}
    return counts, names


def test_hearings_match_the_world_events_and_the_true_verdicts(world: World) -> None:
    counts, names = _hearings_from_events(world)
    expected = {(month, names[court], outcome): n for (month, court, outcome), n in counts.items()}
    got = {(r["month"], r["court"], r["outcome"]): r["hearings"] for r in world.measure("hearings")}
    assert got == expected

    # Every true verdict is one hearing with that outcome, in the month of the verdict.
    verdicts: Counter[tuple[str, str]] = Counter(
        (row["verdict_date"][:7] + "-01", row["verdict"])
        for row in world.csv("truth_cases.csv")
        if row["verdict"]
    )
    by_month: Counter[tuple[str, str]] = Counter()
    for (month, _, outcome), n in got.items():
        if outcome in COMPLETED_WITHOUT_SENTENCE | {"convicted"}:
            by_month[(month, outcome)] += n
    assert by_month == verdicts
    assert sum(verdicts.values()) > 20, "the world has too few verdicts to test"


def test_attrition_matches_true_outcome_codes(world: World) -> None:
    crimes: dict[str, dict[str, Any]] = {}
    for row in world.csv("truth_cases.csv"):
        if not row["charge_decision"] or not row["victims"]:
            continue
        crime = crimes.setdefault(
            row["case_id"], {"force": row["force"], "years": [], "withdrawn": False}
        )
        crime["years"].append(row["charge_decision_date"][:4])
        crime["withdrawn"] |= row["outcome_code"] in {"14", "16"}
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for crime in crimes.values():
        cell = expected[(world.force_names[crime["force"]], min(crime["years"]))]
        cell[0] += 1
        cell[1] += int(crime["withdrawn"])

    rows = world.measure("attrition")
    assert {r["stage"] for r in rows} == {"pre-charge"}
    got = {(r["police_area"], r["year"]): [r["cases"], r["withdrawn"]] for r in rows}
    assert got == dict(expected)
    assert sum(w for _, w in expected.values()) > 5, "the world has too few withdrawals to test"
    for r in rows:
        assert r["withdrawn_rate"] == pytest.approx(r["withdrawn"] / r["cases"], abs=5e-5)


def test_case_measures_document_every_column() -> None:
    for measure_id in ("timeliness", "caseload", "hearings", "attrition"):
        measure = all_measures()[measure_id]
        assert measure.definition and measure.title
        for column in (*measure.dimensions, *measure.counts, *measure.statistics):
            assert len(measure.columns[column]) > 10, (measure_id, column)
        assert measure.chart_by in measure.dimensions
        assert set(measure.filters) <= set(measure.dimensions)
