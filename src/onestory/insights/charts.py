"""Bar charts of published figures, drawn on the server as accessible SVG (no script).

``chart_plan`` decides what each bar is, from a release's published table only: a published total
(a margin row) where there is one, else the sum of the rows, and "[c]" where any figure the bar
would add up is suppressed -- adding up only the published part would let a reader subtract it
from a published total and recover the hidden figure. A rate is recomputed from its group's
published counts; a median, which cannot be added up, gives way to its basis count, with a note.

``bar_chart`` draws it as a figure: a visible caption, which names the image, and an
``<svg role="img">`` whose ``<desc>`` summarises it in words (both referenced by
``aria-labelledby``); the same figures are in a table beside it, which is what a screen reader
user reads. The name is a ``<figcaption>`` rather than an SVG ``<title>`` so that sighted readers
see it too, and a page keeps one ``<title>`` element, its own. Bars are horizontal, so labels of
any length stay readable, and every bar carries its value as text: nothing is told by colour
alone. A suppressed figure is drawn as no bar, labelled "[c]", never as zero. Only presentation
attributes are used (no ``style``): the Content-Security-Policy allows our own stylesheets only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from onestory.insights import sdc
from onestory.insights.engine import Measure

SUPPRESSED = "[c]"
# GOV.UK blue on white is 5.2:1 and black text 19:1, above WCAG's 3:1 for graphics and 4.5:1
# for text.
BAR_COLOUR = "#1d70b8"
TEXT_COLOUR = "#0b0c0c"
AXIS_COLOUR = "#505a5f"
WIDTH = 720
# Labels get the room their longest needs (about 9 units a character), within these bounds.
LABEL_MIN, LABEL_MAX = 60, 260
LABEL_CHARS = 30
VALUE_WIDTH = 90
BAR_HEIGHT = 22
GAP = 10
TOP = 12
FONT_SIZE = 16
# A chart with more bars than this is no longer readable; the table holds the rest.
MAX_BARS = 40
# A dimension's null value in a URL ("" means a filter is not set).
NOT_KNOWN_KEY = "not-known"
DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None when suppressed) and that value as people read it."""

    label: str
    value: float | None
    text: str

    @property
    def suppressed(self) -> bool:
        return self.value is None


def _summary(bars: Sequence[Bar], value_title: str, by_title: str) -> str:
    shown = [bar for bar in bars if bar.value is not None]
    hidden = len(bars) - len(shown)
    if not bars:
        return f"There are no figures for {value_title.lower()} with these filters."
    parts = [f"{len(bars)} bars, one for each {by_title.lower()}."]
    if shown:
        high = max(shown, key=lambda bar: bar.value or 0)
        low = min(shown, key=lambda bar: bar.value or 0)
        parts.append(f"Highest: {high.label}, {high.text}.")
        if low is not high:
            parts.append(f"Lowest: {low.label}, {low.text}.")
    if hidden:
        parts.append(
            f"{hidden} {'figure is' if hidden == 1 else 'figures are'} suppressed to protect "
            f"people's privacy, shown as {SUPPRESSED} with no bar."
        )
    return " ".join(parts)


def _truncate(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    value_title: str,
    by_title: str,
) -> Markup:
    """A figure: the caption ``title`` and a horizontal bar chart of ``bars`` in inline SVG,
    described in words.

    ``chart_id`` makes the ids of the title and description unique on the page. Only the first
    ``MAX_BARS`` bars are drawn; the description says so when there are more.
    """
    drawn = list(bars[:MAX_BARS])
    description = _summary(bars, value_title, by_title)
    if len(bars) > MAX_BARS:
        description += f" The chart shows the first {MAX_BARS}; the table has them all."
    longest = max((len(_truncate(bar.label)) for bar in drawn), default=0)
    label_width = min(max(longest * 9 + 16, LABEL_MIN), LABEL_MAX)
    largest = max((bar.value for bar in drawn if bar.value is not None), default=0.0)
    scale = (WIDTH - label_width - VALUE_WIDTH) / largest if largest > 0 else 0.0
    height = TOP * 2 + max(len(drawn), 1) * (BAR_HEIGHT + GAP)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        Markup('<figure class="govuk-!-margin-0 govuk-!-margin-bottom-6">'),
        Markup(
            '<figcaption class="govuk-body govuk-!-font-weight-bold" id="{}">{}</figcaption>'
        ).format(title_id, title),
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" id="{}" class="onestory-chart" role="img" '
            'aria-labelledby="{} {}" viewBox="0 0 {} {}" width="100%" '
            'preserveAspectRatio="xMinYMin meet" font-family="arial, sans-serif" '
            'font-size="{}">'
        ).format(chart_id, title_id, desc_id, WIDTH, height, FONT_SIZE),
        Markup('<desc id="{}">{}</desc>').format(desc_id, description),
        Markup('<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>').format(WIDTH, height),
    ]
    for n, bar in enumerate(drawn):
        y = TOP + n * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2
        parts.append(
            Markup(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="central" fill="{}">'
                "{}</text>"
            ).format(label_width - 8, middle, TEXT_COLOUR, _truncate(bar.label))
        )
        length = 0.0 if bar.value is None else max(bar.value * scale, 0.0)
        if bar.value is not None and length > 0:
            parts.append(
                Markup('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>').format(
                    label_width, y, length, BAR_HEIGHT, BAR_COLOUR
                )
            )
        parts.append(
            Markup(
                '<text x="{:.1f}" y="{}" dominant-baseline="central" fill="{}"{}>{}</text>'
            ).format(
                label_width + length + 6,
                middle,
                TEXT_COLOUR,
                Markup(' font-weight="bold"') if bar.suppressed else Markup(""),
                SUPPRESSED if bar.suppressed else bar.text,
            )
        )
    parts.append(
        Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"/>').format(
            label_width, TOP / 2, label_width, height - TOP / 2, AXIS_COLOUR
        )
    )
    parts.append(Markup("</svg></figure>"))
    return Markup("").join(escape(part) for part in parts)


# --- from a published table to bars ----------------------------------------------------------


def key_of(value: Any) -> str:
    """A dimension value as it appears in a URL and a select option."""
    if value is None:
        return NOT_KNOWN_KEY
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def totals_in(row: Mapping[str, Any]) -> frozenset[str]:
    """The dimensions a margin row is summed over (none for the measure's own rows)."""
    value = row.get(sdc.TOTAL_OVER)
    if not isinstance(value, str):
        return frozenset()
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def suppressed_in(row: Mapping[str, Any]) -> frozenset[str]:
    value = row.get(sdc.SUPPRESSED)
    if isinstance(value, str):
        return frozenset(name.strip() for name in value.split(",") if name.strip())
    if isinstance(value, list):
        return frozenset(str(name) for name in value)
    return frozenset()


def dimension_words(column: str, value: Any) -> str:
    """A dimension's value as people read it: "March 2026", "Not known"."""
    if value is None or value == "":
        return "Not known"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime | date):
        return value.strftime("%B %Y") if "month" in column else f"{value.day} {value:%B %Y}"
    return str(value)


def number_words(value: Any) -> str:
    """A figure with thousands separators; rates and medians to two decimal places."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 100 else f"{value:,.2f}"
    return str(value)


def column_title(column: str) -> str:
    """``met_on_time`` as a heading: "Met on time"."""
    return column.replace("_", " ").replace("-", " ").capitalize()


@dataclass(frozen=True)
class ChartPlan:
    """What the chart shows: the bars, the figure charted, and a note when it had to change."""

    bars: list[Bar]
    value: str
    note: str | None = None


def _bar_value(group: Sequence[Mapping[str, Any]], column: str, additive: bool) -> float | None:
    """One bar from its rows: the row's figure, or their sum when every one was published.

    Raises ValueError when the figure cannot be had: a statistic over several rows, or on a
    margin row (statistics are not added up into totals)."""
    if not additive and (len(group) > 1 or totals_in(group[0])):
        raise ValueError(column)
    if len(group) == 1:
        row = group[0]
        value = row.get(column)
        return None if column in suppressed_in(row) or value is None else float(value)
    total = 0.0
    for row in group:
        value = row.get(column)
        if column in suppressed_in(row) or value is None:
            # Adding up only the published part of a total would let a reader subtract it from
            # a published margin and recover the suppressed figure.
            return None
        total += float(value)
    return total


def ratio_of(
    measure: Measure, rows: Sequence[Mapping[str, Any]], statistic: str
) -> tuple[str, float] | None:
    """The count ``statistic`` is a rate of, and its scale (1, or 100 for a percentage): found
    in the published rows, where every row with the figures shows ``count / basis * scale``.

    A rate can then be charted for any group as the ratio of the group's published counts, which
    tells a reader nothing the counts did not. A median fits no count, and gives None.
    """
    basis = measure.basis
    if not basis:
        return None
    usable = [
        row
        for row in rows
        if not totals_in(row)
        and isinstance(row.get(statistic), int | float)
        and isinstance(row.get(basis), int | float)
        and row[basis] > 0
    ]
    if not usable:
        return None
    for count in measure.counts:
        if count == basis:
            continue
        # Only rows that publish the count can confirm the fit (others have it suppressed).
        checked = [row for row in usable if isinstance(row.get(count), int | float)]
        for scale in (1.0, 100.0):
            if checked and all(
                abs(row[statistic] - scale * row[count] / row[basis]) <= 0.006 * scale
                for row in checked
            ):
                return count, scale
    return None


def natural_order(text: str) -> list[tuple[int, int | str]]:
    """Sort "R6.1" before "R11.2": digits compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in DIGITS.split(text) if part]


def chart_plan(
    measure: Measure,
    rows: Sequence[Mapping[str, Any]],
    chosen: Mapping[str, str],
    *,
    every_row: Sequence[Mapping[str, Any]] | None = None,
) -> ChartPlan | None:
    """Bars of the measure's ``chart_value`` by its ``chart_by``, over the filtered rows.

    Each bar is the published total for that value when the release has one (a margin row whose
    other unfiltered dimensions are exactly those it is summed over), else the sum of the rows.
    A rate is worked out from its group's published counts (``ratio_of``, judged on
    ``every_row`` of the table, since a few filtered rows may have too little published to tell).
    Another statistic (a median) cannot be added up: where a bar would need that, the chart shows
    the count the statistic is based on instead, and says so.
    """
    if not measure.chart_by or not measure.chart_value:
        return None
    by, value = measure.chart_by, measure.chart_value
    if by not in measure.dimensions:
        return None
    others = [d for d in measure.dimensions if d != by and not chosen.get(d)]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    margins: dict[str, Mapping[str, Any]] = {}
    labels: dict[str, str] = {}
    for row in rows:
        totals = totals_in(row)
        if by in totals:
            continue
        key = key_of(row.get(by))
        labels[key] = dimension_words(by, row.get(by))
        if others and totals == set(others):
            margins[key] = row
        elif not totals:
            groups.setdefault(key, []).append(row)
    keys = sorted(set(groups) | set(margins), key=natural_order)

    def figure(key: str, column: str) -> float | None:
        group = [margins[key]] if key in margins else groups[key]
        return _bar_value(group, column, additive=column in measure.counts)

    def bar(key: str, number: float | None, column: str) -> Bar:
        text = "" if number is None else number_words(_as_number(number, column, measure))
        return Bar(labels[key], number, text)

    evidence = rows if every_row is None else every_row
    ratio = ratio_of(measure, evidence, value) if value in measure.statistics else None
    if ratio is not None and measure.basis:
        count, scale = ratio
        bars = []
        for key in keys:
            part, whole = figure(key, count), figure(key, measure.basis)
            rate = None if part is None or whole is None or whole == 0 else scale * part / whole
            bars.append(bar(key, rate, value))
        return ChartPlan(bars, value)
    try:
        return ChartPlan([bar(key, figure(key, value), value) for key in keys], value)
    except ValueError:
        basis = measure.basis
        if not basis or basis not in measure.counts:
            return None
        note = (
            f"{column_title(value)} cannot be added up across "
            f"{', '.join(column_title(d).lower() for d in others)}, so the chart shows "
            f"{column_title(basis).lower()} instead."
        )
        if set(others) <= set(measure.filters):
            note += f" Choose a value for each filter to see {column_title(value).lower()}."
        return ChartPlan([bar(key, figure(key, basis), basis) for key in keys], basis, note)


def _as_number(figure: float, column: str, measure: Measure) -> int | float:
    return int(figure) if column in measure.counts and figure.is_integer() else figure
