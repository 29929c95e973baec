"""The same trained model on Splink's Spark backend gives the same pairs and clusters as DuckDB.

Runs on a local Spark (``local[2]``) with the similarity functions Splink ships as a jar. The
model is trained once on DuckDB; predict and cluster then run on both backends.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from onestory.linkage.model import cluster, predict, train
from onestory.linkage.worlds import world_frame
from onestory.synth import write_world

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("Java is not installed, and Spark needs it")
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master("local[2]")
        .appName("onestory-linkage-test")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("spark-checkpoints")))
    yield session
    session.stop()


def test_spark_gives_the_same_clusters_as_duckdb(
    spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from splink.backends.spark import SparkAPI

    path: Path = tmp_path_factory.mktemp("linkage-spark") / "world"
    write_world(path, people=300, seed=2)
    frame, _ = world_frame(path)
    model = train(frame, seed=1)

    duck_pairs = predict(model, frame)
    duck = cluster(model, frame, duck_pairs, threshold_match_probability=0.99)

    def spark_api() -> Any:
        return SparkAPI(spark_session=spark, break_lineage_method="persist")

    spark_pairs = predict(model, frame, db_api=spark_api())
    clusters = cluster(
        model, frame, spark_pairs, threshold_match_probability=0.99, db_api=spark_api()
    )

    key = ["record_id_l", "record_id_r"]
    both = duck_pairs.merge(spark_pairs, on=key, suffixes=("_duckdb", "_spark"))
    assert len(both) == len(duck_pairs) == len(spark_pairs)
    pd.testing.assert_series_equal(
        both["match_weight_duckdb"], both["match_weight_spark"], check_names=False, atol=1e-9
    )
    pd.testing.assert_frame_equal(clusters, duck)
    assert duck["cluster_id"].nunique() < len(duck)  # some records were linked
