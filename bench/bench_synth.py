"""Benchmark: how fast ``write_world`` writes a synthetic world, against raw CSV writing.

Runs ``write_world`` for ``--people`` people (default 100,000) into a temporary directory, then,
in the same run, a baseline that writes the same number of rows of a constant CSV row with a
plain ``csv.writer``: the machine's raw write throughput. Prints rows per second for both and
their ratio, writes ``bench/results/synth.json`` and adds or updates this run's line in
``bench/results/synth.md``.

    .venv/bin/python bench/bench_synth.py [--people N] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from onestory.synth import write_world

RESULTS = Path(__file__).resolve().parent / "results"
MD_HEADER = (
    "# Synthetic world generator\n\n"
    "`bench/bench_synth.py`: `write_world` against writing the same number of constant rows with "
    "a plain `csv.writer` (raw write throughput), measured in the same run.\n\n"
    "| date (UTC) | people | rows | seconds | rows/s | baseline rows/s | ratio | peak RSS MB "
    "| CPUs | Python |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
)


def baseline(rows: int, directory: Path) -> float:
    """Seconds to write ``rows`` constant rows of 12 columns with csv.writer."""
    row = ["2002/0073319Z", "61GD7528225", "SMITH, John", "01/02/1990", "M", "LS1 4AP",
           "TH68010", "Theft from a shop", "03/04/2024", "05/04/2024", "1", "CHARGED"]  # fmt: skip
    started = time.perf_counter()
    with (directory / "baseline.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for _ in range(rows):
            writer.writerow(row)
    return time.perf_counter() - started


def _update_markdown(path: Path, line: str, key: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else MD_HEADER
    kept = [old for old in text.splitlines() if not old.startswith(key)]
    path.write_text("\n".join(kept).rstrip("\n") + "\n" + line + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        directory = Path(tmp)
        summary = write_world(directory / "world", people=args.people, seed=args.seed)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = summary.total_rows
        base_seconds = baseline(rows, directory)
    rate = rows / summary.seconds
    base_rate = rows / base_seconds
    now = datetime.now(UTC)
    result = {
        "people": summary.people,
        "rows": rows,
        "rows_by_file": summary.rows,
        "seconds": round(summary.seconds, 3),
        "rows_per_second": round(rate),
        "baseline_seconds": round(base_seconds, 3),
        "baseline_rows_per_second": round(base_rate),
        "ratio_to_baseline": round(rate / base_rate, 4),
        "peak_rss_mb": round(peak_mb, 1),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    print(f"write_world: {summary.people:,} people, {rows:,} rows in {summary.seconds:.1f} s "
          f"= {rate:,.0f} rows/s (peak RSS {peak_mb:.0f} MB)")  # fmt: skip
    print(f"baseline:    {rows:,} constant rows with csv.writer in {base_seconds:.1f} s "
          f"= {base_rate:,.0f} rows/s")  # fmt: skip
    print(f"ratio:       {rate / base_rate:.3f} of raw CSV write throughput")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synth.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    day = now.strftime("%Y-%m-%d")
    key = f"| {day} | {summary.people:,} |"
    line = (
        f"{key} {rows:,} | {summary.seconds:.1f} | {rate:,.0f} | {base_rate:,.0f} | "
        f"{rate / base_rate:.3f} | {peak_mb:.0f} | {os.cpu_count()} | {platform.python_version()} |"
    )
    _update_markdown(RESULTS / "synth.md", line, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
