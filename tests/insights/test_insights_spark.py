"""The Victims' Code compliance measure gives the same rows on Spark SQL as on DuckDB.

Both engines read the same snapshot Parquet files and run the same SQL text; only the measures
marked portable are offered to Spark. Runs on a local Spark (``local[2]``) like the linkage
Spark test, and is skipped where Java is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from insights_world import InsightsWorld

from onestory.insights.engine import Measure, MeasureError, compute, connect
from onestory.insights.measures_victims import COMPLIANCE
from onestory.insights.spark import compute_on_spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("Java is not installed, and Spark needs it")
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # The same jars as the linkage Spark test: whichever runs first in a worker starts the JVM,
    # and a jar can only join its class path then (the linkage test's string functions need it).
    session = (
        SparkSession.builder.master("local[2]")
        .appName("onestory-insights-test")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _rows(table: Any) -> list[tuple[Any, ...]]:
    # Engines may order ties differently; compare as sorted rows, with nulls kept apart.
    return sorted(
        (tuple(row.values()) for row in table.to_pylist()),
        key=lambda row: tuple((value is None, str(value)) for value in row),
    )


@pytest.mark.spark
def test_compliance_is_the_same_on_spark_as_on_duckdb(
    spark: Any, insights_world: InsightsWorld
) -> None:
    assert COMPLIANCE.portable
    duck = compute(COMPLIANCE, connect(insights_world.snapshot))
    on_spark = compute_on_spark(COMPLIANCE, insights_world.snapshot, spark)
    assert on_spark.schema == duck.schema
    assert duck.num_rows > 100  # enough groups that a difference would show
    assert _rows(on_spark) == _rows(duck)
    # The views were the query's own: nothing is left registered in the session.
    assert not [t for t in spark.catalog.listTables() if t.isTemporary]


def test_a_measure_that_is_not_portable_is_refused_before_spark_is_touched() -> None:
    local_only = Measure(
        id="local-only",
        title="Local only",
        definition="A measure using DuckDB-only functions.",
        dimensions=(),
        counts=("n",),
        columns={"n": "How many"},
    )
    with pytest.raises(MeasureError, match="local-only is not portable"):
        compute_on_spark(local_only, snapshot=None, spark_session=None)  # type: ignore[arg-type]
