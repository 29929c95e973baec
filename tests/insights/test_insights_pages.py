"""The statistics pages, through the page-checking client, on a release each test writes.

The release is written the way ``onestory insights publish`` writes one: a measure's full result
(the "truth" here, made up in the test) protected by ``insights.sdc.protect``, saved as Parquet
and CSV with its ``release.json``, and the unsuppressed table under ``internal/``. The expected
figures are worked out from that truth in plain Python, never by the pages' own code.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient, soup_of
from web_helpers import add_user, sign_in

from onestory.config import Settings
from onestory.insights import charts, engine, publish, sdc
from onestory.insights import web as insights_web
from onestory.insights.engine import Measure
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.web.app import create_app

RELEASE_ID = "2026-11-30T011500Z"
THRESHOLD = 5
MEASURE = Measure(
    id="test-duties",
    title="Test duties met on time",
    definition="Duties owed to victims in the test world, and how many were met on time.",
    dimensions=("duty", "police_area", "month"),
    counts=("started", "met_on_time"),
    statistics=("on_time_rate",),
    basis="started",
    columns={
        "duty": "The Victims' Code right the duty comes from.",
        "police_area": "The police force area of the case.",
        "month": "The month the duty started.",
        "started": "Duties that started.",
        "met_on_time": "Duties met by their deadline.",
        "on_time_rate": "Duties met on time as a share of duties started.",
    },
    chart_by="duty",
    chart_value="met_on_time",
    filters=("police_area", "month"),
)
DUTIES = ("R1.1", "R2.3", "R6.1")
AREAS = ("01", "44")
MONTHS = (date(2026, 1, 1), date(2026, 2, 1))


def truth_rows() -> list[dict[str, Any]]:
    """The measure's full result: a spread of figures, a few small enough to suppress."""
    rows = []
    for d, duty in enumerate(DUTIES):
        for a, area in enumerate(AREAS):
            for m, month in enumerate(MONTHS):
                started = 3 + 7 * d + 11 * a + 5 * m + (d * a * m)
                on_time = started - (d + a + m + 1) if started > 4 else started - 1
                rows.append(
                    {
                        "duty": duty,
                        "police_area": area,
                        "month": month,
                        "started": started,
                        "met_on_time": on_time,
                        "on_time_rate": round(on_time / started, 4),
                    }
                )
    return rows


def write_release(
    data_dir: Path,
    rows: list[dict[str, Any]],
    release_id: str = RELEASE_ID,
    measure: Measure = MEASURE,
) -> Path:
    """A release folder as ``insights publish`` writes it, for ``measure`` over ``rows``."""
    folder = data_dir / "insights" / "releases" / release_id
    (folder / "internal").mkdir(parents=True)
    full = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("duty", pa.string()),
                ("police_area", pa.string()),
                ("month", pa.date32()),
                ("started", pa.int64()),
                ("met_on_time", pa.int64()),
                ("on_time_rate", pa.float64()),
            ]
        ),
    )
    protected = sdc.protect(measure, full, threshold=THRESHOLD)
    pq.write_table(protected.table, folder / f"{measure.id}.parquet")
    pacsv.write_csv(protected.table, folder / f"{measure.id}.csv")
    pq.write_table(full, folder / "internal" / f"{measure.id}.parquet")
    (folder / "csv-metadata.json").write_text(
        json.dumps({"@context": "http://www.w3.org/ns/csvw", "tables": [{"url": "x.csv"}]}),
        encoding="utf-8",
    )
    (folder / "secret.txt").write_text("not listed in the release", encoding="utf-8")
    release = {
        "id": release_id,
        "created_at": release_id,
        "threshold": THRESHOLD,
        "rounding": 0,
        "snapshot": {
            "taken_at": "2026-11-30T01:14:00Z",
            "ledger": {
                "size": 12345,
                "root_hash": "ab" * 32,
                "checkpoint": {"size": 12300, "note": "test"},
            },
        },
        "measures": [
            {
                "id": measure.id,
                "title": measure.title,
                "definition": measure.definition,
                "dimensions": list(measure.dimensions),
                "counts": list(measure.counts),
                "statistics": list(measure.statistics),
                "files": [f"{measure.id}.csv", f"{measure.id}.parquet"],
                "rows": protected.table.num_rows,
                "suppressed": protected.suppressed_cells,
            }
        ],
    }
    (folder / "release.json").write_text(json.dumps(release), encoding="utf-8")
    return folder


@dataclass
class Site:
    app: FastAPI
    client: PageCheckingClient
    data_dir: Path


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Measure:
    """The test measure in the registry for this test only."""
    engine.all_measures()  # register the real ones first, so ours is not overwritten
    monkeypatch.setitem(engine.MEASURES, MEASURE.id, MEASURE)
    return MEASURE


@pytest.fixture
def site(engine: Engine, tmp_path: Path, registered: Measure) -> Iterator[Site]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="i" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
    )
    app = create_app(settings, engine=engine)
    with PageCheckingClient(app) as client:
        yield Site(app, client, tmp_path)


def table_of(response: Any) -> list[list[str]]:
    """The figures table's body rows as text."""
    table = soup_of(response).find("table", id="figures")
    assert table is not None, "no figures table"
    return [
        [cell.get_text(strip=True) for cell in tr.find_all(["th", "td"])]
        for tr in table.find("tbody").find_all("tr")
    ]


def published_rows(site: Site) -> list[dict[str, Any]]:
    path = site.data_dir / "insights/releases" / RELEASE_ID / f"{MEASURE.id}.parquet"
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def month_words(month: date) -> str:
    return month.strftime("%B %Y")


# --- before any release ------------------------------------------------------------------------


def test_without_a_release_the_page_says_how_to_publish(site: Site) -> None:
    page = site.client.get("/insights")
    assert page.status_code == 200
    text = soup_of(page).get_text(" ", strip=True)
    assert "has not published any statistics yet" in text
    assert "onestory insights publish" in text
    assert site.client.get(f"/insights/{MEASURE.id}").status_code == 404


# --- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_says_what_is_published_and_from_which_data(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    page = site.client.get("/insights")
    assert page.status_code == 200
    soup = soup_of(page)
    text = soup.get_text(" ", strip=True)
    assert "Computed from the ledger as it stood at entry 12,345" in text
    assert "ab" * 32 in text
    assert "Entry 12,300" in text
    assert "30 November 2026 at 01:15 UTC" in text
    link = soup.find("a", href=f"/insights/{MEASURE.id}")
    assert link is not None and link.get_text(strip=True) == MEASURE.title
    assert MEASURE.definition in text  # one sentence: shown whole
    downloads = {a["href"] for a in soup.select("#downloads a, #measure-files a")}
    assert downloads == {
        f"/insights/release/{RELEASE_ID}/{name}"
        for name in (
            "release.json",
            "csv-metadata.json",
            f"{MEASURE.id}.csv",
            f"{MEASURE.id}.parquet",
        )
    }
    nav = [a.get_text(strip=True) for a in soup.select(".govuk-service-navigation__link")]
    assert "Statistics" in nav


def test_the_newest_release_is_the_one_shown(site: Site) -> None:
    write_release(site.data_dir, truth_rows(), release_id="2026-01-01T000000Z")
    write_release(site.data_dir, truth_rows())
    text = soup_of(site.client.get("/insights")).get_text(" ", strip=True)
    assert RELEASE_ID in text and "2026-01-01T000000Z" not in text


def test_a_release_still_being_written_is_not_shown(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    write_release(site.data_dir, truth_rows(), release_id="2027-01-01T000000Z.partial")
    text = soup_of(site.client.get("/insights")).get_text(" ", strip=True)
    assert RELEASE_ID in text and "2027-01-01" not in text
    path = f"/insights/release/2027-01-01T000000Z.partial/{MEASURE.id}.csv"
    assert site.client.get(path).status_code == 404


def test_a_release_published_from_the_store_is_shown_whole(site: Site) -> None:
    """The real ``publish_release`` on this database: every measure's page and file opens."""
    real = {k: m for k, m in engine.all_measures().items() if k != MEASURE.id}
    with site.app.state.sessions() as session:
        release = publish.publish_release(session, site.data_dir, measures=real)
    dashboard = soup_of(site.client.get("/insights"))
    size = release.manifest["snapshot"]["ledger"]["size"]
    assert f"entry {size:,}" in dashboard.get_text(" ", strip=True)
    for entry in release.manifest["measures"]:
        assert dashboard.find("a", href=f"/insights/{entry['id']}") is not None
        page = site.client.get(f"/insights/{entry['id']}")
        assert page.status_code == 200, entry["id"]
        assert entry["title"] in soup_of(page).find("h1").get_text()
        for name in entry["files"].values():
            served = site.client.get(f"/insights/release/{release.id}/{name}")
            assert served.status_code == 200, name
    for name in ("release.json", "csv-metadata.json"):
        assert site.client.get(f"/insights/release/{release.id}/{name}").status_code == 200


# --- one measure -------------------------------------------------------------------------------


def test_the_measure_page_shows_the_published_figures_with_suppression(site: Site) -> None:
    truth = truth_rows()
    write_release(site.data_dir, truth)
    page = site.client.get(f"/insights/{MEASURE.id}")
    assert page.status_code == 200
    soup = soup_of(page)
    assert MEASURE.definition in soup.select_one("#definition").get_text()
    # The table: a caption, scoped headers, numbers right-aligned.
    table = soup.find("table", id="figures")
    assert table.find("caption").get_text(strip=True).startswith(MEASURE.title)
    headers = table.select("thead th")
    assert [th.get_text(strip=True) for th in headers] == [
        "Duty",
        "Police area",
        "Month",
        "Started",
        "Met on time",
        "On time rate",
    ]
    assert all(th["scope"] == "col" for th in headers)
    assert all(tr.find("th")["scope"] == "row" for tr in table.select("tbody tr"))
    assert "govuk-table__cell--numeric" in table.select("tbody td")[-1]["class"]

    # Each of the measure's own rows shows the truth, or "[c]" where it was suppressed.
    published = published_rows(site)
    shown = table_of(page)
    assert len(shown) == len(published)
    suppressed_seen = 0
    for row, cells in zip(truth, shown, strict=False):
        assert cells[:3] == [row["duty"], row["police_area"], month_words(row["month"])]
        for column, text in zip(("started", "met_on_time"), cells[3:5], strict=True):
            if row["started"] < THRESHOLD or text == "[c]":
                assert text == "[c]", (row, column)
                suppressed_seen += 1
            else:
                assert text == f"{row[column]:,}"
    assert suppressed_seen >= 2  # the world has small cells, and secondary suppression
    footnote = soup.select_one("#suppression-note").get_text(" ", strip=True)
    assert f"[c] suppressed to protect people's privacy: fewer than {THRESHOLD}" in footnote
    # A suppressed cell never shows its value: the HTML holds no hint of it either.
    for td in table.select("td[data-suppressed]"):
        assert td.get_text(strip=True) == "[c]"

    # The chart: an image named by its title and described in words, one bar per duty.
    svg = soup.find("svg")
    assert svg["role"] == "img"
    title_id, desc_id = svg["aria-labelledby"].split()
    assert soup.find(id=title_id).name == "figcaption" and soup.find(id=desc_id).name == "desc"
    assert soup.find(id=title_id).get_text(strip=True) == f"{MEASURE.title}: met on time by duty"
    labels = [t.get_text() for t in svg.find_all("text")]
    for duty in DUTIES:
        expected = sum(r["met_on_time"] for r in truth if r["duty"] == duty)
        margin = next(
            r for r in published if r["duty"] == duty and r["total_over"] == "police_area,month"
        )
        shown_value = "[c]" if margin["met_on_time"] is None else f"{expected:,}"
        assert labels[labels.index(duty) + 1] == shown_value


def test_filters_change_the_figures(site: Site) -> None:
    truth = truth_rows()
    write_release(site.data_dir, truth)
    published = published_rows(site)
    page = site.client.get(f"/insights/{MEASURE.id}")
    soup = soup_of(page)
    form = soup.find("form", id="filters")
    assert form["method"] == "get"
    options = [o["value"] for o in soup.select("#filter-police_area option")]
    assert options == ["", *AREAS]
    assert [o.get_text() for o in soup.select("#filter-month option")] == [
        "All",
        "January 2026",
        "February 2026",
    ]

    by_area = {}
    for area in AREAS:
        response = site.client.get(
            f"/insights/{MEASURE.id}", params={"police_area": area, "month": "2026-02-01"}
        )
        assert response.status_code == 200
        rows = table_of(response)
        expected = [r for r in published if r["police_area"] == area and r["month"] == MONTHS[1]]
        assert [cells[:3] for cells in rows] == [
            [r["duty"], area, "February 2026"] for r in expected
        ]
        for cells, row in zip(rows, expected, strict=True):
            truth_row = next(
                t
                for t in truth
                if (t["duty"], t["police_area"], t["month"]) == (row["duty"], area, MONTHS[1])
            )
            assert cells[3] == ("[c]" if row["started"] is None else f"{truth_row['started']:,}")
        by_area[area] = rows
        chosen = soup_of(response).select_one("#filter-police_area option[selected]")
        assert chosen["value"] == area
    assert by_area[AREAS[0]] != by_area[AREAS[1]]


def test_a_long_table_is_shown_a_page_at_a_time(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(site.data_dir, truth_rows())
    monkeypatch.setattr(insights_web, "PAGE_SIZE", 5)
    total = len(published_rows(site))
    first = site.client.get(f"/insights/{MEASURE.id}", params={"police_area": ""})
    assert len(table_of(first)) == 5
    assert f"Showing rows 1 to 5 of {total}" in soup_of(first).get_text(" ", strip=True)
    next_link = soup_of(first).find("a", rel="next")["href"]
    second = site.client.get(next_link)
    assert "Showing rows 6 to 10" in soup_of(second).get_text(" ", strip=True)
    assert table_of(second) != table_of(first)


def test_an_unknown_measure_is_not_found(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    assert site.client.get("/insights/no-such-measure").status_code == 404


# --- release files -----------------------------------------------------------------------------


def test_release_files_are_served_as_downloads(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    base = f"/insights/release/{RELEASE_ID}"
    csv_file = site.client.get(f"{base}/{MEASURE.id}.csv")
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.headers["content-disposition"].startswith("attachment")
    header = next(csv.reader(io.StringIO(csv_file.text)))
    assert header[:3] == ["duty", "police_area", "month"]

    parquet_file = site.client.get(f"{base}/{MEASURE.id}.parquet")
    assert parquet_file.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(parquet_file.content)).num_rows == len(published_rows(site))

    metadata = site.client.get(f"{base}/csv-metadata.json")
    assert metadata.headers["content-type"].startswith("application/csvm+json")
    assert site.client.get(f"{base}/release.json").json()["id"] == RELEASE_ID


@pytest.mark.parametrize(
    "path",
    [
        f"/insights/release/{RELEASE_ID}/internal/{MEASURE.id}.parquet",
        f"/insights/release/{RELEASE_ID}/internal%2F{MEASURE.id}.parquet",
        f"/insights/release/{RELEASE_ID}/..%2F..%2F..%2Fonestory.sqlite3",
        f"/insights/release/{RELEASE_ID}/secret.txt",
        f"/insights/release/{RELEASE_ID}/internal",
        f"/insights/release/2020-01-01T000000Z/{MEASURE.id}.csv",
        f"/insights/release/..%2Finsights/{MEASURE.id}.csv",
    ],
)
def test_only_the_files_a_release_lists_are_served(site: Site, path: str) -> None:
    write_release(site.data_dir, truth_rows())
    response = site.client.get(path)
    assert response.status_code == 404
    assert "not listed" not in response.text


# --- analysts ----------------------------------------------------------------------------------


def decisions(site: Site) -> list[tuple[list[dict[str, str]], dict[str, Any]]]:
    with site.app.state.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.subjects, LedgerPayload.payload)
            .join(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
            .where(LedgerEntry.entry_type == "sharing.decision")
            .order_by(LedgerEntry.seq)
        ).all()
        return [(list(subjects), dict(payload)) for subjects, payload in rows]


def test_internal_figures_are_not_found_without_signing_in(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    assert site.client.get(f"/insights/internal/{MEASURE.id}").status_code == 404
    assert decisions(site) == []


def test_internal_figures_are_refused_to_staff_who_are_not_analysts(site: Site) -> None:
    write_release(site.data_dir, truth_rows())
    add_user(
        site.app, email="officer@police.test", role="police_officer", organisation=("01", "Met")
    )
    sign_in(site.client, "officer@police.test")
    assert site.client.get(f"/insights/internal/{MEASURE.id}").status_code == 404
    public = soup_of(site.client.get(f"/insights/{MEASURE.id}"))
    assert public.select_one("#internal-link") is None
    [(subjects, payload)] = decisions(site)
    assert (
        subjects == [{"kind": "statistics", "id": f"{RELEASE_ID}/{MEASURE.id}"}]
        or subjects[0].get("id") == f"{RELEASE_ID}/{MEASURE.id}"
    )
    assert payload["allowed"] is False and payload["action"] == "read"


def test_an_analyst_sees_the_unsuppressed_figures_and_the_read_is_ledgered(site: Site) -> None:
    truth = truth_rows()
    write_release(site.data_dir, truth)
    add_user(site.app, email="analyst@moj.test", role="analyst", organisation=None)
    sign_in(site.client, "analyst@moj.test")
    page = site.client.get(f"/insights/internal/{MEASURE.id}")
    assert page.status_code == 200
    soup = soup_of(page)
    assert "Not for publication" in soup.select_one("#not-for-publication").get_text()
    rows = table_of(page)
    assert [cells[3] for cells in rows] == [f"{r['started']:,}" for r in truth]
    assert "[c]" not in [cell for cells in rows for cell in cells]
    [(subjects, payload)] = decisions(site)
    assert any(s.get("id") == f"{RELEASE_ID}/{MEASURE.id}" for s in subjects)
    public = soup_of(site.client.get(f"/insights/{MEASURE.id}"))
    assert public.select_one("#internal-link")["href"] == f"/insights/internal/{MEASURE.id}"
    assert payload["allowed"] is True and payload["rule"] == "analyst-statistics"
    # Filters work on the internal figures too.
    filtered = site.client.get(f"/insights/internal/{MEASURE.id}", params={"police_area": AREAS[1]})
    assert {cells[1] for cells in table_of(filtered)} == {AREAS[1]}


# --- the chart on its own ----------------------------------------------------------------------


def test_a_suppressed_bar_is_drawn_as_absent_and_labelled() -> None:
    svg = charts.bar_chart(
        [
            charts.Bar("R1.1", 12.0, "12"),
            charts.Bar("<script>", None, ""),
            charts.Bar("R6.1", 30.0, "30"),
        ],
        chart_id="c",
        title="Duties met on time by duty",
        value_title="Met on time",
        by_title="Duty",
    )
    text = str(svg)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert text.count("<rect") == 1 + 2  # the background and two bars: none for [c]
    assert "[c]" in text
    assert "Highest: R6.1, 30." in text and "Lowest: R1.1, 12." in text
    assert "1 figure is suppressed" in text
    assert 'role="img"' in text and 'aria-labelledby="c-title c-desc"' in text


def chart_labels(response: Any) -> list[str]:
    svg = soup_of(response).find("svg")
    assert svg is not None, "no chart"
    return [t.get_text() for t in svg.find_all("text")]


def test_a_rate_is_charted_from_the_published_counts(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated = dataclasses.replace(MEASURE, chart_value="on_time_rate")
    monkeypatch.setitem(engine.MEASURES, MEASURE.id, rated)
    truth = truth_rows()
    write_release(site.data_dir, truth, measure=rated)
    published = published_rows(site)
    labels = chart_labels(site.client.get(f"/insights/{MEASURE.id}"))
    for duty in DUTIES:
        margin = next(r for r in published if r["duty"] == duty and r["total_over"])
        met = sum(r["met_on_time"] for r in truth if r["duty"] == duty)
        started = sum(r["started"] for r in truth if r["duty"] == duty)
        hidden = margin["met_on_time"] is None or margin["started"] is None
        expected = "[c]" if hidden else f"{met / started:.2f}"
        assert labels[labels.index(duty) + 1] == expected


def test_a_median_that_cannot_be_added_up_charts_its_basis_and_says_so(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    median = dataclasses.replace(MEASURE, chart_value="on_time_rate")
    monkeypatch.setitem(engine.MEASURES, MEASURE.id, median)
    truth = [{**row, "on_time_rate": 40.0 + n} for n, row in enumerate(truth_rows())]
    write_release(site.data_dir, truth, measure=median)
    page = site.client.get(f"/insights/{MEASURE.id}")
    note = soup_of(page).select_one("#chart-note").get_text(" ", strip=True)
    assert "On time rate cannot be added up across police area, month" in note
    assert "Choose a value for each filter" in note
    assert "started by duty" in soup_of(page).find("figcaption").get_text()
    # With every other dimension chosen there is one figure a bar: the statistic itself.
    one = site.client.get(
        f"/insights/{MEASURE.id}", params={"police_area": AREAS[1], "month": "2026-01-01"}
    )
    assert soup_of(one).select_one("#chart-note") is None
    labels = chart_labels(one)
    for row in truth:
        if row["police_area"] == AREAS[1] and row["month"] == MONTHS[0]:
            assert labels[labels.index(row["duty"]) + 1] == f"{row['on_time_rate']:.2f}"


def test_bars_follow_the_codes_in_number_order() -> None:
    codes = ["R11.2", "R6.1", "R9.1", "R6.3"]
    assert sorted(codes, key=charts.natural_order) == ["R6.1", "R6.3", "R9.1", "R11.2"]


def test_a_measure_kept_for_analysts_has_no_public_page(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = dataclasses.replace(MEASURE, id="test-private", public=False)
    monkeypatch.setitem(engine.MEASURES, private.id, private)
    folder = write_release(site.data_dir, truth_rows())
    info = json.loads((folder / "release.json").read_text(encoding="utf-8"))
    info["internal_measures"] = [MEASURE.id, private.id]
    (folder / "release.json").write_text(json.dumps(info), encoding="utf-8")
    (folder / "internal" / f"{MEASURE.id}.parquet").rename(
        folder / "internal" / f"{private.id}.parquet"
    )
    assert site.client.get(f"/insights/{private.id}").status_code == 404
    assert f"/insights/{private.id}" not in site.client.get("/insights").text
    add_user(site.app, email="analyst@moj.test", role="analyst", organisation=None)
    sign_in(site.client, "analyst@moj.test")
    page = site.client.get(f"/insights/internal/{private.id}")
    assert page.status_code == 200
    assert [cells[3] for cells in table_of(page)] == [f"{r['started']:,}" for r in truth_rows()]
