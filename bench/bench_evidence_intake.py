"""Benchmark: evidence intake through the tus API, next to ``sha256sum`` over the same file.

The issue's figure: intake of a 4 GiB file through the API, with throughput next to
``sha256sum`` measured in the same run (target: at least 70% of it), and the server's peak
memory under 200 MB whatever the file size. In one run:

1. a file of random bytes of each ``--sizes`` (MiB; default 4096 and 1024) is written to a
   temporary folder (AES-CTR keystream, streamed; deleted at the end), and ``sha256sum FILE``
   is timed over it, with Python's ``hashlib`` (OpenSSL) for reference;
2. for each receiving strategy (``--strategies``: ``offload`` -- the default: the event loop
   gathers 4 MiB batches and a worker thread hashes and writes them, one batch in flight --
   and ``inline``: hash and write each received chunk on the event loop thread), a fresh
   server process is started (uvicorn running ``onestory.web.app.create_app`` on SQLite in
   the temporary data directory, the strategy set in ``upload_service.OFFLOAD``), and the file
   is uploaded with one POST and one PATCH of the whole file by ``curl --upload-file`` (C, so
   the client takes as little of the 2 CPUs as it can). With ``--httpx``, also by httpx2 in
   PATCHes of ``--patch-mib`` MiB, each streamed from the file by a generator;
3. the upload's wall time (POST to the final 204, the item made), its MB/s (10^6 bytes) and
   its ratio to ``sha256sum``'s; the server's resident memory after start-up (VmRSS) and its
   peak over the whole process life (VmHWM from /proc/<pid>/status, read after the upload).
   Each (size, strategy) gets its own server process, so each peak is that upload's.

    .venv/bin/python bench/bench_evidence_intake.py [--sizes 4096,1024]
        [--strategies offload,inline] [--httpx] [--patch-mib 256]

Writes ``bench/results/evidence_intake.json`` and ``bench/results/evidence_intake.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from rich.console import Console

from onestory.clitools import open_database
from onestory.config import Settings
from onestory.evidence.upload_service import encode_metadata
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import Organisation
from onestory.store import session_factory

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MIB = 1024 * 1024
MB = 10**6
TARGET_RATIO = 0.70
MEMORY_LIMIT_MB = 200
console = Console(width=None if sys.stdout.isatty() else 150)

# The server: the application factory under uvicorn, with the receiving strategy chosen first.
LAUNCHER = """
import sys
import uvicorn
from onestory.evidence import upload_service
strategy, _, batch_kib = sys.argv[1].partition(":")
upload_service.OFFLOAD = strategy == "offload"
if batch_kib:
    upload_service.BATCH = int(batch_kib) * 1024
from onestory.web.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def write_random_file(path: Path, size: int) -> float:
    """``size`` bytes of an AES-CTR keystream (random to any test), in 16 MiB blocks; seconds."""
    started = time.perf_counter()
    encryptor = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(16 * MIB)
    with path.open("wb") as out:
        left = size
        while left:
            block = encryptor.update(zeros[: min(left, len(zeros))])
            out.write(block)
            left -= len(block)
    return time.perf_counter() - started


def time_sha256sum(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return time.perf_counter() - started, result.stdout.split()[0]


def time_hashlib(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    hasher = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(4 * MIB):
            hasher.update(block)
    return time.perf_counter() - started, hasher.hexdigest()


def prepare_data_dir(data_dir: Path) -> str:
    """A migrated SQLite data directory with a police force and an API key that may add
    evidence; returns the key."""
    settings = Settings(env="test", data_dir=data_dir, secret_key="b" * 48)
    engine = open_database(settings)
    with session_factory(engine)() as session:
        session.add(Organisation(code="BENCH-POL", name="Benchmark Police", kind="police"))
        session.flush()
        _, key = issue_key(
            session,
            actor=Actor("bench:admin", "administrator", None, None),
            organisation_code="BENCH-POL",
            name="Intake benchmark",
            role="police_officer",
            scopes=["create:evidence"],
        )
        session.commit()
    engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            values[name] = int(rest.split()[0]) * 1024
    return values


class Server:
    """The application in its own process, on a free port."""

    def __init__(self, data_dir: Path, strategy: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ONESTORY_DATA_DIR": str(data_dir),
            "ONESTORY_SECRET_KEY": "b" * 48,
            "ONESTORY_ENV": "test",
            "ONESTORY_NOTIFY_INTERVAL": "0",
            "ONESTORY_WEBHOOK_INTERVAL": "0",
            "ONESTORY_LEDGER_CHECKPOINT_INTERVAL": "0",
        }
        env.pop("ONESTORY_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, strategy, str(self.port)], env=env
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.1)
        self.started = proc_status(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def create_upload(base: str, key: str, size: int, exhibit: str, sha256: str) -> str:
    response = httpx2.post(
        f"{base}/api/evidence/uploads",
        headers={
            "Authorization": f"Bearer {key}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(size),
            "Upload-Metadata": encode_metadata(
                {
                    "caseUrn": "61GD7528225",
                    "exhibitReference": exhibit,
                    "description": f"Benchmark file of {size:,} random bytes",
                    "seizedBy": "Benchmark",
                    "seizedAt": datetime.now(UTC).isoformat(),
                    "filename": "random.bin",
                    "sha256": sha256,
                }
            ),
        },
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"POST: {response.status_code} {response.text}")
    return f"{base}{response.headers['location']}"


def upload_with_curl(url: str, key: str, path: Path) -> dict[str, str]:
    """One PATCH of the whole file, streamed from disk by curl; the response headers."""
    result = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail-with-body",
            "--upload-file",
            str(path),
            "-X",
            "PATCH",
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            "Upload-Offset: 0",
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Expect:",
            "--dump-header",
            "-",
            "--output",
            "/dev/null",
            url,
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"curl PATCH failed ({result.returncode}): {result.stderr}")
    headers: dict[str, str] = {}
    for line in result.stdout.splitlines()[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return headers


def _range(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as source:
        source.seek(start)
        left = length
        while left:
            block = source.read(min(left, MIB))
            if not block:
                return
            left -= len(block)
            yield block


def upload_with_httpx(url: str, key: str, path: Path, size: int, patch: int) -> dict[str, str]:
    """PATCHes of ``patch`` bytes, each streamed from the file by a generator."""
    headers: dict[str, str] = {}
    with httpx2.Client(timeout=600) as client:
        offset = 0
        while offset < size:
            length = min(patch, size - offset)
            response = client.patch(
                url,
                headers={
                    "Authorization": f"Bearer {key}",
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(length),
                },
                content=_range(path, offset, length),
            )
            if response.status_code != 204:
                raise RuntimeError(f"PATCH at {offset}: {response.status_code} {response.text}")
            offset = int(response.headers["upload-offset"])
            headers = dict(response.headers)
    return headers


def run_upload(
    data_dir: Path,
    key: str,
    path: Path,
    size: int,
    sha256: str,
    strategy: str,
    client: str,
    patch: int,
    exhibit: str,
) -> dict[str, Any]:
    server = Server(data_dir, strategy)
    try:
        cpu_before = cpu_seconds(server.process.pid)
        started = time.perf_counter()
        url = create_upload(server.base, key, size, exhibit, sha256)
        if client == "curl":
            headers = upload_with_curl(url, key, path)
        else:
            headers = upload_with_httpx(url, key, path, size, patch)
        seconds = time.perf_counter() - started
        after = proc_status(server.process.pid)
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
    finally:
        server.stop()
    if "onestory-item" not in headers or headers.get("upload-offset") != str(size):
        raise RuntimeError(f"the upload did not finish: {headers}")
    return {
        "strategy": strategy,
        "client": client,
        "patch_bytes": size if client == "curl" else patch,
        "seconds": round(seconds, 2),
        "mb_per_s": round(size / MB / seconds, 1),
        "server_cpu_seconds": round(server_cpu, 2),
        "rss_start_mb": round(server.started["VmRSS"] / MB, 1),
        "rss_peak_mb": round(after["VmHWM"] / MB, 1),
        "item": headers["onestory-item"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4096,1024", help="File sizes in MiB")
    parser.add_argument(
        "--strategies",
        default="offload:4096,offload:1024,inline",
        help="inline, or offload:<batch KiB> (offload alone: upload_service.BATCH)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Rounds, interleaved; medians")
    parser.add_argument("--httpx", action="store_true", help="Also upload with httpx2")
    parser.add_argument("--patch-mib", type=int, default=256, help="httpx2 PATCH size, MiB")
    parser.add_argument("--workdir", type=Path, default=None, help="Default: a temporary folder")
    args = parser.parse_args()
    sizes = [int(s) * MIB for s in args.sizes.split(",")]
    plans = [(s, "curl") for s in args.strategies.split(",")]
    if args.httpx:
        plans += [(s, "httpx2") for s in args.strategies.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-evidence-", dir=args.workdir))
    results: list[dict[str, Any]] = []
    try:
        data_dir = workdir / "data"
        key = prepare_data_dir(data_dir)
        for number, size in enumerate(sizes, start=1):
            results.append(measure_file(workdir, data_dir, key, number, size, plans, args))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "benchmark": "evidence_intake",
        "command": "bench/bench_evidence_intake.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "target": {"ratio_to_sha256sum": TARGET_RATIO, "server_peak_mb": MEMORY_LIMIT_MB},
        "files": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evidence_intake.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "evidence_intake.md").write_text(markdown(report))
    console.print(markdown(report))


def measure_file(
    workdir: Path,
    data_dir: Path,
    key: str,
    number: int,
    size: int,
    plans: list[tuple[str, str]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every plan ``--repeat`` times over one file, rounds interleaved with the hashers' runs
    so that a burst of load elsewhere on the machine hits them alike."""
    path = workdir / f"random-{size // MIB}MiB.bin"
    made = write_random_file(path, size)
    console.print(f"{path.name}: written in {made:.1f} s")
    sums: list[float] = []
    libs: list[float] = []
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {plan: [] for plan in plans}
    sha256 = ""
    for round_number in range(1, args.repeat + 1):
        sum_s, sha256 = time_sha256sum(path)
        lib_s, lib_hash = time_hashlib(path)
        assert sha256 == lib_hash, (sha256, lib_hash)
        sums.append(sum_s)
        libs.append(lib_s)
        console.print(f"  round {round_number}: sha256sum {sum_s:.2f} s, hashlib {lib_s:.2f} s")
        for index, (strategy, client) in enumerate(plans, start=1):
            run = run_upload(
                data_dir,
                key,
                path,
                size,
                sha256,
                strategy,
                client,
                args.patch_mib * MIB,
                exhibit=f"BENCH/{number}/{round_number}/{index}",
            )
            console.print(f"    {strategy} via {client}: {run['seconds']} s")
            runs[(strategy, client)].append(run)
    path.unlink()
    sum_median = statistics.median(sums)
    lib_median = statistics.median(libs)
    row: dict[str, Any] = {
        "bytes": size,
        "sha256": sha256,
        "sha256sum_seconds": [round(x, 2) for x in sums],
        "sha256sum_mb_per_s": round(size / MB / sum_median, 1),
        "hashlib_seconds": [round(x, 2) for x in libs],
        "hashlib_mb_per_s": round(size / MB / lib_median, 1),
        "uploads": [],
    }
    for (strategy, client), done in runs.items():
        seconds = [r["seconds"] for r in done]
        median = statistics.median(seconds)
        mb_per_s = size / MB / median
        row["uploads"].append(
            {
                "strategy": strategy,
                "client": client,
                "patch_bytes": done[0]["patch_bytes"],
                "seconds": seconds,
                "mb_per_s": round(mb_per_s, 1),
                "mb_per_s_range": [
                    round(size / MB / max(seconds), 1),
                    round(size / MB / min(seconds), 1),
                ],
                "ratio_to_sha256sum": round(mb_per_s / row["sha256sum_mb_per_s"], 2),
                "ratio_to_hashlib": round(mb_per_s / row["hashlib_mb_per_s"], 2),
                "server_cpu_seconds": statistics.median(r["server_cpu_seconds"] for r in done),
                "rss_start_mb": max(r["rss_start_mb"] for r in done),
                "rss_peak_mb": max(r["rss_peak_mb"] for r in done),
                "peak_over_start_mb": round(
                    max(r["rss_peak_mb"] - r["rss_start_mb"] for r in done), 1
                ),
            }
        )
    return row


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Evidence intake through the API",
        "",
        f"`{report['command'].strip()}` on {report['cpus']} CPUs, Python {report['python']}, "
        f"{report['when']}.",
        "",
        "One POST and the file's bytes over the tus API (`/api/evidence/uploads`) into a server "
        "process of its own (uvicorn, `create_app`, SQLite), timed from the POST to the final "
        "204 that names the new item: the bytes hashed as they arrive, written to the staging "
        "file, checked against the sender's SHA-256 and adopted into the content-addressed "
        "store with the `acquired` and `uploaded` custody entries. `sha256sum` and Python's "
        "`hashlib` read the same file (from the page cache, as the uploads do) in the same run. "
        f"Target: at least {TARGET_RATIO:.0%} of `sha256sum`'s throughput, with the server's "
        f"peak memory under {MEMORY_LIMIT_MB} MB whatever the file size. MB = 10^6 bytes.",
        "",
        "| file | strategy | client | s (each round) | MB/s (median) | MB/s range | × sha256sum "
        "| × hashlib | server CPU s | server RSS at start MB | server peak (VmHWM) MB "
        "| peak − start MB |",
        "|---|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["files"]:
        name = f"{row['bytes'] // MIB:,} MiB"
        for up in row["uploads"]:
            client = (
                "curl, 1 PATCH"
                if up["client"] == "curl"
                else f"httpx2, PATCHes of {up['patch_bytes'] // MIB} MiB"
            )
            low, high = up["mb_per_s_range"]
            lines.append(
                f"| {name} | {up['strategy']} | {client} "
                f"| {', '.join(str(x) for x in up['seconds'])} | {up['mb_per_s']} "
                f"| {low}–{high} | {up['ratio_to_sha256sum']} | {up['ratio_to_hashlib']} "
                f"| {up['server_cpu_seconds']} | {up['rss_start_mb']} | {up['rss_peak_mb']} "
                f"| {up['peak_over_start_mb']} |"
            )
    lines += [
        "",
        "| file | sha256sum s (each round) | sha256sum MB/s (median) | hashlib s (each round) "
        "| hashlib MB/s (median) |",
        "|---|---|---:|---|---:|",
    ]
    for row in report["files"]:
        lines.append(
            f"| {row['bytes'] // MIB:,} MiB | {', '.join(map(str, row['sha256sum_seconds']))} "
            f"| {row['sha256sum_mb_per_s']} | {', '.join(map(str, row['hashlib_seconds']))} "
            f"| {row['hashlib_mb_per_s']} |"
        )
    lines += [
        "",
        "Strategies: **offload:N** gathers the body into N KiB batches on the event loop and "
        "hashes and writes each in a worker thread while the loop receives the next (one batch "
        "in flight; the default is offload with 1 MiB batches); **inline** hashes and writes "
        "every received chunk (up to 256 KiB, asyncio's read size) on the event loop thread. "
        "The client is curl (`--upload-file` with `-X PATCH`, the whole file in one PATCH, "
        "streamed from disk), on the same 2 CPUs as the server. Each upload has a server "
        "process of its own, so each peak is that upload's alone.",
        "",
        *findings(report),
    ]
    return "\n".join(lines)


def findings(report: dict[str, Any]) -> list[str]:
    """What the tables show, in words, computed from them."""
    lines = ["## Findings", ""]
    for row in report["files"]:
        best = max(row["uploads"], key=lambda up: up["mb_per_s"])
        lines.append(
            f"- {row['bytes'] // MIB:,} MiB: fastest median {best['strategy']}, "
            f"{best['mb_per_s']} MB/s = {best['ratio_to_sha256sum']}× sha256sum's "
            f"{row['sha256sum_mb_per_s']} MB/s (target {TARGET_RATIO}×) and "
            f"{best['ratio_to_hashlib']}× hashlib's {row['hashlib_mb_per_s']} MB/s."
        )
    growth = [up["peak_over_start_mb"] for row in report["files"] for up in row["uploads"]]
    starts = [up["rss_start_mb"] for row in report["files"] for up in row["uploads"]]
    peaks = [up["rss_peak_mb"] for row in report["files"] for up in row["uploads"]]
    memory = (
        f"- Memory: an upload adds {min(growth)}–{max(growth)} MB to the server's resident set, "
        "the same for every file size (it depends on the strategy's batch, not the file); "
        f"the server's peak is {max(peaks)} MB"
    )
    if max(peaks) > MEMORY_LIMIT_MB:
        memory += (
            f", over the {MEMORY_LIMIT_MB} MB target because the server already holds "
            f"{min(starts)}–{max(starts)} MB once started, before any upload (when this was "
            "measured, importing `onestory.web.app` loaded pandas, splink and duckdb through "
            "`onestory.linkage.web`: about 126 MB on their own)."
        )
    else:
        memory += f", under the {MEMORY_LIMIT_MB} MB target."
    lines += [
        memory,
        f"- The machine is shared (load average {report.get('load_average_at_end')} at the "
        "end): see the range of each figure. Every round measures `sha256sum` and the uploads "
        "in turn, so load elsewhere falls on both.",
        "",
    ]
    return lines


if __name__ == "__main__":
    main()
