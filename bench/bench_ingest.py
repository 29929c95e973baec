"""Benchmark: agency files into the store, against plain inserts of the same rows.

For a synthetic world of ``--people`` people, measured side by side in one run on SQLite and
(when reachable) PostgreSQL, each on a fresh database (PostgreSQL: a schema of its own,
``bench_ingest_<pid>``, dropped afterwards):

1. the pipeline: every agency extract (police suspects and victims, CPS, courts, prisons,
   probation, education) through ``exchange.ingest.ingest_file`` -- streaming, mapping,
   duplicate check, quarantine, one ledger entry per accepted record and the file's counters,
   one transaction per ``--chunk`` rows -- in rows/s and accepted records/s;
2. the mapping alone: the same files through ``mapping.read_rows`` and ``mapping.map_row``, no
   database (what the mapping costs);
3. the baseline: the accepted records the pipeline stored, inserted again plainly into an empty
   ``agency_record`` table in transactions of ``--chunk`` rows (no mapping, no duplicate check,
   no ledger);
4. events: the first ``--events`` common-model events of the world's ``events.jsonl`` through
   ``ingest_file`` (``intake.receive_events`` per chunk: validation, duplicate check, ledger, and
   with the victims' timeline subscribed, as ``onestory ingest events`` runs it), against the
   demo's plain loader (``exchange.loader.load_events``: validation and ledger, no
   subscribers), each on a fresh database.

    .venv/bin/python bench/bench_ingest.py [--people 20000] [--seed 1] [--chunk 1000]
                                           [--events 20000] [--backends sqlite,postgresql]

Writes ``bench/results/ingest.json`` and ``bench/results/ingest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, create_engine, delete, func, insert, select, text

from onestory.exchange import mapping
from onestory.exchange.ingest import EVENTS, ingest_file
from onestory.exchange.intake import _subscribers, subscribe
from onestory.exchange.loader import load_events
from onestory.exchange.tables import AgencyRecord, IngestFile
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata
from onestory.synth import write_world

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "ONESTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
console = Console(width=None if sys.stdout.isatty() else 150)

# (agency kind, file) in the order an operator would send them.
FILES = (
    ("police", "police.csv"),
    ("police", "police_victims.csv"),
    ("cps", "cps.json"),
    ("court", "courts.json"),
    ("prison", "prisons.csv"),
    ("probation", "probation.jsonl"),
    ("education", "education.csv"),
)
ACTOR = "bench:ingest"


@contextmanager
def fresh_database(backend: str, workdir: Path, name: str) -> Iterator[Engine]:
    """An empty database with the whole schema, removed afterwards."""
    if backend == "sqlite":
        path = workdir / f"{name}.sqlite3"
        engine = create_engine_for(f"sqlite:///{path}")
        load_metadata().create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    schema = f"bench_ingest_{os.getpid()}_{name}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    engine = create_engine_for(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        load_metadata().create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # unreachable for any reason: the run says so and goes on
        return False
    return True


def mapping_only(world: Path) -> dict[str, Any]:
    rows = 0
    started = time.perf_counter()
    for agency, name in FILES:
        layout = mapping.detect_layout(agency, world / name)
        for row in mapping.read_rows(layout, world / name):
            rows += 1
            if row.fields is not None:
                mapping.map_row(layout, row)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def pipeline(engine: Engine, world: Path, chunk: int) -> dict[str, Any]:
    sessions = session_factory(engine)
    files = []
    started = time.perf_counter()
    for agency, name in FILES:
        began = time.perf_counter()
        s = ingest_file(sessions, agency, world / name, actor=ACTOR, chunk_size=chunk)
        files.append(
            {
                "file": name,
                "layout": s.layout,
                "rows": s.rows,
                "accepted": s.accepted,
                "rejected": s.rejected,
                "duplicate": s.duplicate,
                "seconds": round(time.perf_counter() - began, 2),
            }
        )
    seconds = time.perf_counter() - started
    rows = sum(f["rows"] for f in files)
    accepted = sum(f["accepted"] for f in files)
    return {
        "files": files,
        "rows": rows,
        "accepted": accepted,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "accepted_per_s": round(accepted / seconds),
    }


def plain_insert(engine: Engine, chunk: int) -> dict[str, Any]:
    """The stored records, read back, then inserted again plainly into the emptied table."""
    columns = [c.key for c in AgencyRecord.__table__.columns]  # type: ignore[attr-defined]
    with session_factory(engine)() as session:
        records = [
            {key: getattr(r, key) for key in columns} | {"file_id": None}
            for r in session.scalars(select(AgencyRecord))
        ]
        session.execute(delete(AgencyRecord))
        session.execute(delete(IngestFile))
        session.commit()
    started = time.perf_counter()
    with session_factory(engine)() as session:
        for start in range(0, len(records), chunk):
            batch = records[start : start + chunk]
            session.execute(insert(AgencyRecord).execution_options(render_nulls=True), batch)
            session.commit()
        assert session.scalar(select(func.count()).select_from(AgencyRecord)) == len(records)
    seconds = time.perf_counter() - started
    return {
        "rows": len(records),
        "seconds": round(seconds, 2),
        "rows_per_s": round(len(records) / seconds),
    }


def events(backend: str, workdir: Path, path: Path, count: int) -> dict[str, Any]:
    from onestory.victims import timeline

    with fresh_database(backend, workdir, "loader") as engine:
        started = time.perf_counter()
        with session_factory(engine)() as session:
            added, _ = load_events(session, path)
        loader_s = time.perf_counter() - started
    results: dict[str, Any] = {
        "events": count,
        "loader_seconds": round(loader_s, 2),
        "loader_per_s": round(added / loader_s),
    }
    for label, subscribed in (("ingest", False), ("ingest_with_timeline", True)):
        saved = list(_subscribers)
        _subscribers.clear()
        if subscribed:
            timeline.check_rules()
            subscribe(timeline.on_event)
        try:
            with fresh_database(backend, workdir, label) as engine:
                started = time.perf_counter()
                s = ingest_file(session_factory(engine), EVENTS, path, actor=ACTOR)
                seconds = time.perf_counter() - started
        finally:
            _subscribers[:] = saved
        results[f"{label}_seconds"] = round(seconds, 2)
        results[f"{label}_per_s"] = round(s.accepted / seconds)
    return results


def run_backend(
    backend: str, world: Path, events_file: Path, events_count: int, chunk: int, workdir: Path
) -> dict[str, Any]:
    console.print(f"[bold]{backend}[/bold]: bulk files")
    with fresh_database(backend, workdir, "files") as engine:
        piped = pipeline(engine, world, chunk)
        plain = plain_insert(engine, chunk)
    console.print(f"[bold]{backend}[/bold]: {events_count:,} events")
    return {
        "backend": backend,
        "pipeline": piped,
        "plain_insert": plain,
        "events": events(backend, workdir, events_file, events_count),
    }


def first_events(world: Path, count: int, workdir: Path) -> tuple[Path, int]:
    out = workdir / "events.jsonl"
    taken = 0
    with (world / "events.jsonl").open(encoding="utf-8") as source, out.open("w") as sink:
        for line in source:
            if taken == count:
                break
            sink.write(line)
            taken += 1
    return out, taken


def write_results(report: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    lines = [
        "# Bulk ingest",
        "",
        f"`bench/bench_ingest.py --people {report['people']} --seed {report['seed']} --chunk "
        f"{report['chunk']} --events {report['events']}` on {m['cpu_count']} CPUs"
        + (f" (load average {m['load_average']} when it ended)" if "load_average" in m else "")
        + f", Python {m['python']}, {m['date']}.",
        "",
        "## Agency files: the pipeline against the mapping alone and plain inserts",
        "",
        f"All seven extracts of a {report['people']:,}-person world, one transaction per "
        f"{report['chunk']:,} rows. Mapping alone: {report['mapping_only']['rows']:,} rows in "
        f"{report['mapping_only']['seconds']} s = **{report['mapping_only']['rows_per_s']:,} "
        "rows/s** (no database).",
        "",
        "| database | rows | accepted | pipeline s | pipeline rows/s | accepted records/s "
        "| plain insert records/s | pipeline time / plain insert time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        p, b = r["pipeline"], r["plain_insert"]
        ratio = p["seconds"] / b["seconds"] if b["seconds"] else 0.0
        lines.append(
            f"| {r['backend']} | {p['rows']:,} | {p['accepted']:,} | {p['seconds']} | "
            f"{p['rows_per_s']:,} | {p['accepted_per_s']:,} | {b['rows_per_s']:,} | "
            f"{ratio:.1f}× |"
        )
    lines += [
        "",
        "Where the pipeline's time goes, estimated from the same run: the mapping alone, plain "
        "inserts of the records, and the rest -- the duplicate check, the quarantine, one "
        "ledger entry per record (its salted commitment over the record's body, the Merkle "
        "nodes) and the file's counters.",
        "",
        "| database | pipeline s | mapping s | plain insert s | the rest s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        p, b = r["pipeline"], r["plain_insert"]
        mapped_s = report["mapping_only"]["seconds"]
        rest = p["seconds"] - mapped_s - b["seconds"]
        lines.append(
            f"| {r['backend']} | {p['seconds']} | {mapped_s} | {b['seconds']} | {rest:.2f} |"
        )
    lines += ["", "### Per file", ""]
    lines += [
        "| database | file | layout | rows | accepted | quarantined | duplicate | s | rows/s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        for f in r["pipeline"]["files"]:
            rate = round(f["rows"] / f["seconds"]) if f["seconds"] else 0
            lines.append(
                f"| {r['backend']} | {f['file']} | {f['layout']} | {f['rows']:,} | "
                f"{f['accepted']:,} | {f['rejected']:,} | {f['duplicate']:,} | {f['seconds']} | "
                f"{rate:,} |"
            )
    lines += [
        "",
        "## Events: through `receive_events` against the plain loader",
        "",
        "`receive_events` takes a chunk at a time (one lookup of the ids already held and one "
        "flush per chunk, as the loader does), then runs the subscribers event by event; the "
        "ledger entries are batched per chunk either way. The loader stops at the first bad "
        "event and runs no subscribers; ingest quarantines it and goes on.",
        "",
        "| database | events | plain loader events/s | ingest events/s | ingest with the "
        "victims' timeline events/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        e = r["events"]
        lines.append(
            f"| {r['backend']} | {e['events']:,} | {e['loader_per_s']:,} | {e['ingest_per_s']:,} "
            f"| {e['ingest_with_timeline_per_s']:,} |"
        )
    (RESULTS / "ingest.md").write_text("\n".join(lines) + "\n")


def rewrite() -> None:
    """Write ingest.md again from ingest.json (after a change to the report's wording)."""
    write_results(json.loads((RESULTS / "ingest.json").read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "postgresql" in backends and not postgres_reachable():
        console.print(f"PostgreSQL at {POSTGRES_URL} is unreachable: SQLite only.")
        backends.remove("postgresql")
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        world = workdir / "world"
        console.print(f"Writing a world of {args.people:,} people")
        write_world(world, people=args.people, seed=args.seed)
        events_file, events_count = first_events(world, args.events, workdir)
        mapped = mapping_only(world)
        results = [
            run_backend(b, world, events_file, events_count, args.chunk, workdir) for b in backends
        ]
    write_results(
        {
            "people": args.people,
            "seed": args.seed,
            "chunk": args.chunk,
            "events": events_count,
            "machine": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "load_average": round(os.getloadavg()[0], 2),
            },
            "mapping_only": mapped,
            "results": results,
        }
    )
    console.print((RESULTS / "ingest.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
