"""Reading a generated synthetic world in tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from onestory.synth import NoiseRates, WorldSummary


@dataclass
class World:
    """A generated world on disk, with readers for its files."""

    path: Path
    summary: WorldSummary
    rates: NoiseRates

    def text(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def lines(self, name: str) -> list[bytes]:
        """The raw data lines of a CSV file (header dropped)."""
        return (self.path / name).read_bytes().split(b"\n")[1:-1]

    def csv_records(self, name: str) -> list[list[str]]:
        """Every data row of a CSV file, each line decoded on its own (cp1252 if not UTF-8)."""
        rows = []
        for raw in self.lines(name):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("cp1252", errors="replace")
            rows.append(next(csv.reader(io.StringIO(line))))
        return rows

    def header(self, name: str) -> list[str]:
        with (self.path / name).open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle))

    def dict_rows(self, name: str) -> list[dict[str, str]]:
        with (self.path / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    @cached_property
    def truth(self) -> list[dict[str, str]]:
        return self.dict_rows("ground_truth.csv")

    def truth_for(self, name: str) -> list[dict[str, str]]:
        return [row for row in self.truth if row["file"] == name]

    def events(self) -> Iterator[dict[str, Any]]:
        with (self.path / "events.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))
