"""The Algorithmic Transparency Record: every ATRS section, with the stored model's numbers."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_index_world import build_index, make_world

from onestory.linkage import atr, index
from onestory.sharing.policy import load_policies
from onestory.store import session_factory

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_the_record_has_every_section_and_the_models_real_numbers(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    summary = build_index(sessions, make_world(15, seed=12))
    out = tmp_path / "atr" / "linkage.md"
    with sessions() as session:
        atr.write_record(
            session, out, policies=load_policies(POLICIES), bench_results=tmp_path / "none.json"
        )
        stored = index.latest_model(session)
        assert stored is not None
    text = out.read_text(encoding="utf-8")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == list(atr.SECTIONS)
    splink = stored.settings["settings"]
    # The prior, and every trained level's m, u and weight, as the model holds them.
    assert f"{splink['probability_two_random_records_match']:.6g}" in text
    levels = [
        level
        for comparison in splink["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("m_probability") and level.get("u_probability")
    ]
    assert levels
    for level in levels:
        m, u = level["m_probability"], level["u_probability"]
        assert f"| {level['label_for_charts']} | {m:.6g} | {u:.6g} | {math.log2(m / u):+.2f} |" in (
            text.replace("\\|", "|")
        )
    for rule in splink["blocking_rules_to_generate_predictions"]:
        assert rule["blocking_rule"] in text
    assert f"{summary.records:,} agency records grouped into {summary.persons:,} people" in text
    assert "police_officer (investigation)" in text, "who may read linked records, from policies"
    assert "Not measured" in text


def test_measured_accuracy_comes_from_the_benchmark_results(engine: Engine, tmp_path: Path) -> None:
    results = tmp_path / "linkage.json"
    results.write_text(
        json.dumps(
            {
                "threshold_match_probability": 0.9,
                "onestory": {"precision": 0.99312, "recall": 0.9712},
            }
        )
    )
    with session_factory(engine)() as session:
        text = atr.build_record(session, bench_results=results)
    assert "| onestory.precision | 0.9931 |" in text
    assert f"the person index links automatically at {index.LINK_THRESHOLD}" in text
    assert "| onestory.recall | 0.9712 |" in text
    assert "No model has been trained yet" in text
