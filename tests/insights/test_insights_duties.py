"""Victims' Code duties derived from events, and the compliance measure, checked against the truth.

The synthetic world writes each duty it owes a victim, and when (if ever) the victim was told,
to ``victims_code.csv``. The snapshot's ``duties`` table and the compliance measure must agree
with it wherever the events carry the duty, and differ only in the ways ``insights.duties``
documents: R6.2 has no triggering event; R8.1, R11.1 and R11.2 are duties the world does not
score; a case withdrawn at court has an outcome the Code's R9.1 covers but the world does not
tell. Expected values are computed here from the truth files in plain Python, with the world's
own working-day calendar (``synth.calendar``), never with the SQL under test.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from insights_world import InsightsWorld

from onestory.insights import duties
from onestory.insights.engine import compute, connect
from onestory.insights.measures_victims import COMPLIANCE
from onestory.insights.snapshot import MANIFEST, SCHEMAS, Snapshot, write_table
from onestory.synth.calendar import add_working_days
from onestory.victims.duties import load_all_code_rules
from onestory.victims.timeline import translate

LONDON = ZoneInfo("Europe/London")
NOT_TRIGGERED = "R6.2"  # no event says "this crime will not be investigated"
UNSCORED = {"R8.1", "R11.1", "R11.2"}  # duties the synthetic world does not score


# --- the truth, read in plain Python ----------------------------------------------------------


def _events(world: Path) -> Iterator[dict[str, Any]]:
    with (world / "events.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _taken_at(snapshot: Snapshot) -> datetime:
    return datetime.fromisoformat(snapshot.manifest["taken_at"].replace("Z", "+00:00"))


def _code_starts() -> date:
    return load_all_code_rules()[0].in_force_from


def _not_met(due: date, taken_at: datetime) -> str:
    end_of_due_day = datetime.combine(due, time.max, tzinfo=LONDON)
    return "overdue" if taken_at > end_of_due_day else "pending"


def _expected_outcome(row: dict[str, str], taken_at: datetime) -> str:
    if row["informed_date"]:
        return "on_time" if row["informed_date"] <= row["due_date"] else "late"
    return _not_met(date.fromisoformat(row["due_date"]), taken_at)


class Truth:
    """The world's duties in the period the Code's rules cover, keyed as the duties table is."""

    def __init__(self, world: Path, taken_at: datetime) -> None:
        nhs = {}
        with (world / "truth_people.csv").open(encoding="utf-8") as f:
            for person in csv.DictReader(f):
                nhs[person["person_id"]] = person["nhs_number"]
        self.victims: dict[str, list[tuple[str, bool]]] = defaultdict(list)  # urn -> (key, enh)
        key_of: dict[tuple[str, str], str] = {}
        self.withdrawn: list[dict[str, Any]] = []
        for event in _events(world):
            urn = event["caseReferences"][0]["value"]
            if event["eventType"] == "police.crime.recorded":
                for place, victim in enumerate(event["payload"]["victims"]):
                    key = duties.victim_key(event["id"], place)
                    self.victims[urn].append((key, bool(victim["enhancedRights"])))
                    for identifier in victim["person"]["identifiers"]:
                        key_of[(urn, identifier["value"])] = key
            elif event["eventType"] == "court.hearing.resulted":
                verdicts = {o.get("verdict") for o in event["payload"]["outcome"]["offences"]}
                if "withdrawn" in verdicts:
                    self.withdrawn.append(event)
        starts = _code_starts().isoformat()
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.untriggered = 0
        with (world / "victims_code.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["trigger_date"] < starts:
                    continue
                if row["duty"] == NOT_TRIGGERED:
                    self.untriggered += 1
                    continue
                key = key_of[(row["urn"], nhs[row["person_id"]])]
                self.rows[(row["trigger_event_id"], row["duty"], key)] = {
                    "duty": row["duty"],
                    "owner_code": row["owner"],
                    "police_area": row["urn"][:2],
                    "month": date.fromisoformat(row["trigger_date"]).replace(day=1),
                    "rights": "enhanced" if row["enhanced"] == "Y" else "standard",
                    "due_on": date.fromisoformat(row["due_date"]),
                    "outcome": _expected_outcome(row, taken_at),
                }
        self.taken_at = taken_at

    def withdrawn_outcomes(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """R9.1 for cases withdrawn at court: started, never told (the world tells no one)."""
        owed = {}
        for event in self.withdrawn:
            urn = event["caseReferences"][0]["value"]
            on = datetime.fromisoformat(event["occurredAt"]).astimezone(LONDON).date()
            if on < _code_starts():
                continue
            due = add_working_days(on, 1)  # R9.1 is one working day for everyone
            for key, enhanced in self.victims[urn]:
                owed[(event["id"], "R9.1", key)] = {
                    "duty": "R9.1",
                    "owner_code": "WCU" + urn[:2],
                    "police_area": urn[:2],
                    "month": on.replace(day=1),
                    "rights": "enhanced" if enhanced else "standard",
                    "due_on": due,
                    "outcome": _not_met(due, self.taken_at),
                }
        return owed


@pytest.fixture(scope="module")
def truth(insights_world: InsightsWorld) -> Truth:
    return Truth(insights_world.world, _taken_at(insights_world.snapshot))


@pytest.fixture(scope="module")
def derived(insights_world: InsightsWorld) -> list[dict[str, Any]]:
    return pq.read_table(insights_world.snapshot.file("duties")).to_pylist()


# --- the duties table -------------------------------------------------------------------------


def test_every_duty_the_events_carry_matches_the_truth(
    truth: Truth, derived: list[dict[str, Any]]
) -> None:
    ours = {
        (d["trigger_event_id"], d["duty"], d["victim_key"]): d
        for d in derived
        if d["source"] == duties.EVENT
    }
    assert len(truth.rows) > 300, "the test world should owe a few hundred duties"
    differences = []
    for key, expected in truth.rows.items():
        found = ours.get(key)
        if found is None:
            differences.append((key, "missing"))
            continue
        got = {
            "duty": found["duty"],
            "owner_code": found["owner_code"],
            "police_area": found["police_area"],
            "month": found["started_on"].replace(day=1),
            "rights": "enhanced" if found["enhanced"] else "standard",
            "due_on": found["due_at"].astimezone(LONDON).date(),
            "outcome": found["outcome"],
        }
        if got != expected:
            differences.append((key, expected, got))
    assert differences == []


def test_the_only_extra_duties_are_the_documented_ones(
    truth: Truth, derived: list[dict[str, Any]]
) -> None:
    withdrawn = truth.withdrawn_outcomes()
    extra = Counter()
    for d in derived:
        key = (d["trigger_event_id"], d["duty"], d["victim_key"])
        if d["source"] != duties.EVENT or key in truth.rows:
            continue
        if key in withdrawn:
            extra["withdrawn"] += 1
        else:
            assert d["duty"] in UNSCORED, f"{key} is derived but the world does not owe it"
            extra[d["duty"]] += 1
    assert extra["withdrawn"] == len(withdrawn)
    assert extra["R8.1"] > 0  # every hearing result owes the Witness Care Unit its outcome
    assert truth.untriggered > 0  # R6.2 exists in the world, and is knowingly not derived


def test_victims_are_keyed_without_their_identifiers(
    insights_world: InsightsWorld, derived: list[dict[str, Any]]
) -> None:
    with (insights_world.world / "truth_people.csv").open(encoding="utf-8") as f:
        numbers = {p["nhs_number"] for p in csv.DictReader(f)} - {""}
    keys = {d["victim_key"] for d in derived if d["victim_key"]}
    assert keys and not keys & numbers
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)


def test_the_sql_reads_events_as_the_victims_timeline_does(insights_world: InsightsWorld) -> None:
    con = duties.connect(insights_world.snapshot)
    from_sql = {
        event_id: list(triggers)
        for event_id, triggers in con.execute("SELECT id, triggers FROM triggers").fetchall()
    }
    seen = Counter()
    for event in _events(insights_world.world):
        translation = translate(event["eventType"], event["payload"], lambda code: code)
        expected = list(translation.triggers) if translation else []
        assert from_sql.get(event["id"], []) == expected, event["eventType"]
        seen.update(expected)
    assert {"suspect.arrested", "charge.decided", "hearing.listed", "case.outcome"} <= set(seen)


# --- the compliance measure -------------------------------------------------------------------


def test_compliance_by_duty_organisation_area_month_and_rights_matches_the_truth(
    insights_world: InsightsWorld, truth: Truth
) -> None:
    con = connect(insights_world.snapshot)
    table = compute(COMPLIANCE, con).to_pylist()
    dims = COMPLIANCE.dimensions
    measured = {tuple(r[d] for d in dims): r for r in table if r["duty"] not in UNSCORED}
    expected: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for row in [*truth.rows.values(), *truth.withdrawn_outcomes().values()]:
        expected[tuple(row[d] for d in dims)][row["outcome"]] += 1
    assert set(measured) == set(expected)
    for key, outcomes in expected.items():
        row = measured[key]
        started = sum(outcomes.values())
        assert (
            row["started"],
            row["met_on_time"],
            row["met_late"],
            row["overdue"],
            row["pending"],
        ) == (
            started,
            outcomes["on_time"],
            outcomes["late"],
            outcomes["overdue"],
            outcomes["pending"],
        ), key
        assert row["on_time_rate"] == pytest.approx(outcomes["on_time"] / started)


def test_compliance_by_duty_and_outcome_matches_the_truth(
    insights_world: InsightsWorld, truth: Truth
) -> None:
    con = connect(insights_world.snapshot)
    by_duty: dict[str, Counter[str]] = defaultdict(Counter)
    for row in compute(COMPLIANCE, con).to_pylist():
        for column in COMPLIANCE.counts:
            by_duty[row["duty"]][column] += row[column]
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    names = {"on_time": "met_on_time", "late": "met_late"}
    for row in [*truth.rows.values(), *truth.withdrawn_outcomes().values()]:
        expected[row["duty"]]["started"] += 1
        expected[row["duty"]][names.get(row["outcome"], row["outcome"])] += 1
    for duty, counts in expected.items():
        assert {k: v for k, v in by_duty[duty].items() if v} == dict(counts), duty
    assert NOT_TRIGGERED not in by_duty


# --- hand-made snapshots: rules the small world rarely or never exercises ---------------------


URN = "01AB1234526"
TAKEN_AT = datetime(2025, 6, 30, 12, tzinfo=UTC)


def _envelope(event_id: str, kind: str, at: datetime, by: str, payload: dict[str, Any],
              ids: list[tuple[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
    envelope = {
        "id": event_id,
        "eventType": kind,
        "version": 1,
        "occurredAt": at.isoformat(),
        "assertedBy": by,
        "personReference": (
            {"identifiers": [{"type": t, "value": v} for t, v in ids]} if ids else None
        ),
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": payload,
    }
    return {
        "id": event_id,
        "type": kind,
        "version": 1,
        "occurred_at": at,
        "asserted_by": by,
        "received_at": at + timedelta(minutes=5),
        "case_urn": URN,
        "envelope": json.dumps(envelope),
    }


def _snapshot(folder: Path, events: list[dict[str, Any]], clocks: list[dict[str, Any]]) -> Snapshot:
    folder.mkdir()
    organisations = [
        {"code": "POL01", "name": "Police", "kind": "police", "police_area": "01"},
        {"code": "WCU01", "name": "Witness Care", "kind": "witness_care", "police_area": "01"},
        {"code": "CRTMC", "name": "Court", "kind": "court", "police_area": None},
        {"code": "PS-LDN", "name": "Probation", "kind": "probation", "police_area": None},
        {"code": "CPS-LN", "name": "CPS", "kind": "cps", "police_area": None},
    ]
    counts = {}
    for name, rows in (
        ("events", events),
        ("organisations", organisations),
        ("duty_clocks", clocks),
    ):
        counts[name] = write_table(folder / f"{name}.parquet", SCHEMAS[name], rows)
    manifest = {"taken_at": TAKEN_AT.isoformat().replace("+00:00", "Z"), "tables": counts}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return Snapshot.open(folder)


def _victim(nhs: str, enhanced: bool) -> dict[str, Any]:
    return {
        "person": {"identifiers": [{"type": "NHS", "value": nhs, "heldBy": "POL01"}]},
        "enhancedRights": ["under_18"] if enhanced else [],
    }


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


def test_a_hospital_order_starts_the_contact_scheme_duties_and_a_referral_meets_one(
    tmp_path: Path,
) -> None:
    recorded, sentenced, referred = date(2025, 3, 3), date(2025, 5, 6), date(2025, 5, 9)
    events = [
        _envelope("e-crime", "police.crime.recorded", _at(recorded, 10), "POL01",
                  {"victims": [_victim("9990000001", False)]}),
        _envelope("e-sentence", "court.sentence.imposed", _at(sentenced, 11), "CRTMC",
                  {"sentence": {"sentenceType": "hospital_order", "custodyMonths": None}}),
        _envelope("e-referral", "probation.victim_contact.referred", _at(referred, 10),
                  "PS-LDN", {"caseUrn": URN}),
    ]  # fmt: skip
    rows = {r["duty"]: r for r in duties.derive_duties(_snapshot(tmp_path / "s", events, []))}
    assert set(rows) == {"R9.2", "R11.1", "R11.2"}
    assert rows["R11.1"]["met_at"] == _at(referred, 10)
    assert rows["R11.1"]["outcome"] == "on_time"  # 3 working days of the 10 allowed
    assert rows["R11.1"]["owner_code"] == "WCU01"  # the unit in the case's police area
    assert rows["R11.2"]["owner_code"] == "PS-LDN"  # the sender, of the kind that owes it
    assert rows["R11.2"]["outcome"] == "overdue"  # no feed records the victim contacted
    assert rows["R9.2"]["outcome"] == "overdue"


def test_an_arrest_with_bail_owes_one_duty_met_when_that_victim_is_told(tmp_path: Path) -> None:
    arrested = date(2025, 6, 2)  # a Monday
    told_on = add_working_days(arrested, 3)
    events = [
        _envelope("e-crime", "police.crime.recorded", _at(arrested, 9), "POL01",
                  {"victims": [_victim("9990000001", False), _victim("9990000002", True)]}),
        _envelope("e-arrest", "police.suspect.arrested", _at(arrested, 15), "POL01",
                  {"releasedOn": "bail"}),
        _envelope("e-told", "witness_care.victim.informed", _at(told_on, 10), "POL01",
                  {"duty": "R6.1", "aboutEventId": "e-arrest", "channel": "phone",
                   "informedAt": _at(told_on, 10).isoformat()}, [("NHS", "9990000001")]),
        _envelope("e-old", "police.suspect.arrested", _at(date(2020, 6, 1), 15), "POL01", {}),
    ]  # fmt: skip
    clock = {
        "rule_id": "R4.1",
        "code_version": "2021",
        "owner_kind": "police",
        "owner_code": "POL01",
        "enhanced": True,
        "started_at": _at(date(2025, 6, 27), 9),
        "due_at": datetime.combine(date(2025, 7, 1), time.max, tzinfo=LONDON),
        "met_at": None,
    }
    rows = list(duties.derive_duties(_snapshot(tmp_path / "s", events, [clock])))
    by_victim = {(r["source"], r["enhanced"]): r for r in rows}
    assert len(rows) == 3  # one R6.1 per victim of the 2025 arrest, one story clock, none in 2020
    standard = by_victim[(duties.EVENT, False)]
    assert standard["duty"] == "R6.1" and standard["met_at"] == _at(told_on, 10)
    assert standard["outcome"] == "on_time"  # 3 working days of 5
    enhanced = by_victim[(duties.EVENT, True)]
    assert enhanced["met_at"] is None  # the other victim was never told
    assert enhanced["due_at"].astimezone(LONDON).date() == add_working_days(arrested, 1)
    assert enhanced["outcome"] == "overdue"
    story = by_victim[(duties.STORY, True)]
    assert (story["duty"], story["police_area"], story["outcome"]) == ("R4.1", "01", "pending")
