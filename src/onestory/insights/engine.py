"""Measures, defined once, and the engine that computes them from a snapshot.

A measure is SQL over the snapshot's tables (``insights.snapshot`` documents their columns) plus
what a reader needs beside every figure: its title, a plain-English definition, and for each
output column what it means. The SQL lives in ``insights/sql/<id>.sql``; DuckDB runs it over the
Parquet files as views named after the tables. Measures whose SQL keeps to the subset DuckDB and
Spark SQL share (plain columns, ``date_trunc``, ``CASE``, ``COUNT``/``SUM``, ``percentile_cont``
is *not* shared) are marked ``portable`` and run unchanged on Spark (``insights.spark``).

Columns have roles, which disclosure control (``insights.sdc``) relies on:

- ``dimensions``: what a row is about (duty, organisation, police area, month...);
- ``counts``: numbers of people, cases or duties: small ones are suppressed before publication;
- ``statistics``: values computed from a group (a median, a 90th percentile, a rate), published
  only where the group's size (the count named by ``basis``) is large enough.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import duckdb
import pyarrow as pa

from onestory.insights.snapshot import Snapshot


class MeasureError(Exception):
    """A measure that cannot be computed; the message names it and says why."""


@dataclass(frozen=True)
class Measure:
    """One measure: its SQL and everything shown beside its figures."""

    id: str
    title: str
    definition: str
    dimensions: tuple[str, ...]
    counts: tuple[str, ...]
    columns: Mapping[str, str]
    statistics: tuple[str, ...] = ()
    basis: str | None = None
    # Statistics worked out from the row's own counts (a rate): disclosure control hides them
    # wherever a count of their row is hidden, since with the denominator they would give it back.
    rates: tuple[str, ...] = ()
    # Whether totals over the dimensions mean something: not where one figure repeats on every
    # row of a group (a denominator) or a unit is counted under several values (stages of one
    # case), where a total would double count and give hidden cells away.
    totals: bool = True
    portable: bool = False
    # The dimension a dashboard charts along (its x axis), and the count it charts.
    chart_by: str | None = None
    chart_value: str | None = None
    # Dimensions a dashboard offers as filters (area and period where the measure has them).
    filters: tuple[str, ...] = ()
    public: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def sql(self) -> str:
        """The measure's SQL, from ``insights/sql/<id>.sql``."""
        try:
            return (
                resources.files("onestory.insights")
                .joinpath("sql", f"{self.id}.sql")
                .read_text(encoding="utf-8")
            )
        except FileNotFoundError as exc:
            raise MeasureError(f"measure {self.id}: no SQL file sql/{self.id}.sql") from exc

    def check_columns(self, table: pa.Table) -> None:
        """Refuse a result whose columns are not the ones documented, in that order."""
        expected = [*self.dimensions, *self.counts, *self.statistics]
        if table.column_names != expected:
            raise MeasureError(
                f"measure {self.id}: the SQL returns columns {table.column_names}, "
                f"but the measure documents {expected}"
            )
        stray = [r for r in self.rates if r not in self.statistics]
        if stray:
            raise MeasureError(f"measure {self.id}: rates {stray} are not among its statistics")
        undocumented = [c for c in expected if c not in self.columns]
        if undocumented:
            raise MeasureError(f"measure {self.id}: columns without a description: {undocumented}")


MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add a measure to the registry (ids are unique)."""
    if measure.id in MEASURES:
        raise MeasureError(f"measure {measure.id} is defined twice")
    MEASURES[measure.id] = measure
    return measure


def all_measures() -> dict[str, Measure]:
    """Every registered measure, by id (importing the module that defines them)."""
    from onestory.insights import measures  # noqa: F401  (registers them)

    return dict(MEASURES)


def connect(snapshot: Snapshot, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per snapshot table, named after it."""
    config: dict[str, str | bool | int | float | list[str]] = (
        {"memory_limit": memory_limit} if memory_limit else {}
    )
    con = duckdb.connect(":memory:", config=config)
    for table in snapshot.tables:
        con.read_parquet(str(snapshot.file(table))).create_view(table)
    return con


def compute(measure: Measure, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The measure's full (unsuppressed) result as an Arrow table, columns checked."""
    try:
        table = con.sql(measure.sql).to_arrow_table()
    except duckdb.Error as exc:
        raise MeasureError(f"measure {measure.id}: {exc}") from exc
    measure.check_columns(table)
    return table


def compute_all(
    snapshot: Snapshot, *, progress: Callable[[str], None] | None = None
) -> dict[str, pa.Table]:
    """Every measure over ``snapshot``, by id."""
    con = connect(snapshot)
    try:
        results = {}
        for measure_id, measure in all_measures().items():
            results[measure_id] = compute(measure, con)
            if progress is not None:
                progress(measure_id)
        return results
    finally:
        con.close()
