"""The statistics pages: the public dashboard of the latest release, one page per measure, the
release's files, and the unsuppressed figures for authorised analysts.

Public pages show only what a release published (``<measure>.parquet``, disclosure-controlled):
they never compute figures from the store or read the ``internal/`` files, so a page cannot show
more than the CSV a reader could download. A chart adds figures up only where every figure it adds
was published, and otherwise draws the bar as suppressed; a published total (a margin row) is used
as it stands, since disclosure control has already protected it.

The analysts' page reads ``internal/<measure>.parquet``; each view is a ``sharing.authorize``
decision (``read`` of ``statistics`` for the purpose ``statistics``), ledgered, and anything
refused, or asked for by someone not signed in, is "Page not found".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyarrow.parquet as pq
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from onestory.insights import charts, publish
from onestory.insights.engine import Measure, all_measures
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.web.deps import SessionDep, SettingsDep
from onestory.web.identity import CurrentUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

RELEASE_FILE = publish.RELEASE_FILE
METADATA_FILE = publish.CSVW_FILE
INTERNAL_DIR = publish.INTERNAL
PURPOSE = "statistics"
PAGE_SIZE = 50
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
}
FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
METADATA_MEDIA_TYPE = "application/csvm+json"  # the CSVW metadata document's registered type


# --- releases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedMeasure:
    """One measure as ``release.json`` lists it, with its registered definition when there is
    one (for its chart, filters and column descriptions)."""

    id: str
    title: str
    definition: str
    dimensions: tuple[str, ...]
    counts: tuple[str, ...]
    statistics: tuple[str, ...]
    files: tuple[str, ...]
    rows: int | None
    suppressed: int | None
    registered: Measure | None

    @property
    def public(self) -> bool:
        return self.registered.public if self.registered else True

    @property
    def filters(self) -> tuple[str, ...]:
        found = self.registered.filters if self.registered else ()
        return tuple(name for name in found if name in self.dimensions)

    @property
    def summary(self) -> str:
        """The definition's first sentence, for lists of measures."""
        return FIRST_SENTENCE.split(self.definition.strip(), maxsplit=1)[0]

    def describe(self, column: str) -> str:
        return (self.registered.columns.get(column, "") if self.registered else "") or ""


@dataclass(frozen=True)
class Release:
    """A published release folder and what its ``release.json`` says."""

    id: str
    path: Path
    info: Mapping[str, Any]
    measures: dict[str, ReleasedMeasure] = field(default_factory=dict)

    @property
    def threshold(self) -> int | None:
        value = self.info.get("threshold")
        return int(value) if isinstance(value, int | float) else None

    @property
    def manifest(self) -> Mapping[str, Any]:
        found = self.info.get("snapshot") or self.info.get("manifest") or {}
        return found if isinstance(found, Mapping) else {}

    def downloads(self) -> list[str]:
        """Every file a reader may download: those release.json lists, and the two documents."""
        names = [RELEASE_FILE]
        if (self.path / METADATA_FILE).is_file():
            names.append(METADATA_FILE)
        for measure in self.measures.values():
            names.extend(name for name in measure.files if name not in names)
        return names

    def published_file(self, measure: ReleasedMeasure, suffix: str) -> str | None:
        return next((name for name in measure.files if name.endswith(suffix)), None)


def _file_names(files: Any) -> tuple[str, ...]:
    """File names from release.json's ``files`` (a list, or a mapping of format to name), keeping
    only plain names in the release folder itself: never ``internal/``."""
    values = files.values() if isinstance(files, Mapping) else files or []
    names = [str(value) for value in values if isinstance(value, str)]
    return tuple(n for n in names if "/" not in n and "\\" not in n and not n.startswith("."))


def _measure_entries(info: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    found = info.get("measures") or []
    if isinstance(found, Mapping):
        return [{"id": key, **value} for key, value in found.items()]
    return [entry for entry in found if isinstance(entry, Mapping)]


def _wrap(published: publish.Release) -> Release:
    """Our view of a release: its measures, each with its registered definition if any."""
    info = published.manifest
    registered = all_measures()
    measures = {}
    for entry in _measure_entries(info):
        measure_id = str(entry.get("id", ""))
        known = registered.get(measure_id)
        measures[measure_id] = ReleasedMeasure(
            id=measure_id,
            title=str(entry.get("title") or (known.title if known else measure_id)),
            definition=str(entry.get("definition") or (known.definition if known else "")),
            dimensions=tuple(entry.get("dimensions") or (known.dimensions if known else ())),
            counts=tuple(entry.get("counts") or (known.counts if known else ())),
            statistics=tuple(entry.get("statistics") or (known.statistics if known else ())),
            files=_file_names(entry.get("files")),
            rows=entry.get("rows") if isinstance(entry.get("rows"), int) else None,
            suppressed=_suppressed_total(entry),
            registered=known,
        )
    # Measures kept for analysts only (not public) have internal files and no published ones.
    for measure_id in info.get("internal_measures") or []:
        known = registered.get(str(measure_id))
        if known is not None and known.id not in measures:
            measures[known.id] = ReleasedMeasure(
                id=known.id,
                title=known.title,
                definition=known.definition,
                dimensions=known.dimensions,
                counts=known.counts,
                statistics=known.statistics,
                files=(),
                rows=None,
                suppressed=None,
                registered=known,
            )
    return Release(id=published.path.name, path=published.path, info=info, measures=measures)


def _suppressed_total(entry: Mapping[str, Any]) -> int | None:
    for key in ("suppressed", "suppressed_cells"):
        value = entry.get(key)
        if isinstance(value, int):
            return value
    return None


def _latest_release(data_dir: Path) -> Release | None:
    """The newest complete release (``publish.latest_release``), or None."""
    published = publish.latest_release(data_dir)
    return _wrap(published) if published is not None else None


def _release_by_id(data_dir: Path, release_id: str) -> Release | None:
    # Only a complete release folder of exactly this name: nothing a URL says becomes a path.
    for published in publish.list_releases(data_dir):
        if published.path.name == release_id:
            return _wrap(published)
    return None


# --- figures ---------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise HTTPException(status_code=404)
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool
    suppressed: bool = False
    missing: bool = False
    not_applicable: bool = False


def table_rows(measure: ReleasedMeasure, rows: Sequence[Mapping[str, Any]]) -> list[list[Cell]]:
    """The rows as table cells: dimensions in words, figures formatted, suppressed as "[c]"."""
    out = []
    for row in rows:
        hidden = charts.suppressed_in(row)
        totals = charts.totals_in(row)
        cells = [
            Cell("Total" if d in totals else charts.dimension_words(d, row.get(d)), False)
            for d in measure.dimensions
        ]
        for column in (*measure.counts, *measure.statistics):
            value = row.get(column)
            if column in hidden:
                cells.append(Cell(charts.SUPPRESSED, True, suppressed=True))
            elif totals and column in measure.statistics and value is None:
                cells.append(Cell("[z]", True, not_applicable=True))
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(Cell("[x]", True, missing=True))
            else:
                cells.append(Cell(charts.number_words(value), True))
        out.append(cells)
    return out


def filter_options(
    measure: ReleasedMeasure, rows: Sequence[Mapping[str, Any]], chosen: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One GOV.UK select per filter: "All" and each value the published table holds."""
    selects = []
    for name in measure.filters:
        values = {
            charts.key_of(row.get(name)): row.get(name)
            for row in rows
            if name not in charts.totals_in(row)
        }
        items = [{"value": "", "text": "All", "selected": not chosen.get(name)}]
        items += [
            {
                "value": key,
                "text": charts.dimension_words(name, value),
                "selected": chosen.get(name) == key,
            }
            for key, value in sorted(values.items(), key=lambda item: charts.natural_order(item[0]))
        ]
        selects.append({"name": name, "label": charts.column_title(name), "items": items})
    return selects


def _option_words(name: str, key: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A chosen filter value in words, as its select option shows it."""
    for row in rows:
        if charts.key_of(row.get(name)) == key:
            return charts.dimension_words(name, row.get(name))
    return key


def apply_filters(
    measure: ReleasedMeasure, rows: Sequence[Mapping[str, Any]], chosen: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    """The rows matching every chosen filter value (an unset filter keeps every row)."""
    wanted = {name: value for name, value in chosen.items() if value}
    return [
        row
        for row in rows
        if all(
            n not in charts.totals_in(row) and charts.key_of(row.get(n)) == v
            for n, v in wanted.items()
        )
    ]


def _page_of(rows: Sequence[Any], page: int) -> tuple[list[Any], int, int]:
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    return list(rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]), page, pages


def when_words(stamp: Any) -> str:
    """An ISO timestamp as "30 November 2026 at 01:15 UTC" (or as given, if it is not one)."""
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


# --- pages -----------------------------------------------------------------------------------


def _page(name: str) -> str:
    return f"insights/{name}"


def _not_published(request: Request, status_code: int = 200) -> HTMLResponse:
    return render(request, _page("not_published.html"), {"title": "Statistics"}, status_code)


def _public_measure(release: Release, measure_id: str) -> ReleasedMeasure:
    measure = release.measures.get(measure_id)
    if measure is None or not measure.public or release.published_file(measure, ".parquet") is None:
        raise HTTPException(status_code=404)
    return measure


def _chosen_filters(request: Request, measure: ReleasedMeasure) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in measure.filters}


def _figures_context(
    request: Request,
    release: Release,
    measure: ReleasedMeasure,
    rows: list[dict[str, Any]],
    *,
    base_path: str,
) -> dict[str, Any]:
    chosen = _chosen_filters(request, measure)
    matching = apply_filters(measure, rows, chosen)
    known = measure.registered
    # A release made before the measure changed is shown without a chart rather than misdrawn.
    same = known is not None and (known.dimensions, known.counts, known.statistics) == (
        measure.dimensions,
        measure.counts,
        measure.statistics,
    )
    plan = charts.chart_plan(known, matching, chosen, every_row=rows) if known and same else None
    try:
        page_number = int(request.query_params.get("page", "1"))
    except ValueError:
        page_number = 1
    shown, page_number, pages = _page_of(matching, page_number)
    cells = table_rows(measure, shown)
    kept = {name: value for name, value in chosen.items() if value}

    def page_link(n: int) -> str:
        return f"{base_path}?{urlencode({**kept, 'page': n})}"

    chart = None
    if plan is not None and known is not None:
        by = charts.column_title(known.chart_by or "")
        chart = charts.bar_chart(
            plan.bars,
            chart_id="chart",
            title=f"{measure.title}: {charts.column_title(plan.value).lower()} by {by.lower()}",
            value_title=charts.column_title(plan.value),
            by_title=by,
        )
    return {
        "release": release,
        "created": when_words(release.info.get("created_at", release.id)),
        "measure": measure,
        "selects": filter_options(measure, rows, chosen),
        "chosen": kept,
        "chosen_words": [
            f"{charts.column_title(name).lower()}: {_option_words(name, value, rows)}"
            for name, value in kept.items()
        ],
        "chart": chart,
        "chart_note": plan.note if plan else None,
        "columns": [
            {"name": c, "title": charts.column_title(c), "numeric": c not in measure.dimensions}
            for c in (*measure.dimensions, *measure.counts, *measure.statistics)
        ],
        "descriptions": [
            {"title": charts.column_title(c), "text": measure.describe(c)}
            for c in (*measure.dimensions, *measure.counts, *measure.statistics)
            if measure.describe(c)
        ],
        "cells": cells,
        "any_suppressed": any(cell.suppressed for row in cells for cell in row),
        "any_missing": any(cell.missing for row in cells for cell in row),
        "any_not_applicable": any(cell.not_applicable for row in cells for cell in row),
        "matching": len(matching),
        "first": (page_number - 1) * PAGE_SIZE + 1,
        "last": (page_number - 1) * PAGE_SIZE + len(shown),
        "page": page_number,
        "pages": pages,
        "previous_href": page_link(page_number - 1) if page_number > 1 else None,
        "next_href": page_link(page_number + 1) if page_number < pages else None,
        "base_path": base_path,
    }


@router.get("/insights", response_class=HTMLResponse)
def dashboard(request: Request, settings: SettingsDep) -> HTMLResponse:
    """What OneStory publishes, from which data, and the files of the latest release."""
    release = _latest_release(settings.data_dir)
    if release is None:
        return _not_published(request)
    ledger = release.manifest.get("ledger") or {}
    checkpoint = ledger.get("checkpoint") if isinstance(ledger, Mapping) else None
    measures = [
        m
        for m in release.measures.values()
        if m.public and release.published_file(m, ".parquet") is not None
    ]
    return render(
        request,
        _page("dashboard.html"),
        {
            "title": "Statistics",
            "release": release,
            "created": when_words(release.info.get("created_at", release.id)),
            "taken": when_words(release.manifest.get("taken_at", "")),
            "ledger": ledger if isinstance(ledger, Mapping) else {},
            "checkpoint": checkpoint if isinstance(checkpoint, Mapping) else None,
            "measures": measures,
            "documents": [
                name for name in release.downloads() if name in (RELEASE_FILE, METADATA_FILE)
            ],
        },
    )


@router.get("/insights/release/{release_id}/{name}")
def release_file(release_id: str, name: str, settings: SettingsDep) -> FileResponse:
    """One file of a published release, as a download: only the names the release lists."""
    release = _release_by_id(settings.data_dir, release_id)
    if release is None or name not in release.downloads():
        raise HTTPException(status_code=404)
    path = release.path / name
    if not path.is_file():
        raise HTTPException(status_code=404)
    media_type = METADATA_MEDIA_TYPE if name == METADATA_FILE else None
    return FileResponse(
        path,
        media_type=media_type or MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        filename=name,
        content_disposition_type="attachment",
    )


def _analyst_may_read(
    session: SessionDep, request: Request, user: CurrentUser, record_id: str
) -> bool:
    if user is None:
        return False
    policies: PolicySet = request.app.state.policies
    decision = authorize(
        session,
        actor=account_actor(user),
        action=Action.READ,
        record=RecordRef(RecordKind.STATISTICS, record_id),
        purpose=PURPOSE,
        policies=policies,
    )
    # The decision's ledger entry is written on commit, allowed or refused, before the answer.
    session.commit()
    return decision.allowed


@router.get("/insights/internal/{measure_id}", response_class=HTMLResponse)
def internal_measure(
    measure_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> HTMLResponse:
    """Unsuppressed figures, for analysts the sharing agreements allow; else "Page not found"."""
    release = _latest_release(settings.data_dir)
    if user is None or release is None or measure_id not in release.measures:
        raise HTTPException(status_code=404)
    path = release.path / INTERNAL_DIR / f"{measure_id}.parquet"
    if not path.is_file():
        raise HTTPException(status_code=404)
    if not _analyst_may_read(session, request, user, f"{release.id}/{measure_id}"):
        raise HTTPException(status_code=404)
    measure = release.measures[measure_id]
    context = _figures_context(
        request,
        release,
        measure,
        _read_rows(path),
        base_path=f"/insights/internal/{measure_id}",
    )
    return render(
        request,
        _page("measure.html"),
        {**context, "title": f"{measure.title} (not for publication)", "internal": True},
    )


@router.get("/insights/{measure_id}", response_class=HTMLResponse)
def measure_page(measure_id: str, request: Request, settings: SettingsDep) -> HTMLResponse:
    """One measure: its definition beside a chart and a table of the published figures."""
    release = _latest_release(settings.data_dir)
    if release is None:
        return _not_published(request, status_code=404)
    measure = _public_measure(release, measure_id)
    name = release.published_file(measure, ".parquet") or ""
    context = _figures_context(
        request, release, measure, _read_rows(release.path / name), base_path=request.url.path
    )
    downloads = [
        (label, file)
        for label, file in (
            ("CSV", release.published_file(measure, ".csv")),
            ("Parquet", name),
            ("CSVW metadata", METADATA_FILE if (release.path / METADATA_FILE).is_file() else None),
        )
        if file
    ]
    return render(
        request,
        _page("measure.html"),
        {**context, "title": measure.title, "internal": False, "downloads": downloads},
    )
