"""Stable ids and people's overrides, as pure functions over hand-made clusters and pairs.

The database tests exercise these through the real model; here each rule is pinned down on
its own: who keeps an id in a merge or a split, how a "never" cuts a chain at its weakest link,
and how new records are placed without renaming anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pandas as pd

from onestory.linkage.index import apply_overrides, assign_ids, place_new

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ids() -> object:
    numbers = count(1)
    return lambda: f"P-NEW{next(numbers)}"


def test_a_cluster_of_one_persons_records_keeps_the_id() -> None:
    result = assign_ids([["a", "b", "c"]], {"a": "P-1", "b": "P-1"}, {"P-1": (T0, "P-1")}, ids())
    assert result.person_of == {"a": "P-1", "b": "P-1", "c": "P-1"}
    assert not result.created and not result.merges and not result.splits


def test_a_merge_keeps_the_oldest_id() -> None:
    seniority = {"P-OLD": (T0, "P-OLD"), "P-YOUNG": (T0 + timedelta(days=1), "P-YOUNG")}
    result = assign_ids([["a", "b", "c"]], {"a": "P-YOUNG", "b": "P-OLD", "c": "P-YOUNG"},
                        seniority, ids())  # fmt: skip
    assert set(result.person_of.values()) == {"P-OLD"}
    assert result.merges == [(["P-YOUNG"], "P-OLD")]


def test_a_split_leaves_the_id_with_the_larger_part() -> None:
    current = {"a": "P-1", "b": "P-1", "c": "P-1"}
    result = assign_ids([["c"], ["a", "b"]], current, {"P-1": (T0, "P-1")}, ids())
    assert result.person_of == {"a": "P-1", "b": "P-1", "c": "P-NEW1"}
    assert result.splits == [("P-1", ["P-1", "P-NEW1"])]
    assert result.created == ["P-NEW1"]


def test_a_never_cuts_a_chain_at_its_weakest_link() -> None:
    clusters = {"a": "x", "b": "x", "c": "x", "d": "y"}
    links = [("a", "b", 0.99), ("b", "c", 0.96)]
    grouped = apply_overrides(clusters, links, [("a", "c", "never")])
    assert sorted(sorted(g) for g in grouped.groups) == [["a", "b"], ["c"], ["d"]]
    assert grouped.never_kept_apart == 1


def test_always_joins_clusters_and_never_wins_a_contradiction() -> None:
    clusters = {"a": "x", "b": "y", "c": "z"}
    joined = apply_overrides(clusters, [], [("a", "b", "always")])
    assert sorted(sorted(g) for g in joined.groups) == [["a", "b"], ["c"]]
    contradiction = apply_overrides(
        clusters, [], [("a", "b", "always"), ("b", "c", "always"), ("a", "c", "never")]
    )
    assert not any({"a", "c"} <= set(g) for g in contradiction.groups)
    assert contradiction.conflicts == 1


def test_new_records_join_their_best_match_or_become_new_people() -> None:
    current = {"i1": "P-1", "i2": "P-2"}
    pairs = pd.DataFrame(
        {
            "record_id_l": ["i1", "i2", "i1", "n3"],
            "record_id_r": ["n1", "n1", "n2", "n4"],
            "match_weight": [9.0, 12.0, 8.0, 10.0],
            "match_probability": [0.97, 0.999, 0.96, 0.99],
        }
    )
    assignment, how = place_new(pairs, {"n1", "n2", "n3", "n4", "n5"}, current,
                                [("i1", "n2", "never")])  # fmt: skip
    person = assignment.person_of
    assert person["n1"] == "P-2", "the strongest match wins"
    assert person["n2"] not in {"P-1", "P-2"}, "a never override rules the person out"
    assert person["n3"] == person["n4"] and person["n3"] not in {"P-1", "P-2"}
    assert person["n5"] not in {person["n3"], person["n2"]}
    assert how("n1") == "match" and how("n5") == "new"
    assert len(assignment.created) == 3
