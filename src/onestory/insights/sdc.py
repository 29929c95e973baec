"""Statistical disclosure control: what a measure's result may show the public.

A published table must not let anyone learn about a handful of people. ``protect`` turns a
measure's full result into the table a release publishes:

1. **Margins.** Totals are published with the cells, as extra rows: with two or more dimensions,
   one row per value of the first dimension (summed over the others) and a grand total; with one
   dimension, the grand total only (its per-value totals would be the cells themselves); with
   none, nothing. In a margin row the summed-over dimensions are null, ``total_over`` names them
   (comma-separated; empty on the measure's own rows) and statistics are null (a median cannot be
   added up). Every margin is an additive relation an attacker could use, so they are exactly the
   relations secondary suppression protects: each first-dimension total with its rows, and the
   grand total with the first-dimension totals (or with the rows, with one dimension). Counts
   that add up *across columns* in every row (say ``started = on_time + late + overdue``) are
   relations too; they are found in the data rather than declared, which at worst suppresses a
   little more than needed.
2. **Primary suppression.** Every count cell, margins included, with ``0 < value < threshold``.
   Zero is published by default: "no victim was owed this duty here" tells nothing about a
   person, and hiding zeros would hide where services are missing. ``suppress_zeros=True`` hides
   them too (``0 <= value < threshold``). A rate (``Measure.rates``) is suppressed where any count
   of its row is (beside its denominator it would give back a hidden numerator); every statistic
   is suppressed where its measure's ``basis`` count is under the threshold, as it describes too
   few people.
3. **Secondary suppression.** A relation with exactly one hidden member gives that member away
   (the total minus the other cells), so another member is hidden: the smallest non-zero cell
   not yet hidden (ties: the first), else the total itself. Since zeros are visible by default, a
   reader knows every hidden count is at least 1; so when the hidden cells of a relation whose
   total is visible add up to no more than that floor each (two hidden 1s in a total of 2), one
   more cell is hidden too. Hiding a total brings its own relation into play, so the rules run
   over every relation until nothing changes (a fixed point).
4. **Audit.** Line-by-line rules are not enough once relations cross (a row's counts adding up
   across columns, and each column adding up to its margins): two relations together can pin a
   cell neither pins alone. So the hidden cells are then checked as an attacker would: first by
   propagating bounds through the relations, then by linear programming over all of them at
   once (scipy's HiGHS), and any cell still determined gets another cell hidden beside it, the
   rules run again, and so on until none is. Without scipy only the propagation runs, which
   catches most but not all such cases; ``Protected.audit`` and the release say which ran.
   The result is deterministic: it depends only on the rows' order, which the measure's SQL
   fixes.
5. **Rounding** (optional, ``rounding > 0``): every published count, margins included, is rounded
   to the nearest multiple of ``rounding`` (halves up), each on its own, so rounded cells need
   not add up to rounded totals. Suppression is decided on the true values, before rounding.

Suppressed values become null, and each row's ``suppressed`` column names its hidden columns
(comma-separated, empty if none). ``tests/insights/test_insights_attack.py`` tries to recover
every hidden cell of published tables by linear programming over all of these relations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import pyarrow as pa

from onestory.insights.engine import Measure

TOTAL_OVER = "total_over"
SUPPRESSED = "suppressed"
DEFAULT_THRESHOLD = 5
# Subsets of count columns tried as parts of a cross-column total; beyond this many columns only
# small subsets are tried (2^n grows fast, and real additive groups are small).
_ALL_SUBSETS_UP_TO = 10
_LARGEST_SUBSET = 4
_PROPAGATION_PASSES = 200
_RANDOM_DIRECTIONS = 3
_MOVES = 1e-6  # a direction's component above this is a real move, not solver noise
# How a release's hidden cells were checked (``Protected.audit``).
AUDIT_LP = "linear programming"
AUDIT_PROPAGATION = "interval propagation (scipy not installed)"

Cell = tuple[int, str]  # (row in the published table, count column)
# The least value a reader knows each count has (see protect).
Floors = dict[Cell, int]


class DisclosureError(Exception):
    """A result that cannot be protected as its measure describes it; the message says why."""


@dataclass(frozen=True)
class Relation:
    """A published additive relation: ``total`` is the sum of ``parts``."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def members(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


@dataclass(frozen=True)
class Protected:
    """A measure's table as published, and what disclosure control did to it."""

    table: pa.Table
    relations: tuple[Relation, ...]
    suppressed_cells: int
    primary_cells: int
    audit: str


def _as_int(value: Any, measure: Measure, column: str, row: int) -> int:
    if value is None:
        return 0  # a count over no rows (SUM of nothing) is nought
    number = int(value)
    if number != value or number < 0:
        raise DisclosureError(
            f"measure {measure.id}: count column {column} holds {value!r} in row {row + 1}; "
            "counts must be whole numbers of nought or more"
        )
    return number


def _margin_rows(
    measure: Measure, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[tuple[int, list[int]]]]:
    """Margin rows to append, and (margin row, its part rows) for each, indexes after ``rows``."""
    dims = measure.dimensions
    n = len(rows)
    if not dims or not measure.totals:
        return [], []
    margins: list[dict[str, Any]] = []
    groups: list[tuple[int, list[int]]] = []
    if len(dims) >= 2:
        first = dims[0]
        order: dict[Any, list[int]] = {}
        for i, row in enumerate(rows):
            order.setdefault(row[first], []).append(i)
        for value, members in order.items():
            margin = dict.fromkeys(dims)
            margin[first] = value
            margin[TOTAL_OVER] = ",".join(dims[1:])
            groups.append((n + len(margins), members))
            margins.append(margin)
        grand_parts = [index for index, _ in groups]
    else:
        grand_parts = list(range(n))
    grand = dict.fromkeys(dims)
    grand[TOTAL_OVER] = ",".join(dims)
    groups.append((n + len(margins), grand_parts))
    margins.append(grand)
    for margin in margins:
        for column in measure.statistics:
            margin[column] = None
    return margins, groups


def additive_columns(
    counts: Sequence[str], values: dict[str, list[int]]
) -> list[tuple[str, tuple[str, ...]]]:
    """Count columns that equal the sum of other count columns in every row: (total, parts)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    largest = len(counts) - 1 if len(counts) <= _ALL_SUBSETS_UP_TO else _LARGEST_SUBSET
    for total in counts:
        others = [c for c in counts if c != total]
        for size in range(1, min(largest, len(others)) + 1):
            for parts in combinations(others, size):
                if all(
                    values[total][i] == sum(values[p][i] for p in parts)
                    for i in range(len(values[total]))
                ):
                    found.append((total, parts))
    return found


def _relations(
    measure: Measure, groups: list[tuple[int, list[int]]], values: dict[str, list[int]]
) -> list[Relation]:
    relations = [
        Relation((total_row, column), tuple((r, column) for r in part_rows))
        for column in measure.counts
        for total_row, part_rows in groups
    ]
    rows = len(next(iter(values.values()))) if values else 0
    for total, parts in additive_columns(measure.counts, values):
        relations.extend(Relation((r, total), tuple((r, p) for p in parts)) for r in range(rows))
    return relations


def _secondary(
    relations: Sequence[Relation], values: dict[Cell, int], hidden: set[Cell], floor: Floors
) -> None:
    """Hide more cells until no relation gives a hidden cell away (in place; a fixed point)."""
    changed = True
    while changed:
        changed = False
        for relation in relations:
            hidden_members = [m for m in relation.members if m in hidden]
            if not hidden_members:
                continue
            hidden_parts = [p for p in relation.parts if p in hidden]
            exposed = len(hidden_members) == 1 or (
                relation.total not in hidden
                and sum(values[p] for p in hidden_parts) <= sum(floor[p] for p in hidden_parts)
            )
            if not exposed:
                continue
            candidates = [p for p in relation.parts if p not in hidden and values[p] > 0]
            if not candidates:
                candidates = [p for p in relation.parts if p not in hidden and floor[p] == 0]
            if candidates:
                # min keeps the first of equal values: the choice depends only on the order.
                hidden.add(min(candidates, key=lambda p: values[p]))
            elif relation.total not in hidden:
                hidden.add(relation.total)
            else:
                continue
            changed = True


def _bounds(
    relations: Sequence[Relation], values: dict[Cell, int], hidden: set[Cell], floor: Floors
) -> dict[Cell, tuple[float, float]]:
    """What a reader can deduce about each hidden cell: bounds propagated through the relations.

    Interval propagation, as an attacker with pencil and paper would do it: a hidden total is at
    least the sum of its parts' least values, a hidden part at most its total less the others'
    least values, and so on, until nothing tightens (or ``_PROPAGATION_PASSES`` passes).
    """
    low: dict[Cell, float] = {cell: float(floor[cell]) for cell in hidden}
    high: dict[Cell, float] = dict.fromkeys(hidden, math.inf)

    def lo(cell: Cell) -> float:
        return low[cell] if cell in hidden else values[cell]

    def hi(cell: Cell) -> float:
        return high[cell] if cell in hidden else values[cell]

    involved = [r for r in relations if any(m in hidden for m in r.members)]
    for _ in range(_PROPAGATION_PASSES):
        changed = False
        for relation in involved:
            parts_lo = sum(lo(p) for p in relation.parts)
            parts_hi = sum(hi(p) for p in relation.parts)
            updates: list[tuple[Cell, float, float]] = []
            if relation.total in hidden:
                updates.append((relation.total, parts_lo, parts_hi))
            for part in relation.parts:
                if part in hidden:
                    updates.append(
                        (
                            part,
                            lo(relation.total) - (parts_hi - hi(part)),
                            hi(relation.total) - (parts_lo - lo(part)),
                        )
                    )
            for cell, new_low, new_high in updates:
                if new_low > low[cell]:
                    low[cell] = new_low
                    changed = True
                if new_high < high[cell]:
                    high[cell] = new_high
                    changed = True
        if not changed:
            break
    return {cell: (low[cell], high[cell]) for cell in hidden}


def _fixed_by_lp(
    relations: Sequence[Relation], values: dict[Cell, int], hidden: set[Cell], floor: Floors
) -> list[Cell] | None:
    """Hidden cells the whole linear system pins, found by linear programming; None without scipy.

    A hidden cell can take more than one value exactly when some direction ``d`` keeps every
    relation (``A d = 0``) and keeps each cell already at its floor from going lower (``d >= 0``
    there) while moving it. Directions are sought in the box ``-1 <= d <= 1``: first along a few
    fixed pseudo-random objectives (each solution moves many cells at once), then, for each cell
    not yet seen to move, by maximising and minimising its own ``d``.
    """
    try:
        import numpy as np
        from scipy.optimize import linprog
        from scipy.sparse import coo_array
    except ImportError:
        return None
    cells = sorted(hidden)
    index = {cell: k for k, cell in enumerate(cells)}
    n = len(cells)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    equations = 0
    for relation in relations:
        terms = [(relation.total, 1.0), *((p, -1.0) for p in relation.parts)]
        hidden_terms = [(index[c], sign) for c, sign in terms if c in index]
        if not hidden_terms:
            continue
        for k, sign in hidden_terms:
            rows.append(equations)
            cols.append(k)
            data.append(sign)
        equations += 1
    a_eq = coo_array((data, (rows, cols)), shape=(equations, n)).tocsr()
    b_eq = [0.0] * equations
    bounds = [(0.0 if values[c] <= floor[c] else -1.0, 1.0) for c in cells]
    movable = np.zeros(n, dtype=bool)

    def explore(objective: np.ndarray) -> None:
        result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if result.status != 0:
            raise DisclosureError(f"the disclosure audit could not be solved: {result.message}")
        movable[np.abs(result.x) > _MOVES] = True

    # Seeded, not secret: the same table is always audited the same way.
    chooser = np.random.default_rng(0)
    for _ in range(_RANDOM_DIRECTIONS):
        explore(chooser.uniform(-1.0, 1.0, n))
    # Then push the cells not yet seen to move, all up and all down, with random positive
    # weights (so two that must move against each other still find a way), while that helps.
    while not movable.all():
        before = int(movable.sum())
        for sign in (-1.0, 1.0):
            explore(np.where(movable, 0.0, sign * chooser.uniform(0.5, 1.5, n)))
        if int(movable.sum()) == before:
            break
    for unsettled in np.flatnonzero(~movable):
        for sign in (-1.0, 1.0):
            if movable[unsettled]:
                break
            objective = np.zeros(n)
            objective[unsettled] = sign
            explore(objective)
    return [cells[k] for k in range(n) if not movable[k]]


def _pinned(
    relations: Sequence[Relation], values: dict[Cell, int], hidden: set[Cell], floor: Floors
) -> tuple[list[Cell], str]:
    """Hidden cells a reader can still work out, in order, and how that was checked."""
    bounds = _bounds(relations, values, hidden, floor)
    pinned = sorted(cell for cell, (low, high) in bounds.items() if high - low < 1)
    if pinned or not hidden:
        return pinned, AUDIT_LP
    by_lp = _fixed_by_lp(relations, values, hidden, floor)
    if by_lp is None:
        return [], AUDIT_PROPAGATION
    return by_lp, AUDIT_LP


def _suppress(
    relations: Sequence[Relation], values: dict[Cell, int], hidden: set[Cell], floor: Floors
) -> str:
    """Secondary suppression, then more wherever an audit still pins a hidden cell.

    Returns how the last audit was done (``AUDIT_LP`` or, without scipy, ``AUDIT_PROPAGATION``).
    """
    containing: dict[Cell, list[Relation]] = {}
    for relation in relations:
        for member in relation.members:
            containing.setdefault(member, []).append(relation)
    while True:
        _secondary(relations, values, hidden, floor)
        pinned, audit = _pinned(relations, values, hidden, floor)
        if not pinned:
            return audit
        touched: set[Relation] = set()
        for cell in pinned:
            if any(r in touched for r in containing.get(cell, ())):
                continue  # one new hidden cell per relation a round: it may free them all
            for relation in containing.get(cell, ()):
                candidates = [p for p in relation.parts if p not in hidden and values[p] > 0]
                if relation.total not in hidden and values[relation.total] > 0:
                    candidates.append(relation.total)
                if candidates:
                    hidden.add(min(candidates, key=lambda p: values[p]))
                    touched.add(relation)
                    break
        if not touched:
            # Nothing visible is left beside the pinned cells: hide every non-zero cell, which
            # leaves no visible figure to work from (not reached in the attack test's tables).
            hidden.update(cell for cell, value in values.items() if value > 0)
            return audit


def _round(value: int, base: int) -> int:
    return ((value + base // 2) // base) * base if base > 1 else value


def protect(
    measure: Measure,
    table: pa.Table,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: int = 0,
    suppress_zeros: bool = False,
) -> Protected:
    """The published form of ``measure``'s full result ``table`` (see the module docstring)."""
    if threshold < 1:
        raise DisclosureError(f"the threshold must be 1 or more, not {threshold}")
    if rounding < 0:
        raise DisclosureError(f"rounding must be 0 (none) or a positive base, not {rounding}")
    if measure.statistics and measure.basis is None:
        raise DisclosureError(
            f"measure {measure.id} publishes statistics {list(measure.statistics)} without a "
            "basis: name the count of the group each statistic describes (Measure.basis)"
        )
    if measure.basis is not None and measure.basis not in measure.counts:
        raise DisclosureError(
            f"measure {measure.id}: its basis {measure.basis} is not one of its counts"
        )
    measure.check_columns(table)
    rows = table.to_pylist()
    for i, row in enumerate(rows):
        for column in measure.counts:
            row[column] = _as_int(row[column], measure, column, i)
        row[TOTAL_OVER] = ""
    margins, groups = _margin_rows(measure, rows)
    published = rows + margins
    # Groups come in order, so the grand total's parts (first-dimension totals) are done first.
    for margin_row, part_rows in groups:
        for column in measure.counts:
            published[margin_row][column] = sum(published[r][column] for r in part_rows)
    by_column = {c: [row[c] for row in published] for c in measure.counts}
    relations = _relations(measure, groups, by_column)
    values = {(i, c): row[c] for i, row in enumerate(published) for c in measure.counts}
    # A small group hides all its counts, zeros too: "none of the 3 was met on time" tells the
    # outcome of every one of them. What a reader knows of a hidden count is its floor: at least
    # 1 where zeros are shown, at least 0 in such a row (or when zeros are hidden everywhere).
    small_rows = {
        i
        for i, row in enumerate(published)
        if measure.basis is not None and 0 < row[measure.basis] < threshold
    }
    floor: Floors = {(i, c): 0 if suppress_zeros or i in small_rows else 1 for (i, c) in values}
    hidden = {cell for cell, value in values.items() if floor[cell] <= value < threshold}
    hidden |= {(i, c) for i in small_rows for c in measure.counts}
    primary = len(hidden)
    audit = _suppress(relations, values, hidden, floor=floor)
    for i, row in enumerate(published):
        names = [c for c in measure.counts if (i, c) in hidden]
        # A statistic goes with its group: hidden where the group is small, and hidden wherever
        # any count of its row is (a rate beside its denominator would give back the hidden
        # numerator: 0.8 of 5 started is 4 met on time).
        small = measure.basis is not None and row[measure.basis] < threshold
        if row[TOTAL_OVER] == "":
            names.extend(
                s
                for s in measure.statistics
                if row[s] is not None
                and (
                    small or (names and s in measure.rates) or (rounding > 1 and s in measure.rates)
                )
            )
        for column in names:
            row[column] = None
        for column in measure.counts:
            if row[column] is not None:
                row[column] = _round(row[column], rounding)
        row[SUPPRESSED] = ",".join(names)
    return Protected(
        pa.Table.from_pylist(published, schema=published_schema(measure, table.schema)),
        tuple(relations),
        sum(1 for cell in values if cell in hidden),
        primary,
        audit,
    )


def published_schema(measure: Measure, schema: pa.Schema) -> pa.Schema:
    """The published table's columns: dimensions, counts (int64), statistics, then ours."""
    fields = [schema.field(d) for d in measure.dimensions]
    fields += [pa.field(c, pa.int64()) for c in measure.counts]
    fields += [schema.field(s).with_nullable(True) for s in measure.statistics]
    fields += [pa.field(TOTAL_OVER, pa.string()), pa.field(SUPPRESSED, pa.string())]
    return pa.schema(fields)


def hidden_cells(table: pa.Table, counts: Iterable[str]) -> list[Cell]:
    """The count cells a published table leaves empty."""
    return [
        (i, column)
        for column in counts
        for i, value in enumerate(table.column(column).to_pylist())
        if value is None
    ]
