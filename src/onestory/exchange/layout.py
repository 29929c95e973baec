"""Layouts: one YAML file per agency extract layout, read and checked when first needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from onestory.domain.base import AgencyKind
from onestory.domain.identifiers import IDENTIFIER_TYPES
from onestory.exchange.conversions import CONVERSIONS, FieldSpec
from onestory.exchange.record_builders import RECORD_NEEDS, RECORDS
from onestory.exchange.rows import MappingError
from onestory.yamlfiles import read_mapping

# --- Layouts -------------------------------------------------------------------------------

FORMATS = ("csv", "json-array", "json-lines")
_LAYOUT_KEYS = frozenset(
    {"name", "agency_kind", "kind", "file_name", "format", "columns", "array", "keys", "rows",
     "row_name", "holder", "record", "fields"}
)  # fmt: skip
_FIELD_KEYS = frozenset({"source", "convert", "required", "values", "each"})


@dataclass(frozen=True)
class Holder:
    """Which mapped field names the organisation holding a row, and how it becomes a code."""

    field: str
    format: str = "{}"
    values: dict[str, str] | None = None  # for names that are not codes, keys casefolded


@dataclass(frozen=True)
class Layout:
    """One agency extract layout, as its YAML file describes it."""

    name: str
    agency_kind: str
    kind: str
    file_name: str
    format: str
    fields: tuple[FieldSpec, ...]
    holder: Holder
    record: str  # a key of RECORDS
    columns: tuple[str, ...] = ()  # csv: the header
    array: str | None = None  # json-array: the key holding the array ("" if top level)
    keys: tuple[str, ...] = ()  # json: keys every case (or line) has
    rows: str | None = None  # json-array: the key of each case holding its rows
    row_name: str = "row"  # json-array: what the row is called in SourceRow.fields
    source: Path | None = None


LAYOUTS_DIR = files("onestory.exchange").joinpath("layouts")


def load_layouts() -> dict[str, Layout]:
    """Every layout shipped, by name."""
    return dict(_load_layouts())


@cache
def _load_layouts() -> tuple[tuple[str, Layout], ...]:
    found: dict[str, Layout] = {}
    for entry in sorted(LAYOUTS_DIR.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        layout = read_layout(Path(str(entry)))
        if layout.name in found:
            raise MappingError(f"{entry}: layout {layout.name!r} is defined twice")
        found[layout.name] = layout
    return tuple(found.items())


def layouts_for(agency: str) -> list[Layout]:
    """The layouts of one agency kind ("police", "cps"...)."""
    return [layout for layout in load_layouts().values() if layout.agency_kind == agency]


def read_layout(path: Path) -> Layout:
    """One layout file, checked: every error names the file and what is wrong."""
    data, _root = read_mapping(path, MappingError, "a layout")

    def fail(message: str) -> MappingError:
        return MappingError(f"{path}: {message}")

    unknown = set(data) - _LAYOUT_KEYS
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}; a layout has {sorted(_LAYOUT_KEYS)}")
    for key in ("name", "agency_kind", "kind", "format", "holder", "record", "fields"):
        if key not in data:
            raise fail(f"{key} is missing")
    if data["format"] not in FORMATS:
        raise fail(f"format {data['format']!r} should be one of {', '.join(FORMATS)}")
    if data["agency_kind"] not in set(AgencyKind):
        raise fail(f"agency_kind {data['agency_kind']!r} is not an AgencyKind")
    if data["record"] not in RECORDS:
        raise fail(f"record {data['record']!r} should be one of {', '.join(RECORDS)}")
    if data["format"] == "csv" and not data.get("columns"):
        raise fail("a csv layout needs its columns (the header)")
    if data["format"] == "json-array" and data.get("array") is None:
        raise fail('a json-array layout says where its array is (array: "" for the top level)')
    if not isinstance(data["fields"], dict):
        raise fail("fields must be a mapping of common-model field to its source")
    fields = tuple(_field_spec(name, spec, fail) for name, spec in data["fields"].items())
    lacking = _lacking(fields, RECORD_NEEDS[data["record"]])
    if lacking:
        raise fail(f"record {data['record']} reads fields the layout lacks: {lacking}")
    holder = data["holder"]
    if not isinstance(holder, dict) or "field" not in holder:
        raise fail("holder needs the field naming the organisation")
    columns = tuple(data.get("columns") or ())
    if data["format"] == "csv":
        missing = {f.source for f in fields} - set(columns)
        if missing:
            raise fail(f"fields read columns not in the header: {sorted(missing)}")
    return Layout(
        name=data["name"],
        agency_kind=data["agency_kind"],
        kind=data["kind"],
        file_name=data.get("file_name", ""),
        format=data["format"],
        fields=fields,
        holder=Holder(
            field=holder["field"],
            format=holder.get("format", "{}"),
            values=_folded(holder.get("values")),
        ),
        record=data["record"],
        columns=columns,
        array=data.get("array"),
        keys=tuple(data.get("keys") or ()),
        rows=data.get("rows"),
        row_name=data.get("row_name") or (data.get("rows") or "row").removesuffix("s"),
        source=path,
    )


def _field_spec(name: str, spec: Any, fail: Callable[[str], MappingError]) -> FieldSpec:
    if not isinstance(spec, dict) or "source" not in spec:
        raise fail(f"field {name}: give at least its source")
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise fail(f"field {name}: unknown keys {sorted(unknown)}")
    each = None
    convert, _, arg = str(spec.get("convert", "")).partition(":")
    if "each" in spec:
        each = tuple(_field_spec(f"{name}.{k}", v, fail) for k, v in spec["each"].items())
    elif convert not in CONVERSIONS:
        raise fail(
            f"field {name}: conversion {convert!r} should be one of {', '.join(CONVERSIONS)}"
        )
    if convert == "identifier" and arg not in IDENTIFIER_TYPES:
        raise fail(
            f"field {name}: identifier type {arg!r} should be one of {list(IDENTIFIER_TYPES)}"
        )
    if convert in ("lookup", "lookup_each") and not spec.get("values"):
        raise fail(f"field {name}: a lookup needs its values")
    source = str(spec["source"])
    return FieldSpec(
        name=name.rpartition(".")[2],
        source=source,
        path=tuple(source.split(".")),
        convert=convert or None,
        arg=arg or None,
        required=bool(spec.get("required", False)),
        values=_folded(spec.get("values")),
        each=each,
        function=CONVERSIONS.get(convert),
    )


def _lacking(fields: tuple[FieldSpec, ...], needs: tuple[str, ...]) -> list[str]:
    given = {f.name: f for f in fields}
    names = {"forenames", "surname"} <= set(given) or "name" in given
    lacking = [] if names else ["name (or forenames and surname)"]
    for need in needs:
        top, _, inner = need.partition(".")
        spec = given.get(top)
        if spec is None or (inner and inner not in {s.name for s in spec.each or ()}):
            lacking.append(need)
    return lacking


def _folded(values: dict[Any, Any] | None) -> dict[str, str] | None:
    if values is None:
        return None
    return {str(k).casefold(): str(v) for k, v in values.items()}
