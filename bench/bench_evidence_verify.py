"""Benchmark: checking a disclosure bundle offline, against plain SHA-256 of the same bytes.

A case of ``--items`` evidence items (sizes spread evenly between 256 KiB and 2 MiB, about 1.1 GB
in all for 1,000; random bytes, so nothing compresses or deduplicates) is taken in through
``evidence.service.add_item`` on a fresh SQLite database and bundled with
``evidence.bundle.make_bundle``, as ``onestory evidence bundle`` does. Then, side by side in the
same run, ``--rounds`` times each, alternating:

1. ``verify_bundle``: the whole offline check -- the checkpoint's signature, every custody
   entry's commitment and inclusion proof, the manifest against the ledger, and every file read
   at its offset (after checking its local header names it) and hashed;
2. the baseline: the same archive members' bytes read straight from the archive file at their
   offsets and hashed with ``hashlib.sha256``, nothing else.

Throughput is bytes of files over wall time, in MB/s (10^6 bytes); the best round of each is
reported, with every round kept in the JSON.

    .venv/bin/python bench/bench_evidence_verify.py [--items 1000] [--rounds 3] [--seed 7]

Writes ``bench/results/evidence_verify.json`` and ``bench/results/evidence_verify.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import struct
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from onestory.evidence import service
from onestory.evidence.blobs import BLOCK, stage, store_for
from onestory.evidence.bundle import bundles_dir, make_bundle
from onestory.evidence.verify_bundle import FILES_FOLDER, verify_bundle
from onestory.ledger.checkpoints import load_or_create_signer
from onestory.sharing.accounts import account_actor
from onestory.sharing.policy import load_policies
from onestory.sharing.tables import Organisation, UserAccount
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ORIGIN = "bench.onestory.test/ledger"
CASE = "01AB1234526"
MIN_SIZE = 256 * 1024
MAX_SIZE = 2 * 1024 * 1024
COMMIT_EVERY = 50
LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zip local file header, 30 bytes
console = Console(width=None if sys.stdout.isatty() else 150)


def bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def make_case(workdir: Path, items: int, seed: int) -> tuple[Path, str, int]:
    """Take the items in and bundle them; (bundle, verifier key, seconds to bundle)."""
    engine = create_engine_for(f"sqlite:///{workdir / 'bench.sqlite3'}")
    load_metadata().create_all(engine)
    sessions = session_factory(engine)
    policies = load_policies(ROOT / "policies")
    store = store_for(workdir)
    rng = random.Random(seed)
    sizes = [rng.randint(MIN_SIZE, MAX_SIZE) for _ in range(items)]
    with sessions() as session, bar() as progress:
        organisation = Organisation(code="POL01", name="Bench Police", kind="police")
        user = UserAccount(
            email="officer@bench.test",
            display_name="Bench Officer",
            role="police_officer",
            organisation=organisation,
            password_hash="-",
        )
        session.add_all([organisation, user])
        session.flush()
        actor = account_actor(user)
        task = progress.add_task(f"Taking in {items:,} items", total=sum(sizes))
        for number, size in enumerate(sizes, start=1):
            details = service.ItemDetails(
                case_urn=CASE,
                exhibit_reference=f"BN/{number}",
                description=f"Bench exhibit {number}",
                seized_by="PC 1 Bench",
                seized_at=datetime(2026, 11, 1, tzinfo=UTC),
                media_type="video/mp4",
                filename=f"clip-{number}.mp4",
            )
            staged = stage(store, io.BytesIO(os.urandom(size)))
            service.add_item(
                session, policies=policies, store=store, actor=actor, staged=staged, details=details
            )
            if number % COMMIT_EVERY == 0:
                session.commit()
            progress.advance(task, size)
        session.commit()
    signer = load_or_create_signer(workdir, ORIGIN)
    with sessions() as session, bar() as progress:
        task = progress.add_task("Bundling", total=sum(sizes))
        started = time.perf_counter()
        made = make_bundle(
            session,
            sessions=sessions,
            store=store,
            signer=signer,
            items=service.items_of_case(session, CASE),
            case_urn=CASE,
            actor="bench:evidence",
            actor_org=None,
            purpose=service.DISCLOSURE_PURPOSE,
            work_dir=bundles_dir(workdir),
            progress=lambda n: progress.advance(task, n),
        )
        seconds = time.perf_counter() - started
    engine.dispose()
    return made.path, signer.verifier_key(), round(seconds, 2)


def file_members(path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return [i for i in archive.infolist() if i.filename.startswith(FILES_FOLDER)]


def baseline(path: Path, members: list[zipfile.ZipInfo]) -> tuple[float, int]:
    """SHA-256 of each member's stored bytes, read at its offset: (seconds, bytes)."""
    total = sum(m.compress_size for m in members)
    with bar() as progress, path.open("rb") as source:
        task = progress.add_task("Baseline: hashlib.sha256", total=total)
        started = time.perf_counter()
        for member in members:
            source.seek(member.header_offset)
            fields = LOCAL_HEADER.unpack(source.read(LOCAL_HEADER.size))
            source.seek(fields[-2] + fields[-1], os.SEEK_CUR)  # name and extra field
            hasher = hashlib.sha256()
            left = member.compress_size
            while left:
                block = source.read(min(BLOCK, left))
                hasher.update(block)
                left -= len(block)
                progress.advance(task, len(block))
            hasher.hexdigest()
        seconds = time.perf_counter() - started
    return seconds, total


def verify(path: Path, key: str, total: int) -> tuple[float, int, bool]:
    with bar() as progress:
        task = progress.add_task("verify_bundle", total=total)
        started = time.perf_counter()
        report = verify_bundle(path, key, progress=lambda n: progress.advance(task, n))
        seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"the bundle did not verify: {report.failures[:3]}")
    return seconds, report.bytes, report.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_evidence_") as temporary:
        workdir = Path(temporary)
        path, key, bundle_seconds = make_case(workdir, args.items, args.seed)
        members = file_members(path)
        content = sum(m.file_size for m in members)
        rounds: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            base_s, base_bytes = baseline(path, members)
            verify_s, verified_bytes, _ = verify(path, key, content)
            assert base_bytes == verified_bytes == content
            rounds.append(
                {"round": number, "baseline_s": round(base_s, 3), "verify_s": round(verify_s, 3)}
            )
        archive_bytes = path.stat().st_size
    best_verify = min(r["verify_s"] for r in rounds)
    best_base = min(r["baseline_s"] for r in rounds)
    verify_mbs = content / best_verify / 1e6
    base_mbs = content / best_base / 1e6
    result = {
        "items": args.items,
        "seed": args.seed,
        "content_bytes": content,
        "archive_bytes": archive_bytes,
        "bundle_seconds": bundle_seconds,
        "bundle_mb_per_s": round(content / bundle_seconds / 1e6, 1),
        "rounds": rounds,
        "verify_mb_per_s": round(verify_mbs, 1),
        "baseline_mb_per_s": round(base_mbs, 1),
        "ratio": round(verify_mbs / base_mbs, 3),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "openssl": __import__("ssl").OPENSSL_VERSION,
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evidence_verify.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "evidence_verify.md").write_text(markdown(result))
    console.print((RESULTS / "evidence_verify.md").read_text())


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    rows = "\n".join(
        f"| {x['round']} | {x['verify_s']} s | {x['baseline_s']} s |" for x in r["rounds"]
    )
    return f"""# Evidence bundle verification

`bench/bench_evidence_verify.py --items {r["items"]}` on {m["cpu_count"]} CPUs ({m["processor"]}),
Python {m["python"]}, {m["openssl"]}, {m["date"]}.

A case of {r["items"]:,} items (random bytes, 256 KiB to 2 MiB each, {r["content_bytes"]:,} bytes
of files; the archive is {r["archive_bytes"]:,} bytes) taken in through the service on SQLite
and bundled with `make_bundle` in {r["bundle_seconds"]} s ({r["bundle_mb_per_s"]} MB/s,
reading and re-hashing every blob, writing the archive, the custody entries, a checkpoint and
every inclusion proof).

Verification, best of {len(r["rounds"])} rounds, MB = 10^6 bytes of files:

| | MB/s |
|---|---:|
| `verify_bundle`: every check (see below) | {r["verify_mb_per_s"]} |
| baseline: `hashlib.sha256` of the same members' bytes | {r["baseline_mb_per_s"]} |
| ratio | {r["ratio"]} |

| round | verify_bundle | baseline |
|---:|---:|---:|
{rows}

`verify_bundle` checks the checkpoint's signature, every custody entry's commitment and
inclusion proof, the manifest against the ledger and the custody record, and every file: its
local header is checked to name it, then its bytes are hashed. The baseline reads the same
members' bytes at their offsets and hashes them with `hashlib.sha256`, nothing else.

The archive was just written, so both read from the page cache: the figures are the cost of the
checks, not of the disk.
"""


if __name__ == "__main__":
    main()
