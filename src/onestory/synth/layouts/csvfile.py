"""CSV files written row by row, with the two faults real extracts have at the byte level.

A row can be written in cp1252 inside an otherwise UTF-8 file (someone's spreadsheet saved it
that way), or with a comma-holding field left unquoted so the row splits into one column too
many. No field ever holds a line break, so a broken row never spills into the next.
"""

from __future__ import annotations

import csv
from pathlib import Path

from onestory.synth.noise import Noiser


def _quoted(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


class CsvOut:
    """One CSV extract; ``write`` returns the record's row number (1 is the first data row)."""

    def __init__(self, path: Path, header: list[str], noise: Noiser) -> None:
        self.path = path
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(header)
        self._noise = noise
        self.rows = 0

    def write(
        self,
        values: list[str],
        kinds: list[str],
        *,
        comma_field: int | None = None,
        may_misencode: bool = False,
    ) -> int:
        """Write one record, breaking its quoting or encoding when the noise says so."""
        self.rows += 1
        unquoted = None
        has_comma = comma_field is not None and "," in values[comma_field]
        if has_comma and self._noise.hit("broken_quoting", kinds):
            unquoted = comma_field
        misencode = False
        if may_misencode and not all(v.isascii() for v in values):
            misencode = self._noise.hit("encoding", kinds)
        if unquoted is None and not misencode:
            self._writer.writerow(values)
            return self.rows
        line = ",".join(v if i == unquoted else _quoted(v) for i, v in enumerate(values)) + "\n"
        data = line.encode("cp1252", errors="replace") if misencode else line.encode("utf-8")
        self._handle.flush()
        self._handle.buffer.write(data)
        return self.rows

    def close(self) -> None:
        """Flush and close the file."""
        self._handle.close()
