"""The linkage model: which agency records are the same person, and why.

A Splink 5 (Fellegi–Sunter) model built for justice data. Agencies spell one person many
ways: nicknames (Bill for William), aliases, forename and surname swapped, a married surname,
day and month of birth transposed, a date of birth a year out, an old address, a missing or
mistyped identifier. Each comparison below has a level for each of those, so a record with one
of them loses a little weight instead of all of it, and the PNC ID and CRO number (the
identifiers the police and courts share) count for a great deal when both records have them.

The model is trained without labels (u by random sampling, m by expectation maximisation on
blocking rules, the prior from deterministic rules), so it can be trained on any agency's data
with no ground truth. Everything here is pure with respect to our database: frames in, frames
out. The person index (``linkage.index``) stores the trained model (``TrainedModel.to_json``)
and the results.

CONTRACT (laid down before the work was shared out; keep these names and shapes):

- ``LINK_COLUMNS``: the input frame's columns (the person columns of ``agency_record``,
  ``source`` being its ``layout``; ``case_urn`` optional).
- ``prepare(frame) -> DataFrame``: the normalised columns the comparisons use.
- ``onestory_settings()`` / ``baseline_settings()`` -> ``SettingsCreator``.
- ``TrainedModel``: the model as JSON plus what it was trained on; ``to_json``/``from_json``.
- ``train(frame, *, settings=None, plan=None, seed=1, db_api=None) -> TrainedModel``.
- ``predict(model, frame, *, threshold_match_weight=None, db_api=None) -> DataFrame`` of pairs
  (``record_id_l``, ``record_id_r``, ``match_weight``, ``match_probability``, and per
  comparison ``gamma_<name>`` (its level) and ``mw_<name>`` (its match weight: Splink 5 gives
  log2 Bayes factors, not ``bf_``; ``mw_tf_adj_<name>`` is the term-frequency part)),
  ``record_id_l < record_id_r``.
- ``cluster(model, frame, pairs, *, threshold_match_probability) -> DataFrame`` of
  (``record_id``, ``cluster_id``), one row per input record; ``cluster_id`` is the cluster's
  smallest ``record_id``.
- ``explain(model, record_l, record_r) -> Explanation``: each comparison's match weight.
- ``IndexMatcher(model, index_frame)`` prepares and loads the index once;
  ``.match(new_frame)`` scores new records against it. ``match_new(model, index_frame,
  new_frame)`` is the one-off form. Pairs have the new record on the right (``record_id_r``).
- ``db_api``: a Splink database API (``DuckDBAPI()`` by default; ``SparkAPI`` for Spark).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from splink import Linker, SettingsCreator
from splink.internals.exceptions import EMTrainingException

from onestory.linkage.normalise import LINK_COLUMNS, prepare
from onestory.linkage.settings import (
    TrainingPlan,
    baseline_plan,
    baseline_settings,
    onestory_plan,
    onestory_settings,
)

__all__ = [
    "LINK_COLUMNS",
    "ComparisonWeight",
    "Explanation",
    "IndexMatcher",
    "LinkageError",
    "TrainedModel",
    "TrainingPlan",
    "baseline_plan",
    "baseline_settings",
    "cluster",
    "explain",
    "match_new",
    "onestory_plan",
    "onestory_settings",
    "predict",
    "prepare",
    "train",
]

# A Splink database API (DuckDBAPI, SparkAPI...). Typed loosely: Splink's backends share a base
# class only in its internals, and the Spark one is importable only where pyspark is.
DBAPI = Any

# Splink's training warnings (a level not seen in a small sample) are for a person tuning a
# model at a notebook, not for a service log.
_SPLINK_LOG_LEVEL = logging.ERROR
_TF_FLOOR_COUNT = 1  # a value never seen in training counts as seen once


class LinkageError(ValueError):
    """Input the model cannot work with; the message names the column or record at fault."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained model, as stored in the database and reloaded to predict or explain.

    ``settings`` is Splink's own JSON (``linker.misc.save_model_to_json``): comparisons, their
    m and u probabilities, blocking rules and the prior. ``term_frequencies`` keeps, for each
    column with a term-frequency adjustment, how often each value occurred in the training data,
    so a pair explained later is weighed as it was when the index was built.
    """

    settings: dict[str, Any]
    rows: int
    seconds: float
    seed: int
    name: str = "onestory"
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped_rules: list[str] = field(default_factory=list)  # training rules that found no pairs

    @property
    def prior_match_weight(self) -> float:
        """log2 of the prior odds that two random records are the same person."""
        p = float(self.settings["probability_two_random_records_match"])
        return math.log2(p / (1.0 - p))

    def to_json(self) -> str:
        """The model as one JSON document (what the person index stores)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> TrainedModel:
        """The model ``to_json`` wrote."""
        data = json.loads(text) if isinstance(text, str) else dict(text)
        try:
            return cls(**data)
        except TypeError as exc:
            raise LinkageError(f"not a stored linkage model: {exc}") from exc


@dataclass(frozen=True)
class ComparisonWeight:
    """One comparison's part in a decision: which level the pair fell in and what it weighed."""

    name: str  # the comparison, e.g. "forenames", "date_of_birth", "pnc_id"
    label_for_level: str  # e.g. "Day and month transposed"
    match_weight: float  # log2 Bayes factor, with the term-frequency adjustment if any
    value_l: Any
    value_r: Any


@dataclass(frozen=True)
class Explanation:
    """Why two records are (or are not) the same person.

    ``total_match_weight`` is the prior match weight plus every comparison's match weight.
    """

    total_match_weight: float
    match_probability: float
    prior_match_weight: float
    comparisons: list[ComparisonWeight]


def default_db_api() -> DBAPI:
    """A fresh in-memory DuckDB: the default backend."""
    from splink import DuckDBAPI

    return DuckDBAPI()


def train(
    frame: pd.DataFrame,
    *,
    settings: SettingsCreator | None = None,
    plan: TrainingPlan | None = None,
    seed: int = 1,
    db_api: DBAPI | None = None,
) -> TrainedModel:
    """Train a model on ``frame`` (LINK_COLUMNS) without labels.

    The prior comes from deterministic rules (the plan's, with their assumed recall), u from
    random sampling, m by expectation maximisation on each of the plan's blocking rules.
    ``settings`` defaults to ``onestory_settings()`` and ``plan`` to the plan that goes with
    the settings (``onestory_plan()``; ``baseline_plan()`` for ``baseline_settings()``).
    """
    started = time.perf_counter()
    if settings is None:
        settings = onestory_settings()
    if plan is None:
        plan = onestory_plan() if _is_onestory(settings) else baseline_plan()
    prepared = _prepared(frame)
    db_api = db_api or default_db_api()
    linker = Linker(_register(db_api, prepared), settings, log_level=_SPLINK_LOG_LEVEL)
    training = linker.training
    training.estimate_u_using_random_sampling(max_pairs=plan.u_max_pairs, seed=seed)
    skipped: list[str] = []
    for rule in plan.em_rules:
        # A rule that blocks no pairs here (no PNC IDs in a data set without police records)
        # is left out; the other rules still train every comparison it would have.
        try:
            training.estimate_parameters_using_expectation_maximisation(rule)  # type: ignore[arg-type]
        except EMTrainingException:
            skipped.append(_rule_sql(rule))
    if len(skipped) == len(plan.em_rules):
        raise LinkageError("none of the training rules found any pairs: " + "; ".join(skipped))
    # The prior last: a training rule that found no pairs can leave Splink's prior changed.
    training.estimate_probability_two_random_records_match(
        list(plan.deterministic_rules), recall=plan.recall
    )
    model_json = linker.misc.save_model_to_json()
    return TrainedModel(
        settings=model_json,
        rows=len(prepared),
        seconds=round(time.perf_counter() - started, 3),
        seed=seed,
        name=plan.name,
        term_frequencies=_term_frequencies(prepared, model_json),
        skipped_rules=skipped,
    )


def predict(
    model: TrainedModel,
    frame: pd.DataFrame,
    *,
    threshold_match_weight: float | None = None,
    db_api: DBAPI | None = None,
) -> pd.DataFrame:
    """Every pair the model's blocking rules find within ``frame``, scored."""
    prepared = _prepared(frame)
    db_api = db_api or default_db_api()
    linker = _linker(model, _register(db_api, prepared))
    found = linker.inference.predict(
        threshold_match_weight=threshold_match_weight, warning_mode="never"
    )
    pairs = _pairs_frame(linker, found)
    found.drop_table_from_database_and_remove_from_cache()
    return _tidy_pairs(pairs)


def cluster(
    model: TrainedModel,
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    threshold_match_probability: float,
    db_api: DBAPI | None = None,
) -> pd.DataFrame:
    """People: records joined by pairs at or above the threshold (connected components).

    Every record of ``frame`` gets a row; a record linked to nothing is its own cluster.
    ``cluster_id`` is the smallest ``record_id`` in the cluster.
    """
    ids = _record_ids(frame)
    db_api = db_api or default_db_api()
    nodes = db_api.register(pd.DataFrame({"record_id": ids}))
    linker = _linker(model, nodes, validate=False)
    edges = pairs.loc[
        pairs["match_probability"] >= threshold_match_probability,
        ["record_id_l", "record_id_r", "match_probability"],
    ]
    registered = db_api.register(edges.reset_index(drop=True))
    clusters = _to_pandas(
        linker.clustering.cluster_pairwise_predictions_at_threshold(
            registered, threshold_match_probability=threshold_match_probability
        )
    )
    clusters = clusters[["record_id", "cluster_id"]].astype({"record_id": str, "cluster_id": str})
    # Backends name clusters differently; the smallest member's id is the same everywhere.
    clusters["cluster_id"] = clusters.groupby("cluster_id")["record_id"].transform("min")
    return clusters.sort_values("record_id").reset_index(drop=True)


def explain(
    model: TrainedModel, record_l: Mapping[str, Any], record_r: Mapping[str, Any]
) -> Explanation:
    """Why two records do or do not match: the level and match weight of each comparison.

    The records are dicts of LINK_COLUMNS (missing keys count as blank). Term frequencies are
    the ones stored with the model, so the explanation does not depend on what else is loaded.
    """
    from onestory.linkage.explain import explain_pair

    return explain_pair(model, record_l, record_r)


class IndexMatcher:
    """The person index's records, prepared and loaded into the database once.

    Matching new records then costs only the blocking joins against the loaded table and the
    scoring of the candidate pairs (a thousand new records against a million indexed ones in a
    few seconds), not a re-preparation of the index.
    """

    def __init__(
        self, model: TrainedModel, index_frame: pd.DataFrame, *, db_api: DBAPI | None = None
    ) -> None:
        self.model = model
        self._db_api = db_api or default_db_api()
        prepared = _prepared(index_frame)
        self.rows = len(prepared)
        self._index = _register(self._db_api, prepared)
        self._linker = _linker(model, self._index)
        # Term frequencies from the index as it is now, computed once.
        for column in model.term_frequencies:
            self._linker.table_management.compute_tf_table(column)
        self._batches = 0

    def match(
        self, new_frame: pd.DataFrame, *, threshold_match_weight: float | None = None
    ) -> pd.DataFrame:
        """Pairs of a new record (``record_id_r``) and an indexed one (``record_id_l``).

        Only new-against-index pairs: pairs among the new records themselves come from
        ``predict`` on the new records.
        """
        self._batches += 1
        new = _register(self._db_api, _prepared(new_frame))
        found = self._linker.inference.predict_between(
            self._index,
            new,
            threshold_match_weight=threshold_match_weight,
            warning_mode="never",
        )
        pairs = _pairs_frame(self._linker, found)
        found.drop_table_from_database_and_remove_from_cache()
        new.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return _tidy_pairs(pairs, order=False)


def match_new(
    model: TrainedModel,
    index_frame: pd.DataFrame,
    new_frame: pd.DataFrame,
    *,
    threshold_match_weight: float | None = None,
    db_api: DBAPI | None = None,
) -> pd.DataFrame:
    """Pairs of NEW records (``record_id_r``) against existing index records (``record_id_l``).

    For repeated batches against the same index keep an ``IndexMatcher``.
    """
    matcher = IndexMatcher(model, index_frame, db_api=db_api)
    return matcher.match(new_frame, threshold_match_weight=threshold_match_weight)


# --- helpers ---------------------------------------------------------------------------------


def _is_onestory(settings: SettingsCreator) -> bool:
    names = {
        c.get_comparison("duckdb").output_column_name
        for c in settings.comparisons
        if not isinstance(c, dict)
    }
    return "pnc_id" in names


def _pairs_frame(linker: Linker, found: Any) -> pd.DataFrame:
    # Only the columns a caller uses cross into pandas: the records' own values (which Splink
    # must keep to give the gamma columns) would more than double the memory at scale.
    wanted = [
        c
        for c in found.columns
        if c.unquote().name in ("record_id_l", "record_id_r", "match_weight", "match_probability")
        or c.unquote().name.startswith(("gamma_", "mw_"))
    ]
    columns = ", ".join(c.name for c in wanted)
    # Column and table names come from Splink's own output table, never from input data.
    sql = f"SELECT {columns} FROM {found.physical_name}"  # noqa: S608
    frame: pd.DataFrame = linker.misc.query_sql(sql, output_type="pandas")  # type: ignore[no-untyped-call]
    return frame


def _to_pandas(table: Any) -> pd.DataFrame:
    frame: pd.DataFrame = table.as_pandas_dataframe()
    return frame


def _register(db_api: DBAPI, frame: pd.DataFrame) -> Any:
    if db_api.sql_dialect.sql_dialect_str != "duckdb":
        # pandas' NA in a string column does not reach Spark as null; None does.
        frame = frame.astype(object).where(frame.notna(), None)
    return db_api.register(frame)


def _rule_sql(rule: object) -> str:
    get_rule = getattr(rule, "get_blocking_rule", None)
    return str(get_rule("duckdb").blocking_rule_sql) if get_rule else str(rule)


def _prepared(frame: pd.DataFrame) -> pd.DataFrame:
    # A frame prepare() already made is recognised by its columns and not prepared twice.
    if "forename1_root" in frame.columns:
        return frame
    return prepare(frame)


def _linker(model: TrainedModel, table: Any, *, validate: bool = True) -> Linker:
    dialect = table.db_api.sql_dialect.sql_dialect_str
    return Linker(
        table,
        settings_for_dialect(model, dialect),
        log_level=_SPLINK_LOG_LEVEL,
        validate_settings=validate,
    )


def settings_for_dialect(model: TrainedModel, dialect: str) -> dict[str, Any]:
    """The trained model's settings written in another backend's SQL (DuckDB -> Spark).

    Splink stores SQL in the dialect the model was trained in, and DuckDB's quoted names are
    string literals to Spark. So the comparisons are built again from their creator in the
    other dialect and the trained m and u probabilities and prior copied across, level by level.
    """
    trained: dict[str, Any] = json.loads(json.dumps(model.settings))
    if trained.get("sql_dialect", "duckdb") == dialect:
        return trained
    creators = {"onestory": onestory_settings, "splink-baseline": baseline_settings}
    if model.name not in creators:
        raise LinkageError(f"a {model.name!r} model can only run on {trained['sql_dialect']}")
    fresh: dict[str, Any] = creators[model.name]().create_settings_dict(dialect)
    for new, old in zip(fresh["comparisons"], trained["comparisons"], strict=True):
        if new["output_column_name"] != old["output_column_name"] or len(
            new["comparison_levels"]
        ) != len(old["comparison_levels"]):
            raise LinkageError(
                f"the stored model's comparison {old['output_column_name']!r} differs from "
                "this version's; train the model again"
            )
        for new_level, old_level in zip(
            new["comparison_levels"], old["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in old_level:
                    new_level[key] = old_level[key]
    for key in ("probability_two_random_records_match", "linker_uid"):
        fresh[key] = trained.get(key)
    return fresh


def _record_ids(frame: pd.DataFrame) -> pd.Series:
    if "record_id" not in frame.columns:
        raise LinkageError("the frame has no record_id column")
    return frame["record_id"].astype(str)


def _term_frequencies(
    prepared: pd.DataFrame, model_json: dict[str, Any]
) -> dict[str, dict[str, float]]:
    columns = _tf_columns(model_json)
    result: dict[str, dict[str, float]] = {}
    rows = max(len(prepared), 1)
    for column in columns:
        counts = prepared[column].dropna().value_counts()
        # Values seen once are left out (they are most of the table and a value not stored
        # is weighed as seen once), which keeps the stored model small.
        counts = counts[counts > _TF_FLOOR_COUNT]
        result[column] = {str(k): float(v) / rows for k, v in counts.items()}
    return result


def _tf_columns(model_json: Mapping[str, Any]) -> list[str]:
    columns: list[str] = []
    for comparison in model_json["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and column not in columns:
                columns.append(column)
    return columns


def tf_value(model: TrainedModel, column: str, value: Any) -> float | None:
    """How often ``value`` of ``column`` occurred in training (a value unseen as if once)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    frequencies = model.term_frequencies.get(column, {})
    return frequencies.get(str(value), _TF_FLOOR_COUNT / max(model.rows, 1))


def _tidy_pairs(pairs: pd.DataFrame, *, order: bool = True) -> pd.DataFrame:
    keep = ["record_id_l", "record_id_r", "match_weight", "match_probability"]
    keep += [c for c in pairs.columns if c.startswith(("gamma_", "mw_"))]
    keep += [c for c in ("match_key",) if c in pairs.columns]
    pairs = pairs[keep].copy()
    pairs["record_id_l"] = pairs["record_id_l"].astype(str)
    pairs["record_id_r"] = pairs["record_id_r"].astype(str)
    if order:
        swap = pairs["record_id_l"] > pairs["record_id_r"]
        if swap.any():
            pairs.loc[swap, ["record_id_l", "record_id_r"]] = pairs.loc[
                swap, ["record_id_r", "record_id_l"]
            ].to_numpy()
    return pairs.reset_index(drop=True)
