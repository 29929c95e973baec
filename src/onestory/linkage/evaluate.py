"""Scoring a linkage against ground truth: pairwise and cluster precision, recall and F1.

Used by the benchmark and the tests only: a model is never trained on ground truth. Cluster
scores count pairs of records (two records are linked when they share a cluster), so they
are computed from cluster sizes without listing the pairs, and a million records is quick.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 over pairs of records, with the counts behind them."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    actual: int

    @classmethod
    def of(cls, true_positives: int, predicted: int, actual: int) -> Scores:
        """Scores from counts (an empty prediction has precision 1, no truth recall 1)."""
        precision = true_positives / predicted if predicted else 1.0
        recall = true_positives / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, true_positives, predicted, actual)

    def as_dict(self) -> dict[str, Any]:
        """The scores as JSON-ready numbers (rounded)."""
        data = asdict(self)
        for key in ("precision", "recall", "f1"):
            data[key] = round(data[key], 5)
        return data


def restrict(truth: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The truth for the records in ``frame`` only (rows the mapping rejected are not there)."""
    return truth.loc[truth["record_id"].isin(frame["record_id"].astype(str))]


def _pairs_in_groups(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def true_pair_count(truth: pd.DataFrame) -> int:
    """How many pairs of records belong to the same person."""
    return _pairs_in_groups(truth.groupby("person_id").size())


def pairwise_scores(
    pairs: pd.DataFrame, truth: pd.DataFrame, *, threshold_match_probability: float
) -> Scores:
    """Pairs at or above the threshold against the true pairs (``truth``: record_id, person_id)."""
    person = truth.set_index("record_id")["person_id"]
    kept = pairs.loc[pairs["match_probability"] >= threshold_match_probability]
    kept = kept.drop_duplicates(["record_id_l", "record_id_r"])
    left = kept["record_id_l"].map(person)
    right = kept["record_id_r"].map(person)
    true_positives = int(((left == right) & left.notna()).sum())
    return Scores.of(true_positives, len(kept), true_pair_count(truth))


def cluster_scores(clusters: pd.DataFrame, truth: pd.DataFrame) -> Scores:
    """Clusters (record_id, cluster_id) against people: pairs sharing a cluster vs a person."""
    joined = clusters.merge(truth, on="record_id", how="inner")
    predicted = _pairs_in_groups(joined.groupby("cluster_id").size())
    true_positives = _pairs_in_groups(joined.groupby(["cluster_id", "person_id"]).size())
    return Scores.of(true_positives, predicted, true_pair_count(joined))


def blocking_recall(pairs: pd.DataFrame, truth: pd.DataFrame) -> float:
    """The share of true pairs that the blocking rules put forward at all (any score)."""
    return pairwise_scores(pairs, truth, threshold_match_probability=0.0).recall
