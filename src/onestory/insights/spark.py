"""Run a portable measure on Spark SQL over the same snapshot Parquet files.

DuckDB on one machine is the engine; Spark is for data beyond one machine. A measure marked
``portable`` keeps its SQL to the subset both engines share, so the very same text runs here, with
one temporary view per snapshot table named as in DuckDB. The result is an Arrow table with the
measure's columns, so it compares row for row with ``engine.compute``.

Spark is imported by the caller (it needs Java), never by this module: OneStory without Spark
installed still imports ``insights``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from onestory.insights.engine import Measure, MeasureError
from onestory.insights.snapshot import Snapshot


def compute_on_spark(measure: Measure, snapshot: Snapshot, spark_session: Any) -> pa.Table:
    """The measure's full (unsuppressed) result computed by Spark SQL, columns checked.

    ``spark_session`` is a ``pyspark.sql.SparkSession``; each snapshot table becomes a temporary
    view of its Parquet file for the query, and is dropped afterwards.
    """
    if not measure.portable:
        raise MeasureError(
            f"measure {measure.id} is not portable: its SQL uses DuckDB-only functions, so it "
            "cannot run on Spark"
        )
    views = []
    try:
        for table in snapshot.tables:
            spark_session.read.parquet(str(snapshot.file(table))).createOrReplaceTempView(table)
            views.append(table)
        # Spark refuses a trailing semicolon; comments and whitespace it reads as DuckDB does.
        sql = measure.sql.strip().rstrip(";")
        try:
            frame = spark_session.sql(sql)
            columns = list(frame.columns)
            rows = frame.collect()
        except Exception as exc:  # Spark raises its own AnalysisException / Py4J errors
            raise MeasureError(f"measure {measure.id} on Spark: {exc}") from exc
    finally:
        for table in views:
            spark_session.catalog.dropTempView(table)
    schema = pa.schema(
        [(field.name, _arrow_type(field.dataType.simpleString())) for field in frame.schema]
    )
    table = pa.Table.from_pylist(
        [{name: _plain(row[i]) for i, name in enumerate(columns)} for row in rows], schema=schema
    )
    measure.check_columns(table)
    return table


# Spark SQL type (as ``simpleString`` spells it) -> the Arrow type DuckDB gives for it.
_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "date": pa.date32(),
    # Spark hands back timestamps as naive datetimes in its session time zone.
    "timestamp": pa.timestamp("us"),
    "timestamp_ntz": pa.timestamp("us"),
}


def _arrow_type(spark_type: str) -> pa.DataType:
    if spark_type.startswith("decimal("):
        # A sum Spark widened to a decimal: whole numbers are counts, so keep them as integers.
        scale = int(spark_type.rstrip(")").split(",")[1])
        return pa.int64() if scale == 0 else pa.float64()
    try:
        return _TYPES[spark_type]
    except KeyError:
        raise MeasureError(
            f"Spark returned a column of type {spark_type}, which has no Arrow equivalent here"
        ) from None


def _plain(value: Any) -> Any:
    # Spark gives exact sums as Decimal where DuckDB gives integers or doubles.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
