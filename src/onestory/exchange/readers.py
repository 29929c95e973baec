"""Reading agency files as rows, in constant memory: CSV, JSON arrays (ijson) and JSON Lines.

A row that cannot even be decoded (bytes that are not UTF-8, broken JSON) is yielded with
``fields=None`` and the problem, never raised, so the caller can quarantine it and go on.

Rows and lines. A CSV row's key is its data row number and ``line`` its first line; a JSON
Lines row is its line. In a JSON array ijson is fed one line at a time, so each case is known
to end on the line just read: it starts there when it shares that line (one case per line, as
synth and most exporters write), else on the line after the previous case ended. Every row of
one case (each defendant) carries that case's line. A JSON array that breaks off cannot be read
past the break: its last row says so, and the rows before it stand.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import ijson

from onestory.exchange.rows import MappingError, SourceRow, canonical_json

if TYPE_CHECKING:
    from onestory.exchange.layout import Layout

# --- Reading files as rows, in constant memory -----------------------------------------------

_REEXPORT = "re-export the file as UTF-8"
BOM = b"\xef\xbb\xbf"  # some exporters start UTF-8 files with it


def _not_utf8(line_number: int, data: bytes, error: UnicodeDecodeError) -> str:
    column = len(data[: error.start].decode("utf-8", errors="replace")) + 1
    return (
        f"line {line_number} is not UTF-8 (byte 0x{data[error.start]:02X} at column {column}); "
        f"{_REEXPORT}"
    )


def _decode(data: bytes) -> str:
    """Bytes as text for quarantine: undecodable bytes kept visible as \\xNN."""
    return data.decode("utf-8", errors="backslashreplace")


class _Lines:
    """A binary file's lines as text for ``csv``, noting where each row starts and any line
    that is not UTF-8, so one badly encoded row is quarantined and the rest still read."""

    def __init__(self, handle: IO[bytes], line: int) -> None:
        self._handle = handle
        self.line = line  # the last line read
        self.raw: list[str] = []
        self.problem: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self._handle.readline()
        if not data:
            raise StopIteration
        self.line += 1
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError as error:
            decoded = _decode(data)
            self.problem = self.problem or _not_utf8(self.line, data, error)
        self.raw.append(decoded)
        return decoded

    def take(self) -> tuple[str, str | None]:
        """The text of the lines read since the last call, and any decoding problem in them."""
        raw, problem = "".join(self.raw).rstrip("\r\n"), self.problem
        self.raw, self.problem = [], None
        return raw, problem


def read_header(handle: IO[bytes], path: Path) -> list[str]:
    data = handle.readline()
    try:
        line = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MappingError(f"{path.name}: {_not_utf8(1, data, error)}") from None
    return [name.strip() for name in next(csv.reader([line]), [])]


def read_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    """The file's rows, one at a time; undecodable rows come with ``decode_problem`` set."""
    if layout.format == "csv":
        return _csv_rows(layout, path)
    if layout.format == "json-lines":
        return _json_lines_rows(path)
    return _json_array_rows(layout, path)


def _csv_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        header = read_header(handle, path)
        wanted = {c.casefold(): c for c in layout.columns}
        found = {name.casefold(): i for i, name in enumerate(header)}
        if set(found) != set(wanted):
            raise MappingError(header_mismatch(path, [layout], header))
        positions = [(wanted[key], i) for key, i in found.items()]
        width = len(header)
        lines = _Lines(handle, 1)
        reader = csv.reader(lines)
        number = 0
        while True:
            start = lines.line + 1
            try:
                values = next(reader, None)
            except csv.Error as error:
                values = []
                lines.problem = lines.problem or (
                    f"line {start} is not valid CSV ({error})"
                    "; quote the values as CSV does and re-export"
                )
            raw, problem = lines.take()
            if values is None:
                return
            if not values and problem is None:
                continue  # a blank line is no row
            number += 1
            if problem is None and len(values) != width:
                problem = (
                    f"line {start} has {len(values)} values but the header has {width} columns"
                    '; quote every value that holds a comma ("SMITH, John") and re-export'
                )
            if problem is not None:
                yield SourceRow(start, str(number), raw, None, problem)
                continue
            fields = {column: values[i] for column, i in positions}
            yield SourceRow(start, str(number), raw, fields)


def _json_lines_rows(path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            data = line.removeprefix(BOM) if number == 1 else line
            if not data.strip():
                continue
            raw = _decode(data).rstrip("\r\n")
            try:
                obj = json.loads(data.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield SourceRow(number, str(number), raw, None, _not_utf8(number, data, error))
                continue
            except json.JSONDecodeError as error:
                problem = (
                    f"line {number} is not valid JSON ({error.msg} at column {error.colno})"
                    "; write each record as one JSON object on its own line"
                )
                yield SourceRow(number, str(number), raw, None, problem)
                continue
            if not isinstance(obj, dict):
                problem = (
                    f"line {number} is a JSON {type(obj).__name__}, not an object"
                    "; write each record as one JSON object on its own line"
                )
                yield SourceRow(number, str(number), raw, None, problem)
                continue
            yield SourceRow(number, str(number), raw, obj)


class LineFeed:
    """A binary file handed to ijson one line at a time, so the line being parsed is known.

    ijson (yajl2_c) yields every item completed by one read before it reads again, so when an
    item comes out it ended on ``self.line``. Where it started is worked out from where the one
    before ended (see ``_json_array_rows``).
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.line = 0  # the line the last read came from
        self._complete = True  # whether the last read ended its line
        self.last = b""
        self.opened = 0  # the first line holding "[": where the array (most likely) opens

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to learn whether the file is binary
            return b""
        data = self._handle.readline(size if size > 0 else -1)
        if self.line == 0:
            data = data.removeprefix(BOM)
        if data:
            if self._complete:
                self.line += 1
                self.last = data
            else:  # a line longer than ijson's buffer: keep its tail for error messages
                self.last = (self.last + data)[-65536:]
            self._complete = data.endswith(b"\n")
            if not self.opened and b"[" in data:
                self.opened = self.line
        return data


def item_prefix(layout: Layout) -> str:
    return f"{layout.array}.item" if layout.array else "item"


def _json_array_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    base = f"/{layout.array}" if layout.array else ""
    with path.open("rb") as handle:
        feed = LineFeed(handle)
        items = ijson.items(feed, item_prefix(layout), use_float=True)
        index, ended = 0, 0
        while True:
            try:
                item = next(items, None)
            except ijson.JSONError as error:
                yield _broken_json(feed, f"{base}/{index}", error)
                return
            if item is None:
                return
            # One item per line (as synth and most exporters write): it starts where it ends;
            # an item spread over lines starts on the line after the one before ended.
            start = feed.line if feed.line == ended else (ended or feed.opened) + 1
            start = min(start, feed.line)
            ended = feed.line
            yield from _case_rows(layout, item, f"{base}/{index}", start)
            index += 1


def _broken_json(feed: LineFeed, key: str, error: Exception) -> SourceRow:
    data = feed.last
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        problem = _not_utf8(feed.line, data, bad)
    else:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        problem = (
            f"the JSON breaks off at line {feed.line} ({detail}), so nothing after it can be "
            "read; repair or re-export the file from that line on"
        )
    return SourceRow(feed.line, key, _decode(data).rstrip("\r\n"), None, problem)


def _case_rows(layout: Layout, item: Any, key: str, line: int) -> Iterator[SourceRow]:
    compact = canonical_json
    if not isinstance(item, dict):
        problem = f"{key} is a JSON {type(item).__name__}, not an object; send each case as one"
        yield SourceRow(line, key, compact(item), None, problem)
        return
    if layout.rows is None:
        yield SourceRow(line, key, compact(item), item)
        return
    rows = item.get(layout.rows)
    if not isinstance(rows, list):
        problem = f"{key} has no list of {layout.rows}; give each case its {layout.rows} as a list"
        yield SourceRow(line, key, compact(item), None, problem)
        return
    case = {k: v for k, v in item.items() if k != layout.rows}
    for j, row in enumerate(rows):
        fields = {"case": case, layout.row_name: row}
        yield SourceRow(line, f"{key}/{layout.rows}/{j}", compact(fields), fields)


def header_mismatch(path: Path, layouts: list[Layout], header: list[str] | None) -> str:
    expected = []
    for layout in layouts:
        if layout.format == "csv":
            expected.append(
                f"a CSV file with the header {','.join(layout.columns)} ({layout.name})"
            )
        elif layout.format == "json-lines":
            keys = ", ".join(layout.keys)
            expected.append(f"JSON Lines, each line an object with {keys} ({layout.name})")
        else:
            where = f'under "{layout.array}"' if layout.array else "at the top level"
            keys = ", ".join(layout.keys)
            expected.append(f"a JSON array {where} of objects with {keys} ({layout.name})")
    found = f"its header is {','.join(header)}" if header is not None else "its shape differs"
    return f"{path.name} is in none of the expected layouts ({found}); expected " + "; or ".join(
        expected
    )
