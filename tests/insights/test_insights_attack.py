"""The disclosure-control attack: try to recover every suppressed cell of published tables.

The attacker knows everything a release publishes: the cells left visible, the margin rows, and
which totals are sums of which cells (read from the published table itself: ``total_over`` says
what a margin row sums over), plus which count columns add up across a row (here taken from the
measure's definition, as a reader would). Zeros are published, so the attacker also knows every
hidden count is at least 1.

Two attacks:

1. direct: a relation (a total and its parts) with exactly one hidden member gives it away;
2. the linear system of every published relation at once: for each hidden cell, linear
   programming (``scipy.optimize.linprog``) finds the least and the greatest value it can take
   consistent with everything published.

The criterion: for every hidden cell, the greatest value minus the least is at least 1, so the
cell's value cannot be determined from the release. (The published relations only add cells up,
so the extreme points of the feasible set are whole numbers here, and an LP interval at least 1
wide holds at least two whole values.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pytest
from insights_world import InsightsWorld
from scipy.optimize import linprog
from scipy.sparse import csr_array

from onestory.insights.engine import Measure, all_measures
from onestory.insights.publish import publish_release
from onestory.insights.sdc import AUDIT_LP, SUPPRESSED, TOTAL_OVER, protect
from onestory.store import session_factory

Cell = tuple[int, str]


def published_relations(
    table: pa.Table,
    dimensions: Sequence[str],
    counts: Sequence[str],
    column_sums: Sequence[tuple[str, Sequence[str]]] = (),
) -> list[tuple[Cell, list[Cell]]]:
    """Every additive relation a reader can see in a published table, worked out from its rows."""
    rows = table.to_pylist()
    detail = [i for i, row in enumerate(rows) if row[TOTAL_OVER] == ""]
    relations: list[tuple[int, list[int]]] = []
    first_margins = []
    grand = None
    for i, row in enumerate(rows):
        over = row[TOTAL_OVER]
        if not over:
            continue
        if over == ",".join(dimensions):
            grand = i
        else:
            first = dimensions[0]
            relations.append((i, [d for d in detail if rows[d][first] == row[first]]))
            first_margins.append(i)
    if grand is not None:
        relations.append((grand, first_margins or detail))
    cells = [((t, c), [(p, c) for p in parts]) for c in counts for t, parts in relations]
    for total, parts in column_sums:
        cells.extend(((r, total), [(r, p) for p in parts]) for r in range(len(rows)))
    return cells


def hidden(table: pa.Table, counts: Sequence[str]) -> list[Cell]:
    return [(i, c) for c in counts for i, v in enumerate(table.column(c).to_pylist()) if v is None]


def attack(
    table: pa.Table,
    relations: list[tuple[Cell, list[Cell]]],
    counts: Sequence[str],
    *,
    floor: int = 1,
) -> dict[Cell, tuple[float, float]]:
    """For each hidden cell, the least and greatest values found consistent with everything
    published: exact where they are less than 1 apart (each was then minimised and maximised on
    its own), otherwise two feasible values proving it cannot be determined."""
    unknown = hidden(table, counts)
    if not unknown:
        return {}
    index = {cell: k for k, cell in enumerate(unknown)}
    columns = {c: table.column(c).to_pylist() for c in counts}
    values = {(i, c): columns[c][i] for c in counts for i in range(table.num_rows)}
    n = len(unknown)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    b_eq: list[float] = []
    for total, parts in relations:
        terms: dict[int, float] = {}
        rhs = 0.0
        for cell, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            if cell in index:
                terms[index[cell]] = terms.get(index[cell], 0.0) + sign
            else:
                rhs -= sign * values[cell]
        if any(terms.values()):
            for k, coefficient in terms.items():
                rows.append(len(b_eq))
                cols.append(k)
                data.append(coefficient)
            b_eq.append(rhs)
    a_eq = csr_array((data, (rows, cols)), shape=(len(b_eq), n))
    # What a reader knows of each hidden count: at least ``floor``, except in a row whose counts
    # are all hidden, which may be a small group whose zeros were hidden with it (at least 0).
    whole_rows = {i for i in range(table.num_rows) if all(values[(i, c)] is None for c in counts)}
    bounds = [(0 if cell[0] in whole_rows else floor, None) for cell in unknown]
    seen_low = [float("inf")] * n
    seen_high = [float("-inf")] * n

    def solve(objective: list[float], cell: int | None = None) -> None:
        result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert result.status in (0, 3), f"the published relations: {result.message}"
        if result.status == 0:
            for k, value in enumerate(result.x):
                seen_low[k] = min(seen_low[k], value)
                seen_high[k] = max(seen_high[k], value)
        elif cell is not None:  # unbounded: this cell can grow without limit
            seen_high[cell] = float("inf")

    # Each solution is a whole feasible table: a few along fixed pseudo-random objectives, then
    # pushing the unsettled cells together, settle most cells at once; the rest are minimised
    # and maximised one by one.
    chooser = random.Random(0)
    for _ in range(4):
        solve([chooser.uniform(-1, 1) for _ in range(n)])
    for _ in range(6):  # then push all the unsettled cells up together, and down together
        unsettled = {k for k in range(n) if seen_high[k] - seen_low[k] < 1 - 1e-6}
        if not unsettled:
            break
        for sign in (-1.0, 1.0):
            solve([sign if k in unsettled else 0.0 for k in range(n)])
    for k in range(n):
        for sign in (1.0, -1.0):
            if seen_high[k] - seen_low[k] >= 1 - 1e-6:
                break
            objective = [0.0] * n
            objective[k] = sign
            solve(objective, k)
    return {cell: (seen_low[k], seen_high[k]) for cell, k in index.items()}


def assert_attack_fails(
    table: pa.Table,
    dimensions: Sequence[str],
    counts: Sequence[str],
    column_sums: Sequence[tuple[str, Sequence[str]]] = (),
) -> int:
    """Run both attacks on one published table; the number of hidden cells tried."""
    relations = published_relations(table, dimensions, counts, column_sums)
    unknown = set(hidden(table, counts))
    for total, parts in relations:
        exposed = [m for m in (total, *parts) if m in unknown]
        assert len(exposed) != 1, f"{exposed[0]} is its total minus the other cells"
    for cell, (low, high) in attack(table, relations, counts).items():
        # A zero hidden with its small group may be worked out when the published totals are
        # zero too ("nobody anywhere is pending"): a zero says nothing about anyone, which is why
        # zeros are published at all. Any other value must stay undetermined.
        assert high - low >= 1 - 1e-6 or high < 1e-6, f"{cell} is pinned to [{low}, {high}]"
    return len(unknown)


COMPLIANCE = Measure(
    id="attack_compliance",
    title="Synthetic compliance",
    definition="Duties by area, month and duty: a table with many small cells.",
    dimensions=("police_area", "month", "duty"),
    counts=("started", "on_time", "late", "overdue"),
    columns={
        "police_area": "Police area",
        "month": "Month",
        "duty": "Duty",
        "started": "Duties started",
        "on_time": "Met on time",
        "late": "Met late",
        "overdue": "Overdue",
    },
)


def small_cells_table(seed: int, areas: int, months: int, duties: int) -> pa.Table:
    """A result table with many small counts and zeros, where started = on time + late + overdue."""
    rng = random.Random(seed)
    rows = []
    for a in range(areas):
        for m in range(months):
            for d in range(duties):
                parts = [rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 7, 12, 30]) for _ in range(3)]
                rows.append(
                    {
                        "police_area": f"area-{a}",
                        "month": f"2026-{m + 1:02d}",
                        "duty": f"duty-{d}",
                        "started": sum(parts),
                        "on_time": parts[0],
                        "late": parts[1],
                        "overdue": parts[2],
                    }
                )
    return pa.Table.from_pylist(rows)


@pytest.mark.parametrize("seed", range(12))
def test_no_suppressed_cell_of_a_table_full_of_small_cells_can_be_recovered(seed: int) -> None:
    rng = random.Random(seed)
    table = small_cells_table(seed, rng.randint(2, 4), rng.randint(2, 5), rng.randint(1, 3))
    published = protect(COMPLIANCE, table).table
    tried = assert_attack_fails(
        published,
        COMPLIANCE.dimensions,
        COMPLIANCE.counts,
        column_sums=[("started", ("on_time", "late", "overdue"))],
    )
    # The tables are built to need suppression: the attack had something to try.
    assert tried > 0
    assert any(published.column(SUPPRESSED).to_pylist())


def test_a_cell_pinned_only_by_two_relations_together_is_protected() -> None:
    # Found by this attack against line-by-line suppression alone: started = on_time + late +
    # overdue in each row, and each column adds up to its total. With the first and third rows'
    # started and late hidden (they are equal there), started's total gives late(0) + late(2) = 6,
    # so late's total left late(1) + late(3) = 2: each 1, since hidden counts are at least 1.
    rows = [(5, 0, 5, 0), (35, 4, 1, 30), (1, 0, 1, 0), (9, 7, 1, 1)]
    table = pa.Table.from_pylist(
        [
            {"police_area": "A", "month": f"2026-0{m + 1}", "duty": "R1"}
            | dict(zip(COMPLIANCE.counts, values, strict=True))
            for m, values in enumerate(rows)
        ]
    )
    protected = protect(COMPLIANCE, table)
    assert protected.audit == AUDIT_LP
    assert (
        assert_attack_fails(
            protected.table,
            COMPLIANCE.dimensions,
            COMPLIANCE.counts,
            column_sums=[("started", ("on_time", "late", "overdue"))],
        )
        > 0
    )


@pytest.mark.parametrize("dims", [("police_area",), ("police_area", "month")])
def test_one_and_two_dimensional_tables_resist_the_attack(dims: tuple[str, ...]) -> None:
    measure = Measure(
        id="attack_small",
        title="Small",
        definition="People by area (and month).",
        dimensions=dims,
        counts=("people",),
        columns={"police_area": "Area", "month": "Month", "people": "People"},
    )
    rng = random.Random(len(dims))
    rows = [
        {"police_area": f"a{a}", "month": f"m{m}", "people": rng.choice([0, 1, 1, 2, 6, 9, 40])}
        for a in range(5)
        for m in range(4 if len(dims) == 2 else 1)
    ]
    table = pa.Table.from_pylist([{k: r[k] for k in (*dims, "people")} for r in rows])
    published = protect(measure, table).table
    assert assert_attack_fails(published, dims, ("people",)) > 0


def column_sums_in(table: pa.Table, counts: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Count columns that are the sum of others in every row, found the slow, plain way."""
    rows = table.to_pylist()
    found = []
    for total in counts:
        others = [c for c in counts if c != total]
        for size in range(1, len(others) + 1):
            for parts in combinations(others, size):
                if all(r[total] == sum(r[p] for p in parts) for r in rows):
                    found.append((total, parts))
    return found


def test_every_table_of_a_real_release_resists_the_attack(
    insights_world: InsightsWorld, tmp_path: Path
) -> None:
    """A release of every registered measure from the small synthetic world: every public
    measure's table is attacked."""
    measures = {k: m for k, m in all_measures().items() if m.public}
    if not measures:
        pytest.skip("no measures are registered yet: only the synthetic tables were attacked")
    with session_factory(insights_world.engine)() as session:
        release = publish_release(session, tmp_path)
    assert release.measure_ids == list(measures)
    attacked = 0
    for measure_id, measure in measures.items():
        published = release.table(measure_id)
        sums = column_sums_in(release.internal_table(measure_id), measure.counts)
        attacked += assert_attack_fails(published, measure.dimensions, measure.counts, sums)
    # The small world has small groups: some cells were hidden and attacked.
    assert attacked > 0
