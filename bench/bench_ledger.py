"""Benchmark: the ledger against plain inserts, proofs at scale, verification.

Measured side by side in one run, on SQLite and (when reachable) PostgreSQL:

1. appends per second through ``ledger.append_many`` in transactions of 1, 100 and 1,000
   entries, against plain inserts of the same rows into an ordinary table (the baseline);
2. inclusion and consistency proof generation at ``--entries`` entries (median and p95 of
   random proofs), against a primary-key lookup of one entry (the baseline);
3. inclusion proof verification per second on one core, against the bare SHA-256 calls the
   verification makes (the baseline);
4. ``verify_ledger`` over the whole log: seconds and entries per second.

    .venv/bin/python bench/bench_ledger.py [--entries 1000000] [--backends sqlite,postgresql]

Writes ``bench/results/ledger.json`` and ``bench/results/ledger.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import (
    append_many,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    tree_size,
)
from onestory.ledger.note import NoteSigner, NoteVerifier
from onestory.ledger.tables import LedgerEntry
from onestory.ledger.verify import verify_ledger
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_URL = os.environ.get(
    "ONESTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
console = Console()

plain_metadata = MetaData()
plain_table = Table(
    "bench_plain_entry",
    plain_metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("entry_type", String(100)),
    Column("actor", String(200)),
    Column("actor_org", String(32)),
    Column("purpose", String(64)),
    Column("subjects", JSON),
    Column("payload", JSON),
)


def new_entry(n: int) -> NewEntry:
    return NewEntry(
        entry_type="sharing.read",
        actor=f"user:{n % 97}",
        actor_org="POL01",
        purpose="investigation",
        subjects=(Subject("victim", f"v{n}"),),
        payload={"field": "statement", "record": n},
    )


def plain_row(n: int) -> dict[str, Any]:
    return {
        "seq": n,
        "entry_type": "sharing.read",
        "actor": f"user:{n % 97}",
        "actor_org": "POL01",
        "purpose": "investigation",
        "subjects": [{"kind": "victim", "id": f"v{n}"}],
        "payload": {"field": "statement", "record": n},
    }


def fresh_database(backend: str, workdir: Path) -> tuple[Engine, Callable[[], None]]:
    if backend == "sqlite":
        engine = create_engine_for(f"sqlite:///{workdir / 'bench.sqlite3'}")
        load_metadata().create_all(engine)
        plain_metadata.create_all(engine)
        return engine, engine.dispose
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine_for(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    load_metadata().create_all(engine)
    plain_metadata.create_all(engine)

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return engine, drop


def time_appends(session: Session, batch: int, total: int, start: int) -> float:
    began = time.perf_counter()
    for first in range(start, start + total, batch):
        append_many(session, [new_entry(n) for n in range(first, first + batch)])
        session.commit()
    return total / (time.perf_counter() - began)


def time_plain(session: Session, batch: int, total: int, start: int) -> float:
    began = time.perf_counter()
    for first in range(start, start + total, batch):
        session.execute(insert(plain_table), [plain_row(n) for n in range(first, first + batch)])
        session.commit()
    return total / (time.perf_counter() - began)


def append_benchmark(session: Session) -> list[dict[str, Any]]:
    rows = []
    for batch, total in ((1, 1_000), (100, 20_000), (1_000, 50_000)):
        # Alternate ledger and baseline in halves so drift (caches, WAL size) hits both alike.
        half = total // 2
        start = tree_size(session)
        plain_start = session.scalar(
            select(plain_table.c.seq).order_by(plain_table.c.seq.desc()).limit(1)
        )
        plain_start = 0 if plain_start is None else plain_start + 1
        ledger_rates = [time_appends(session, batch, half, start)]
        plain_rates = [time_plain(session, batch, half, plain_start)]
        ledger_rates.append(time_appends(session, batch, half, start + half))
        plain_rates.append(time_plain(session, batch, half, plain_start + half))
        ledger_rate = total / sum(half / r for r in ledger_rates)
        plain_rate = total / sum(half / r for r in plain_rates)
        rows.append(
            {
                "batch": batch,
                "entries": total,
                "ledger_per_s": round(ledger_rate),
                "plain_per_s": round(plain_rate),
                "overhead": round(plain_rate / ledger_rate, 2),
            }
        )
        console.print(f"  batch {batch}: ledger {ledger_rate:,.0f}/s, plain {plain_rate:,.0f}/s")
    return rows


def fill_to(session: Session, entries: int) -> None:
    have = tree_size(session)
    with Progress(console=console) as progress:
        task = progress.add_task(f"Filling to {entries:,} entries", total=entries, completed=have)
        while have < entries:
            batch = min(5_000, entries - have)
            append_many(session, [new_entry(n) for n in range(have, have + batch)])
            session.commit()
            have += batch
            progress.advance(task, batch)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proof_benchmark(session: Session, size: int, samples: int = 500) -> dict[str, Any]:
    rng = random.Random(1)
    inclusion, consistency, lookup = [], [], []
    for _ in range(samples):
        seq = rng.randrange(size)
        began = time.perf_counter()
        inclusion_proof(session, seq, size)
        inclusion.append(time.perf_counter() - began)
        old = rng.randrange(1, size)
        began = time.perf_counter()
        consistency_proof(session, old, size)
        consistency.append(time.perf_counter() - began)
        began = time.perf_counter()
        session.get(LedgerEntry, seq, populate_existing=True)
        lookup.append(time.perf_counter() - began)
    ms = 1000.0
    return {
        "inclusion_median_ms": round(statistics.median(inclusion) * ms, 3),
        "inclusion_p95_ms": round(percentile(inclusion, 0.95) * ms, 3),
        "consistency_median_ms": round(statistics.median(consistency) * ms, 3),
        "consistency_p95_ms": round(percentile(consistency, 0.95) * ms, 3),
        "pk_lookup_median_ms": round(statistics.median(lookup) * ms, 3),
    }


def verification_benchmark(session: Session, size: int, proofs: int = 2_000) -> dict[str, Any]:
    rng = random.Random(2)
    root = root_hash(session, size)
    cases = []
    for _ in range(proofs):
        seq = rng.randrange(size)
        cases.append((leaf_hash(session, seq), seq, inclusion_proof(session, seq, size)))
    began = time.perf_counter()
    for leaf, seq, proof in cases:
        merkle.verify_inclusion(leaf, seq, size, proof, root)
    rate = proofs / (time.perf_counter() - began)
    hashes = sum(len(p) for _, _, p in cases)
    block = bytes(65)
    began = time.perf_counter()
    for _ in range(hashes):
        hashlib.sha256(block).digest()
    baseline = proofs / (time.perf_counter() - began)
    return {"verify_inclusion_per_s": round(rate), "sha256_only_per_s": round(baseline)}


def run_backend(backend: str, entries: int, workdir: Path) -> dict[str, Any]:
    console.rule(backend)
    engine, cleanup = fresh_database(backend, workdir)
    signer = NoteSigner.generate("bench.onestory.localhost/ledger")
    try:
        with session_factory(engine)() as session:
            appends = append_benchmark(session)
            fill_to(session, entries)
            size = tree_size(session)
            proofs = proof_benchmark(session, size)
            console.print(f"  proofs at {size:,}: {proofs}")
            verification = verification_benchmark(session, size)
            console.print(f"  verification: {verification}")
            with Progress(console=console) as progress:
                task = progress.add_task("verify_ledger", total=size)
                report = verify_ledger(
                    session,
                    NoteVerifier.from_verifier_key(signer.verifier_key()),
                    progress=lambda n: progress.advance(task, n),
                )
            assert report.ok, report.problems
            console.print(f"  verify: {report.seconds:.1f} s")
    finally:
        cleanup()
    return {
        "backend": backend,
        "appends": appends,
        "entries": size,
        "proofs": proofs,
        "verification": verification,
        "verify_seconds": round(report.seconds, 1),
        "verify_entries_per_s": round(size / report.seconds),
    }


def write_results(results: list[dict[str, Any]], entries: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (RESULTS / "ledger.json").write_text(
        json.dumps({"entries": entries, "machine": machine, "results": results}, indent=2) + "\n"
    )
    lines = [
        "# Ledger",
        "",
        f"`bench/bench_ledger.py --entries {entries}` on {machine['cpu_count']} CPUs, "
        f"Python {machine['python']}, {machine['date']}.",
        "",
        "## Appends (entries/s) against plain inserts of the same rows",
        "",
        "| database | entries per transaction | ledger | plain insert | overhead |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for a in r["appends"]:
            lines.append(
                f"| {r['backend']} | {a['batch']:,} | {a['ledger_per_s']:,} | "
                f"{a['plain_per_s']:,} | {a['overhead']}× |"
            )
    lines += [
        "",
        "## Proofs, verification and `verify`",
        "",
        "| database | entries | inclusion proof median (p95) | consistency proof median (p95) "
        "| primary-key lookup median | inclusion verifications/s (SHA-256 only) | verify |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        p, v = r["proofs"], r["verification"]
        lines.append(
            f"| {r['backend']} | {r['entries']:,} | {p['inclusion_median_ms']} ms "
            f"({p['inclusion_p95_ms']}) | {p['consistency_median_ms']} ms "
            f"({p['consistency_p95_ms']}) | {p['pk_lookup_median_ms']} ms | "
            f"{v['verify_inclusion_per_s']:,} ({v['sha256_only_per_s']:,}) | "
            f"{r['verify_seconds']} s ({r['verify_entries_per_s']:,}/s) |"
        )
    (RESULTS / "ledger.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            results.append(run_backend(backend, args.entries, Path(workdir)))
    write_results(results, args.entries)
    console.print((RESULTS / "ledger.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
