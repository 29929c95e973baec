"""The ground truth covers every record of every extract, and the true journeys are in order."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date

from synth_world import World

from onestory.synth.victims import DUTY_LIMITS

CSV_EXTRACTS = ("police.csv", "police_victims.csv", "prisons.csv", "education.csv")


def test_ground_truth_has_one_row_per_record_of_every_extract(small_world: World) -> None:
    truth = small_world.truth
    for name in CSV_EXTRACTS:
        keys = [row["record_key"] for row in truth if row["file"] == name]
        count = len(small_world.lines(name))
        assert count > 0, name
        assert keys == [str(i) for i in range(1, count + 1)], name
    for name in ("probation.jsonl", "events.jsonl"):
        keys = [row["record_key"] for row in truth if row["file"] == name]
        lines = small_world.text(name).splitlines()
        assert keys == [str(i) for i in range(1, len(lines) + 1)], name
    cps = small_world.json("cps.json")
    expected = [
        f"/{i}/defendants/{j}" for i, f in enumerate(cps) for j in range(len(f["defendants"]))
    ]
    assert [r["record_key"] for r in truth if r["file"] == "cps.json"] == expected
    cases = small_world.json("courts.json")["prosecutionCases"]
    expected = [
        f"/prosecutionCases/{i}/defendants/{j}"
        for i, c in enumerate(cases)
        for j in range(len(c["defendants"]))
    ]
    assert [r["record_key"] for r in truth if r["file"] == "courts.json"] == expected
    assert len(truth) == small_world.summary.rows["ground_truth.csv"]


def test_every_record_points_at_a_true_person_and_case(small_world: World) -> None:
    people = {row["person_id"] for row in small_world.dict_rows("truth_people.csv")}
    cases = {row["case_id"] for row in small_world.dict_rows("truth_cases.csv")}
    assert len(people) == 300
    for row in small_world.truth:
        assert row["case_id"] in cases
        if row["file"] != "events.jsonl" or row["person_id"]:
            assert row["person_id"] in people


def _d(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def test_true_journeys_follow_the_order_of_the_process(noisy_world: World) -> None:
    until = date(2026, 10, 31)
    checked = Counter()
    for row in noisy_world.dict_rows("truth_cases.csv"):
        d = {
            k: _d(v)
            for k, v in row.items()
            if k.endswith("_date") or k.endswith(("_start", "_end"))
        }
        chain = [d["offence_date"], d["reported_date"], d["arrest_date"], d["charge_decision_date"],
                 d["first_hearing_date"], d["verdict_date"], d["sentence_date"]]  # fmt: skip
        present = [x for x in chain if x is not None]
        assert present == sorted(present), row
        happened = [d[k] for k in ("arrest_date", "charge_decision_date", "verdict_date",
                                   "sentence_date", "reception_date") if d[k]]  # fmt: skip
        assert all(x <= until for x in happened), row  # only hearings may be listed ahead
        if d["cps_review_date"]:
            assert d["charge_decision_date"] and d["cps_review_date"] >= d["charge_decision_date"]
        if d["reception_date"]:
            assert d["reception_date"] >= (d["first_hearing_date"] or d["sentence_date"])
            checked["custody"] += 1
        if d["release_date"]:
            assert d["release_date"] >= d["reception_date"]
        if d["probation_start"]:
            assert d["sentence_date"] and d["probation_start"] >= d["sentence_date"]
            if d["release_date"] and row["sentence_type"] == "immediate_custody":
                assert d["probation_start"] >= d["release_date"]
            checked["probation"] += 1
        if d["education_start"]:
            starts = [x for x in (d["reception_date"], d["probation_start"]) if x]
            assert starts and d["education_start"] >= min(starts)
            checked["education"] += 1
        if d["probation_end"]:
            assert d["probation_end"] >= d["probation_start"]
    assert checked["custody"] and checked["probation"] and checked["education"]


def test_victims_code_truth_matches_the_events(noisy_world: World) -> None:
    rows = noisy_world.dict_rows("victims_code.csv")
    events = {e["id"]: e for e in noisy_world.events()}
    outcomes = Counter(row["outcome"] for row in rows)
    for row in rows:
        if row["informed_event_id"]:
            informed = events[row["informed_event_id"]]
            assert informed["eventType"] == "witness_care.victim.informed"
            assert informed["payload"]["duty"] == row["duty"]
            assert informed["payload"]["aboutEventId"] == row["trigger_event_id"]
            assert informed["assertedBy"] == row["owner"]
            standard, enhanced = DUTY_LIMITS[row["duty"]]
            limit = enhanced if row["enhanced"] == "Y" else standard
            late = int(row["working_days"]) > limit
            assert row["outcome"] == ("late" if late else "on_time"), row
        else:
            assert row["outcome"] in ("never", "pending")
    total = sum(outcomes.values())
    assert 0.55 < outcomes["on_time"] / total < 0.95
    assert outcomes["late"] > 0.03 * total
    assert outcomes["never"] > 0.01 * total
    by_owner: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        if row["outcome"] in ("on_time", "late", "never"):
            by_owner[row["owner"]].append(row["outcome"] == "on_time")
    shares = [sum(v) / len(v) for v in by_owner.values() if len(v) >= 40]
    assert max(shares) - min(shares) > 0.08  # agencies differ, so statistics have something to find


def test_world_is_realistic_in_its_shape(noisy_world: World) -> None:
    rows = noisy_world.dict_rows("truth_cases.csv")
    suspects = [r for r in rows if r["person_id"]]
    charged = [r for r in suspects if r["charge_decision"] == "charge"]
    assert len(charged) < 0.4 * len(rows)  # most recorded crimes never see a charge
    verdicts = Counter(r["verdict"] for r in charged if r["verdict"])
    assert verdicts["convicted"] > 0.6 * sum(verdicts.values())
    sentences = Counter(r["sentence_type"] for r in charged if r["sentence_type"])
    assert 0.05 < sentences["immediate_custody"] / sum(sentences.values()) < 0.5
    per_person = Counter(r["person_id"] for r in suspects)
    assert sum(1 for n in per_person.values() if n >= 3) > 10  # repeat offenders
    victims = {r["person_id"] for r in noisy_world.truth_for("police_victims.csv")}
    offenders = {r["person_id"] for r in noisy_world.truth_for("police.csv")}
    assert victims & offenders  # some victims offend elsewhere
    people = noisy_world.dict_rows("truth_people.csv")
    origins = Counter(p["origin"] for p in people)
    assert origins["en_GB"] > 0.5 * len(people) and origins["cy"] > 0 and len(origins) >= 6
    assert any("-" in p["surname"] for p in people)
    assert any(p["married_surname"] for p in people)
    victims_rows = noisy_world.dict_rows("police_victims.csv")
    assert any(v["language"] == "cy" for v in victims_rows)
    assert any("domestic_abuse" in v["enhanced_reasons"] for v in victims_rows)


def test_master_defendant_id_is_one_per_person_unless_split(noisy_world: World) -> None:
    cases = noisy_world.json("courts.json")["prosecutionCases"]
    ids: dict[str, set[str]] = defaultdict(set)
    splits = 0
    for row in noisy_world.truth_for("courts.json"):
        _, _, i, _, j = row["record_key"].split("/")
        master = cases[int(i)]["defendants"][int(j)]["masterDefendantId"]
        if "split_identity" in row["noise"]:
            splits += 1
            assert master not in ids.get(row["person_id"], set())
        else:
            ids[row["person_id"]].add(master)
    assert splits > 0
    assert all(len(masters) == 1 for masters in ids.values())


def test_organisations_are_real_and_complete(small_world: World) -> None:
    orgs = json.loads(small_world.text("organisations.json"))
    codes = [o["code"] for o in orgs]
    assert len(codes) == len(set(codes))
    kinds = {o["kind"] for o in orgs}
    assert kinds == {"police", "cps", "court", "witness_care", "prison", "probation",
                     "victim_support", "compensation", "education"}  # fmt: skip
    forces = {o["forceCode"]: o["name"] for o in orgs if o["kind"] == "police"}
    assert forces["01"] == "Metropolitan Police Service"
    assert forces["62"] == "South Wales Police"
    prisons = {o["code"]: o["name"] for o in orgs if o["kind"] == "prison"}
    assert prisons["MDI"] == "HMP & YOI Moorland" and prisons["LEI"] == "HMP Leeds"
    assert all(len(code) == 3 for code in prisons)
    names = {o["name"] for o in orgs}
    assert {"Novus", "Milton Keynes College", "Weston College", "PeoplePlus"} <= names
    assert "Criminal Injuries Compensation Authority" in names
