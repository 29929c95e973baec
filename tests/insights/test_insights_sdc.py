"""Disclosure control (``insights.sdc``): margins, primary and secondary suppression to a fixed
point, statistics, rounding, determinism, and clear errors for results it cannot protect."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from onestory.insights.engine import Measure
from onestory.insights.sdc import (
    SUPPRESSED,
    TOTAL_OVER,
    DisclosureError,
    additive_columns,
    protect,
)

BY_AREA = Measure(
    id="sdc_by_area",
    title="People by area",
    definition="People by police area.",
    dimensions=("area",),
    counts=("people",),
    columns={"area": "Police area", "people": "People"},
)

BY_AREA_AND_MONTH = Measure(
    id="sdc_by_area_and_month",
    title="People by area and month",
    definition="People by police area and month.",
    dimensions=("area", "month"),
    counts=("people",),
    columns={"area": "Police area", "month": "Month", "people": "People"},
)


def two_way(cells: dict[str, list[int]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"area": area, "month": f"m{m}", "people": value}
            for area, values in cells.items()
            for m, value in enumerate(values)
        ]
    )


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def cell(table: pa.Table, **where: Any) -> Any:
    """The ``people`` value of the one row matching ``where`` (None for a margin's dimension)."""
    matches = [r for r in rows_of(table) if all(r[k] == v for k, v in where.items())]
    assert len(matches) == 1, f"{len(matches)} rows match {where}"
    return matches[0]["people"]


def test_primary_suppression_hides_small_counts_but_not_zero() -> None:
    table = pa.Table.from_pylist(
        [{"area": a, "people": n} for a, n in [("A", 0), ("B", 3), ("C", 7), ("D", 40), ("E", 4)]]
    )
    published = protect(BY_AREA, table)
    rows = rows_of(published.table)
    assert [r["people"] for r in rows[:5]] == [0, None, 7, 40, None]
    assert [r[SUPPRESSED] for r in rows[:5]] == ["", "people", "", "", "people"]
    # The two small cells hide each other in the grand total, so no second cell was needed.
    assert rows[5] == {"area": None, "people": 54, TOTAL_OVER: "area", SUPPRESSED: ""}
    assert published.primary_cells == 2
    assert published.suppressed_cells == 2


def test_zero_is_hidden_only_when_configured() -> None:
    table = pa.Table.from_pylist([{"area": a, "people": n} for a, n in [("A", 0), ("B", 9)]])
    shown = protect(BY_AREA, table).table
    assert shown.column("people").to_pylist() == [0, 9, 9]
    hidden = protect(BY_AREA, table, suppress_zeros=True).table
    # The zero is hidden, then B too, or the total would give the zero away.
    assert hidden.column("people").to_pylist() == [None, None, 9]


def test_a_lone_small_cell_takes_the_smallest_non_zero_cell_of_its_line_with_it() -> None:
    published = protect(BY_AREA_AND_MONTH, two_way({"A": [2, 0, 20, 10], "B": [30, 40, 50, 60]}))
    table = published.table
    assert cell(table, area="A", month="m0") is None  # primary
    assert cell(table, area="A", month="m3") is None  # secondary: 10 is the smallest non-zero
    assert cell(table, area="A", month="m1") == 0
    assert cell(table, area="A", month="m2") == 20
    # The margins are published: one per area, and the grand total.
    assert cell(table, area="A", month=None) == 32
    assert cell(table, area="B", month=None) == 180
    assert cell(table, area=None, month=None) == 212
    margins = [r[TOTAL_OVER] for r in rows_of(table) if r[TOTAL_OVER]]
    assert margins == ["month", "month", "area,month"]
    assert published.primary_cells == 1
    assert published.suppressed_cells == 2


def test_suppression_spreads_through_the_margins_to_a_fixed_point() -> None:
    # A's only non-zero cell is small, so A's total is small too (both primary). The grand total
    # would then give A's total away, so B's total is hidden; B's total would then be its cells'
    # sum, so one of B's cells is hidden as well.
    published = protect(BY_AREA_AND_MONTH, two_way({"A": [3, 0, 0], "B": [30, 8, 50]}))
    table = published.table
    assert cell(table, area="A", month="m0") is None
    assert cell(table, area="A", month=None) is None
    assert cell(table, area="B", month=None) is None
    assert cell(table, area="B", month="m1") is None
    assert cell(table, area="B", month="m0") == 30
    assert cell(table, area=None, month=None) == 91
    assert published.primary_cells == 2
    assert published.suppressed_cells == 4


def test_two_hidden_ones_are_not_left_alone_in_a_line() -> None:
    # 1 and 1 in a line whose total is shown: since zeros are shown, each must be 1.
    published = protect(BY_AREA_AND_MONTH, two_way({"A": [1, 1, 9, 30], "B": [20, 20, 20, 20]}))
    table = published.table
    assert [cell(table, area="A", month=f"m{m}") for m in range(4)] == [None, None, None, 30]


def test_statistics_are_hidden_where_their_group_is_small() -> None:
    measure = Measure(
        id="sdc_median",
        title="Days to charge",
        definition="Median days from offence to charge, by area.",
        dimensions=("area",),
        counts=("cases",),
        statistics=("median_days",),
        basis="cases",
        columns={"area": "Area", "cases": "Cases", "median_days": "Median days"},
    )
    table = pa.Table.from_pylist(
        [
            {"area": "A", "cases": 3, "median_days": 40.0},
            {"area": "B", "cases": 12, "median_days": 55.5},
            {"area": "C", "cases": 9, "median_days": 20.0},
        ]
    )
    rows = rows_of(protect(measure, table).table)
    assert rows[0]["median_days"] is None
    assert rows[0][SUPPRESSED] == "cases,median_days"
    # C's count is hidden to protect A's, but C's median describes nine cases: it stays.
    assert rows[2]["cases"] is None and rows[2]["median_days"] == 20.0
    assert rows[2][SUPPRESSED] == "cases"
    assert rows[1]["median_days"] == 55.5
    assert rows[3]["median_days"] is None and rows[3][TOTAL_OVER] == "area"


def test_rounding_rounds_every_shown_count_after_suppression_is_decided() -> None:
    table = pa.Table.from_pylist(
        [{"area": a, "people": n} for a, n in [("A", 3), ("B", 12), ("C", 17), ("D", 4)]]
    )
    published = protect(BY_AREA, table, rounding=5).table
    assert published.column("people").to_pylist() == [None, 10, 15, None, 35]


def test_counts_that_add_up_across_columns_are_protected_as_a_relation() -> None:
    measure = Measure(
        id="sdc_duties",
        title="Duties",
        definition="Duties started and how they ended, by area.",
        dimensions=("area",),
        counts=("started", "met", "overdue"),
        columns={"area": "Area", "started": "Started", "met": "Met", "overdue": "Overdue"},
    )
    table = pa.Table.from_pylist(
        [
            {"area": "A", "started": 42, "met": 40, "overdue": 2},
            {"area": "B", "started": 50, "met": 25, "overdue": 25},
            {"area": "C", "started": 60, "met": 30, "overdue": 30},
        ]
    )
    values = {c: table.column(c).to_pylist() for c in measure.counts}
    assert ("started", ("met", "overdue")) in additive_columns(measure.counts, values)
    rows = rows_of(protect(measure, table).table)
    # A's 2 overdue would be started minus met: one of those goes too.
    assert rows[0]["overdue"] is None
    assert rows[0]["met"] is None or rows[0]["started"] is None


def test_the_same_result_is_always_published_the_same_way() -> None:
    table = two_way({"A": [1, 2, 3, 0, 8], "B": [4, 0, 9, 1, 2], "C": [7, 7, 7, 3, 1]})
    first = protect(BY_AREA_AND_MONTH, table).table
    for _ in range(3):
        assert protect(BY_AREA_AND_MONTH, table).table.equals(first)


def test_results_disclosure_control_cannot_protect_are_refused_with_the_reason() -> None:
    measure = Measure(
        id="sdc_no_basis",
        title="Days",
        definition="Median days by area.",
        dimensions=("area",),
        counts=("cases",),
        statistics=("median_days",),
        columns={"area": "Area", "cases": "Cases", "median_days": "Median"},
    )
    table = pa.Table.from_pylist([{"area": "A", "cases": 9, "median_days": 1.0}])
    with pytest.raises(DisclosureError, match="sdc_no_basis publishes statistics"):
        protect(measure, table)
    negative = pa.Table.from_pylist([{"area": "A", "people": -1}])
    with pytest.raises(DisclosureError, match="people holds -1 in row 1"):
        protect(BY_AREA, negative)
    with pytest.raises(DisclosureError, match="threshold must be 1 or more"):
        protect(BY_AREA, negative, threshold=0)


def test_a_rate_is_hidden_wherever_a_count_of_its_row_is() -> None:
    """0.80 of 5 started would give back a hidden 4 met on time."""
    measure = Measure(
        id="sdc_rate",
        title="Duties met on time",
        definition="Duties started and met on time, by area.",
        dimensions=("area",),
        counts=("started", "met"),
        statistics=("rate",),
        basis="started",
        rates=("rate",),
        columns={"area": "Area", "started": "Started", "met": "Met", "rate": "Share met"},
    )
    table = pa.Table.from_pylist(
        [
            {"area": "A", "started": 5, "met": 4, "rate": 0.8},
            {"area": "B", "started": 40, "met": 30, "rate": 0.75},
            {"area": "C", "started": 50, "met": 45, "rate": 0.9},
        ]
    )
    rows = rows_of(protect(measure, table).table)
    assert rows[0]["met"] is None and rows[0]["rate"] is None
    assert "rate" in rows[0][SUPPRESSED].split(",")
    shown = [r for r in rows[:3] if r["met"] is not None]
    assert all(r["rate"] is not None for r in shown)
