"""Why two records are, or are not, the same person: each comparison's level and weight.

Splink scores the pair directly (``score_pair``). The term frequencies come from the model
(what the training data held), passed in as ``tf_`` columns, so an explanation shown to a
reviewer next year reads the same as it did when the link was made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from splink import DuckDBAPI, Linker

from onestory.linkage.normalise import LINK_COLUMNS, prepare

_LOCK = threading.RLock()  # one DuckDB connection per linker: one pair at a time

if TYPE_CHECKING:
    from onestory.linkage.model import Explanation, TrainedModel


def explain_pair(
    model: TrainedModel, record_l: Mapping[str, Any], record_r: Mapping[str, Any]
) -> Explanation:
    """The ``Explanation`` of one pair (see ``model.explain``)."""
    from onestory.linkage.model import ComparisonWeight, Explanation, tf_value

    rows = []
    for i, record in enumerate((record_l, record_r)):
        row = {c: record.get(c) for c in LINK_COLUMNS}
        row["record_id"] = str(record.get("record_id") or f"record_{'lr'[i]}")
        rows.append(row)
    if rows[0]["record_id"] == rows[1]["record_id"]:
        rows[1]["record_id"] = f"{rows[1]['record_id']}'"
    prepared = prepare(pd.DataFrame(rows, columns=list(LINK_COLUMNS)))
    records = [_plain(r) for r in prepared.to_dict("records")]
    for record in records:
        for column in model.term_frequencies:
            record[f"tf_{column}"] = tf_value(model, column, record.get(column))

    with _LOCK:
        linker = _scoring_linker(model, records)
        found = linker.inference.score_pair(records[0], records[1])
        scored: pd.DataFrame = found.as_pandas_dataframe()  # type: ignore[no-untyped-call]
        found.drop_table_from_database_and_remove_from_cache()
    result = scored.iloc[0].to_dict()

    comparisons = []
    for comparison in model.settings["comparisons"]:
        name = comparison["output_column_name"]
        gamma = int(result[f"gamma_{name}"])
        weight = float(result.get(f"mw_{name}", 0.0) or 0.0)
        weight += float(result.get(f"mw_tf_adj_{name}", 0.0) or 0.0)
        columns = _columns_of(comparison)
        comparisons.append(
            ComparisonWeight(
                name=name,
                label_for_level=_label(comparison, gamma),
                match_weight=weight,
                value_l=_values(records[0], columns),
                value_r=_values(records[1], columns),
            )
        )
    total = float(result["match_weight"])
    return Explanation(
        total_match_weight=total,
        match_probability=float(result["match_probability"]),
        prior_match_weight=model.prior_match_weight,
        comparisons=comparisons,
    )


# Scoring linkers by model: building one (a DuckDB connection, the settings compiled) costs
# most of a second, scoring a pair with it a few milliseconds.
_LINKERS: dict[str, Linker] = {}
_MAX_LINKERS = 4
_MAX_USES = 1000
_USES: dict[str, int] = {}


def _scoring_linker(model: TrainedModel, records: list[dict[str, Any]]) -> Linker:
    key = hashlib.sha256(json.dumps(model.settings, sort_keys=True).encode()).hexdigest()
    with _LOCK:
        linker = _LINKERS.get(key)
        _USES[key] = _USES.get(key, 0) + 1
        if _USES[key] > _MAX_USES:
            # Splink keeps each scored pair's two input rows as small tables; start afresh
            # now and then rather than let them pile up.
            linker, _USES[key] = None, 1
        if linker is None:
            if len(_LINKERS) >= _MAX_LINKERS:
                _LINKERS.pop(next(iter(_LINKERS)))
            table = DuckDBAPI().register(pd.DataFrame(records))
            linker = Linker(table, json.loads(json.dumps(model.settings)), log_level=logging.ERROR)
            _LINKERS[key] = linker
        return linker


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    # pandas' NA is not a value Splink can register; None is.
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out[key] = None
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _label(comparison: Mapping[str, Any], gamma: int) -> str:
    levels = comparison["comparison_levels"]
    non_null = [level for level in levels if not level.get("is_null_level")]
    if gamma == -1:
        null = next((level for level in levels if level.get("is_null_level")), None)
        return str(null.get("label_for_charts", "Missing")) if null else "Missing"
    # Splink numbers the non-null levels from the last (0) up to the first.
    index = len(non_null) - 1 - gamma
    if 0 <= index < len(non_null):
        level = non_null[index]
        return str(level.get("label_for_charts") or level["sql_condition"])
    return f"level {gamma}"


def _columns_of(comparison: Mapping[str, Any]) -> list[str]:
    # The primary column a comparison is about: its name when that is a column, else the
    # columns its first (exact or custom) level reads.
    name = comparison["output_column_name"]
    mapping = {
        "forenames": ["forename1", "forename2"],
        "date_of_birth": ["dob"],
        "agency_ids": ["prison_number", "probation_crn", "uln", "ni_number"],
    }
    return mapping.get(name, [name])


def _values(record: Mapping[str, Any], columns: list[str]) -> Any:
    if len(columns) == 1:
        return record.get(columns[0])
    return {c: record.get(c) for c in columns if record.get(c) is not None} or None
