"""Files are read as streams: the first row comes out before the file is read to the end, and
memory stays flat however large the file."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onestory.exchange.mapping import Layout, load_layouts, read_rows

LAYOUTS = load_layouts()
SUSPECT_ROW = [
    "2016/0287414Z", "009371/16P", "1804BB0000000088719K", "04BB0297518", "04",
    "TAYLOR, Raymond", "23/10/1989", "M", "Flat 40, Sullivan Court, Birmingham", "B38 7PS",
    "CD71039", "Criminal damage", "criminal damage and arson", "06/05/2018", "15/05/2018",
    "17/05/2018", "1", "CHARGED/SUMMONSED",
]  # fmt: skip
CASE: dict[str, Any] = {
    "urn": "04BB0297518",
    "cpsArea": "CPS-NW",
    "policeForce": "04",
    "reviewDate": "2018-08-22",
    "status": "active",
    "defendants": [
        {
            "forename": "Nadeem",
            "middleNames": None,
            "surname": "Hussain",
            "dateOfBirth": "1989-10-23",
            "asn": "1804BB0000000088719K",
            "chargedOn": "2018-08-02",
            "charges": [{"offenceCode": "CD71039", "description": "x", "status": "proceeding"}],
        }
    ],
    "alterations": [],
}
PROBATION: dict[str, Any] = {
    "crn": "N239167",
    "name": {"forename": "John", "middleNames": [], "surname": "Jones"},
    "dateOfBirth": "1973-11-11",
    "gender": "Male",
    "otherIds": {"pncNumber": None, "croNumber": None, "nomsNumber": None, "niNumber": None},
    "order": {"type": "Licence", "startDate": "2024-08-27", "expectedEndDate": None},
    "region": "PS-NE",
}


def _csv_text(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def _pieces(layout_name: str) -> tuple[str, str, str, str]:
    """(file opening, first record, each further record, file closing) of a layout."""
    if layout_name == "police-suspects":
        row = _csv_text(SUSPECT_ROW)
        return _csv_text(list(LAYOUTS[layout_name].columns)), row, row, ""
    if layout_name == "cps-cases":
        return "[\n", json.dumps(CASE), ",\n" + json.dumps(CASE), "\n]\n"
    line = json.dumps(PROBATION) + "\n"
    return "", line, line, ""


@pytest.mark.parametrize("layout_name", ["police-suspects", "cps-cases", "probation-orders"])
def test_the_first_row_comes_before_the_file_ends(tmp_path: Path, layout_name: str) -> None:
    """Read from a pipe whose writer holds back the rest until the first row has come out:
    a reader that wanted the whole file first would wait for ever (here: time out)."""
    opening, first, more, closing = _pieces(layout_name)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    first_seen = threading.Event()

    def write() -> None:
        with pipe.open("w", encoding="utf-8") as handle:
            handle.write(opening + first + ("\n" if layout_name == "cps-cases" else ""))
            handle.flush()
            first_seen.wait(timeout=10)
            handle.write(more + closing)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    rows = read_rows(LAYOUTS[layout_name], pipe)
    found: list[Any] = []
    reader = threading.Thread(target=lambda: found.append(next(rows)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert found, "the first row came out while the writer still held the rest back"
    assert found[0].fields is not None
    first_seen.set()
    rest = list(rows)
    writer.join(timeout=5)
    assert len(rest) == 1 and rest[0].fields is not None


def _big_file(path: Path, layout_name: str, count: int) -> Path:
    opening, first, more, closing = _pieces(layout_name)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(opening + first)
        for _ in range(count - 1):
            handle.write(more)
        handle.write(closing)
    return path


@pytest.mark.parametrize("layout_name", ["police-suspects", "cps-cases", "probation-orders"])
def test_memory_stays_flat_however_large_the_file(tmp_path: Path, layout_name: str) -> None:
    path = _big_file(tmp_path / "big", layout_name, 15_000)
    size = path.stat().st_size
    assert size > 3_000_000
    layout: Layout = LAYOUTS[layout_name]

    def consume() -> Iterator[int]:
        for row in read_rows(layout, path):
            assert row.fields is not None
            yield 1

    tracemalloc.start()
    try:
        count = sum(consume())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 15_000
    assert peak < size / 10, f"peak {peak} bytes while reading {size}"
