"""Benchmark: the access decision against the same call path with no check.

Measured side by side in one run, with the real policy set from ``policies/``:

1. ``decide`` (the decision alone, consent answered in memory) over every cell of the policy
   matrix in turn, against a baseline that takes the same arguments and returns "allow"
   without looking at them: decisions per second and median µs per call;
2. ``decide`` over only the cells some agreement grants (the slower path: ownership and consent
   conditions are checked), the same way;
3. ``authorize`` on SQLite, one committed transaction per decision, including the consent
   read (for consent-based agreements) and the ledger entry, for reference.

    .venv/bin/python bench/bench_authorize.py [--decisions 200000] [--db-decisions 2000]

Writes ``bench/results/authorize.json`` and ``bench/results/authorize.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onestory.sharing.consent_tables  # noqa: F401  (until the catalog lists it)
from onestory.sharing.authorize import (
    Actor,
    ConsentLookup,
    Decision,
    RecordRef,
    authorize,
    decide,
)
from onestory.sharing.consent import grant_consent
from onestory.sharing.policy import PolicySet, load_policies
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, Role
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OWNER = "person-1"
TARGET_MEDIAN_US = 50.0

Case = tuple[Actor, str, RecordRef, str]


def baseline(
    policies: PolicySet,
    *,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
    consent_lookup: ConsentLookup,
) -> Decision:
    """The same call with no check: what a service without a sharing policy would pay."""
    return Decision(True, None, "allowed without a check")


def cases(policies: PolicySet) -> list[Case]:
    """One call per cell of the matrix: every role, action, record kind and purpose."""
    out: list[Case] = []
    for cell in policies.matrix():
        kind = ROLE_ORGANISATION_KIND[Role(cell.role)]
        actor = Actor(OWNER, cell.role, f"{kind}-01" if kind else None, kind)
        out.append((actor, cell.action, RecordRef(cell.record_kind, "r1", OWNER), cell.purpose))
    return out


def time_calls(
    fn: Callable[..., Decision], policies: PolicySet, work: list[Case], total: int
) -> dict[str, float]:
    """Throughput from a tight loop, and the median of individually timed calls."""
    consent: ConsentLookup = lambda *_: True  # noqa: E731
    n = len(work)
    start = time.perf_counter()
    for i in range(total):
        actor, action, record, purpose = work[i % n]
        fn(
            policies,
            actor=actor,
            action=action,
            record=record,
            purpose=purpose,
            consent_lookup=consent,
        )
    elapsed = time.perf_counter() - start
    samples: list[int] = []
    clock = time.perf_counter_ns
    for i in range(min(total, 50_000)):
        actor, action, record, purpose = work[i % n]
        t0 = clock()
        fn(
            policies,
            actor=actor,
            action=action,
            record=record,
            purpose=purpose,
            consent_lookup=consent,
        )
        samples.append(clock() - t0)
    samples.sort()
    return {
        "per_second": total / elapsed,
        "median_us": statistics.median(samples) / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
    }


def time_authorize(policies: PolicySet, work: list[Case], total: int) -> dict[str, float]:
    """``authorize`` on a fresh SQLite file, each decision in its own committed transaction."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine_for(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        load_metadata().create_all(engine)
        with session_factory(engine)() as session:
            public = Actor(OWNER, "victim", None, None)
            for agreement in (a for a in policies.agreements if a.consent_required):
                for grant in agreement.grants:
                    for role in grant.roles:
                        kind = ROLE_ORGANISATION_KIND[role]
                        for purpose in grant.purposes:
                            grant_consent(
                                session,
                                actor=public,
                                subject_id=OWNER,
                                organisation_kind=str(kind),
                                purpose=purpose,
                            )
            session.commit()
            samples: list[int] = []
            allowed = 0
            start = time.perf_counter()
            for i in range(total):
                actor, action, record, purpose = work[i % len(work)]
                t0 = time.perf_counter_ns()
                decision = authorize(
                    session,
                    actor=actor,
                    action=action,
                    record=record,
                    purpose=purpose,
                    justification="benchmark",
                    policies=policies,
                )
                session.commit()
                samples.append(time.perf_counter_ns() - t0)
                allowed += decision.allowed
            elapsed = time.perf_counter() - start
        engine.dispose()
    samples.sort()
    return {
        "per_second": total / elapsed,
        "median_us": statistics.median(samples) / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
        "allowed_share": allowed / total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--db-decisions", type=int, default=2_000)
    args = parser.parse_args(argv)

    policies = load_policies(ROOT / "policies")
    roles = {r for a in policies.agreements for g in a.grants for r in g.roles}
    matrix = list(policies.matrix())
    # Allowed cells first in each cycle, so a short run still exercises every agreement.
    work = cases(policies)
    work.sort(key=lambda case: not policies.lookup(case[0].role, case[1], case[2].kind, case[3]))

    base = time_calls(baseline, policies, work, args.decisions)
    check = time_calls(decide, policies, work, args.decisions)
    granted = [c for c in work if policies.lookup(c[0].role, c[1], c[2].kind, c[3])]
    check_allowed = time_calls(decide, policies, granted, args.decisions)
    database = time_authorize(policies, work, args.db_decisions)
    results: dict[str, Any] = {
        "agreements": len(policies.agreements),
        "roles_with_grants": len(roles),
        "matrix_cells": len(matrix),
        "allowed_cells": sum(c.allowed for c in matrix),
        "decisions": args.decisions,
        "db_decisions": args.db_decisions,
        "baseline": base,
        "decide": check,
        "decide_granted_cells_only": check_allowed,
        "authorize_sqlite": database,
        "overhead_median_us": check["median_us"] - base["median_us"],
        "target_median_us": TARGET_MEDIAN_US,
        "meets_target": max(check["median_us"], check_allowed["median_us"]) < TARGET_MEDIAN_US,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    write_results(results)
    print((RESULTS / "authorize.md").read_text(encoding="utf-8"))
    return 0 if results["meets_target"] else 1


def write_results(r: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "authorize.json").write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    m = r["machine"]

    def row(name: str, x: dict[str, float]) -> str:
        return f"| {name} | {x['per_second']:,.0f} | {x['median_us']:.2f} | {x['p99_us']:.2f} |"

    lines = [
        "# Access decisions",
        "",
        f"`bench/bench_authorize.py --decisions {r['decisions']} --db-decisions "
        f"{r['db_decisions']}` on {m['cpu_count']} CPUs, Python {m['python']}, {m['date']}.",
        "",
        f"Policy set: {r['agreements']} agreements, {r['roles_with_grants']} roles with grants, "
        f"{r['matrix_cells']:,} matrix cells of which {r['allowed_cells']} allowed. Calls cycle "
        "through every cell (consent answered in memory for `decide`).",
        "",
        "| call path | decisions/s | median µs | p99 µs |",
        "|---|---:|---:|---:|",
        row("baseline: same arguments, no check", r["baseline"]),
        row("`decide` (the policy check), every cell", r["decide"]),
        row("`decide`, only cells an agreement grants", r["decide_granted_cells_only"]),
        row("`authorize` on SQLite, ledger write + commit", r["authorize_sqlite"]),
        "",
        f"The check adds {r['overhead_median_us']:.2f} µs per decision at the median "
        f"(target: `decide` under {r['target_median_us']:.0f} µs median: "
        f"{'met' if r['meets_target'] else 'NOT met'}). With the database, the ledger append "
        "and commit dominate.",
        "",
    ]
    (RESULTS / "authorize.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
