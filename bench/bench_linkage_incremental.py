"""Benchmark: placing new records into the person index, the way the product does it.

``onestory linkage run --new`` (``index.link_new``) against a person index built from a
synthetic world taken in through the real exchange, on SQLite: two batches of new records (the
same people seen again by another agency, under new record ids), placed one after the other,

1. with the prepared copy of the index that a full run leaves (``linkage.index_cache``), and
2. without it (the baseline: the index read from the database and prepared afresh),

each timed end to end (database reads, scoring, writing the index and its ledger entries).

    .venv/bin/python bench/bench_linkage_incremental.py [--world DIR] [--batch 1000]

``--world`` is a directory ``onestory synth`` wrote (default: a 50,000-person world, about
100,000 agency records, generated into a temporary directory). Writes
``bench/results/linkage_incremental.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select

from onestory.exchange.ingest import ingest_file
from onestory.exchange.mapping import load_layouts
from onestory.exchange.tables import AgencyRecord
from onestory.linkage import index
from onestory.linkage.tables import PersonMember
from onestory.store import create_engine_for, session_factory
from onestory.store.migrate import upgrade
from onestory.synth import write_world

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()


def _new_batch(sessions: Any, size: int, seed: int, tag: str) -> list[str]:
    """``size`` records of people already indexed, as another agency would send them."""
    with sessions() as session:
        ids = list(session.scalars(select(AgencyRecord.id).order_by(AgencyRecord.id)))
        chosen = random.Random(seed).sample(ids, size)
        added = []
        for record_id in chosen:
            seen = session.get(AgencyRecord, record_id)
            new_id = hashlib.sha256(f"{tag}:{record_id}".encode()).hexdigest()
            copy = {
                c.name: getattr(seen, c.name)
                for c in AgencyRecord.__table__.columns
                if c.name not in ("id", "file_id", "received_at")
            }
            copy.update(id=new_id, layout="api", kind="witness_care.witness", record_key=new_id)
            session.add(AgencyRecord(**copy))
            added.append(new_id)
        session.commit()
    return added


def write_results(report: dict[str, Any]) -> None:
    """Keep the latest run for each index size: this one replaces the last of its size."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "linkage_incremental.json"
    runs: dict[str, Any] = {}
    if path.exists():
        runs = dict(json.loads(path.read_text()).get("runs", {}))
    runs[str(report["records"])] = report
    path.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    lines = [
        "# Placing new records into the person index (`onestory linkage run --new`)",
        "",
        "`bench/bench_linkage_incremental.py`, SQLite: agency records taken in through the "
        "exchange, indexed by a full run; then two batches of records of people already "
        "indexed, sent again by another agency under new ids, each placed end to end "
        "(database reads, scoring, the index and its ledger entries written): one with the "
        "prepared copy of the index a full run leaves, one without it (the baseline: the index "
        "read from the database and prepared afresh).",
        "",
        "| indexed records | new records | with the prepared copy, s | baseline, s | "
        "taking in, s | full run, s | when (load average at the end) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in sorted(runs, key=int):
        r = runs[key]
        copy, base = r["timings"]["with the prepared copy"], r["timings"]["baseline"]
        m = r["machine"]
        lines.append(
            f"| {copy['index_records']:,} | {copy['new_records']:,} | {copy['seconds']} | "
            f"{base['seconds']} | {r['ingest_seconds']} | {r['full_run_seconds']} | "
            f"{m['date']} ({m.get('load_average', '?')}) |"
        )
    (RESULTS / "linkage_incremental.md").write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    world = args.world
    if world is None:
        world = work / "world"
        console.print(f"Generating {args.people:,} people into {world}")
        write_world(world, people=args.people, seed=1)
    engine = create_engine_for(f"sqlite:///{work / 'bench.sqlite3'}")
    upgrade(engine)
    sessions = session_factory(engine)
    started = time.perf_counter()
    for layout in load_layouts().values():
        path = world / layout.file_name
        if path.exists():
            ingest_file(sessions, layout.agency_kind, path, actor="bench", layout=layout.name)
    ingest_s = time.perf_counter() - started
    with sessions() as session:
        records = int(session.scalar(select(func.count()).select_from(AgencyRecord)) or 0)
    console.print(f"{records:,} records taken in ({ingest_s:.0f} s); building the index")
    copy = work / "linkage-index"
    started = time.perf_counter()
    index.run(sessions, actor="bench", cache_dir=copy)
    full_s = time.perf_counter() - started
    console.print(f"Full run: {full_s:.0f} s")

    timings: dict[str, Any] = {}
    for label, use_copy, seed in (("with the prepared copy", True, 1), ("baseline", False, 2)):
        batch = _new_batch(sessions, args.batch, seed, label)
        with sessions() as session:
            indexed = int(session.scalar(select(func.count()).select_from(PersonMember)) or 0)
        started = time.perf_counter()
        summary = index.link_new(
            sessions, batch, actor="bench", cache_dir=copy if use_copy else None
        )
        seconds = time.perf_counter() - started
        timings[label] = {
            "new_records": len(batch),
            "index_records": indexed,
            "seconds": round(seconds, 2),
            "persons_touched": summary.persons,
        }
        console.print(f"{label}: {len(batch):,} new against {indexed:,} in {seconds:.2f} s")
    report = {
        "world": str(world),
        "records": records,
        "ingest_seconds": round(ingest_s, 1),
        "full_run_seconds": round(full_s, 1),
        "timings": timings,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "load_average": round(os.getloadavg()[0], 2),
        },
    }
    write_results(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
