"""JSON arrays and JSON Lines written one object at a time, so memory stays flat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 text kept as is."""
    return _compact(obj)


class JsonArrayOut:
    """A file holding one JSON array (optionally inside an object) written item by item."""

    def __init__(self, path: Path, *, prefix: str = "[\n", suffix: str = "\n]\n") -> None:
        self._handle = path.open("w", encoding="utf-8", newline="\n")
        self._handle.write(prefix)
        self._suffix = suffix
        self.items = 0

    def write(self, obj: Any) -> int:
        """Append one item; returns its index in the array."""
        if self.items:
            self._handle.write(",\n")
        self._handle.write(_compact(obj))
        self.items += 1
        return self.items - 1

    def close(self) -> None:
        """Close the array and the file."""
        self._handle.write(self._suffix)
        self._handle.close()


class JsonLinesOut:
    """A JSON Lines file; ``write`` returns the line number (1-based)."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("w", encoding="utf-8", newline="\n")
        self.lines = 0

    def write(self, obj: Any) -> int:
        """Append one object as one line."""
        self._handle.write(_compact(obj))
        self._handle.write("\n")
        self.lines += 1
        return self.lines

    def write_text(self, line: str) -> int:
        """Append one line already encoded as JSON."""
        self._handle.write(line)
        self._handle.write("\n")
        self.lines += 1
        return self.lines

    def close(self) -> None:
        """Close the file."""
        self._handle.close()
