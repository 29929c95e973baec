"""One row while it is being mapped: where its fields come from, and the problems found so far.

The record builders and the mapping both write to it, so a row's problems are collected in one
place whatever found them (a conversion, a domain model, a builder's own check).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from onestory.exchange.conversions import FieldSpec, quote
from onestory.exchange.rows import Problem, SourceRow

if TYPE_CHECKING:
    from onestory.exchange.layout import Layout

# --- Mapping one row -------------------------------------------------------------------------


@dataclass
class RowInProgress:
    """One row being mapped: where its fields come from, and the problems found so far."""

    layout: Layout
    row: SourceRow
    fields: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    def source(self, name: str) -> str:
        """Where the field called ``name`` comes from, for messages."""
        spec = next((s for s in self.layout.fields if s.name == name), None)
        return self.where(spec) if spec is not None else name

    def getter(self) -> Callable[[FieldSpec], Any]:
        """How this row's fields are read: by column, or by path in the case or the row."""
        layout, fields = self.layout, self.fields
        if layout.format == "csv":
            return lambda spec: fields.get(spec.source)
        if layout.format == "json-array" and layout.rows is not None:
            case, own = fields.get("case"), fields.get(layout.row_name)
            return lambda spec: (
                dig(case, spec.path[1:]) if spec.path[0] == "case" else dig(own, spec.path)
            )
        return lambda spec: dig(fields, spec.path)

    def where(self, spec: FieldSpec) -> str:
        layout = self.layout
        if layout.format == "csv":
            return spec.source
        path = spec.path
        if layout.format == "json-array" and layout.rows is not None:
            if path[0] == "case":
                case_key = self.row.record_key.rsplit("/", 2)[0]
                return case_key + "/" + "/".join(path[1:])
            return self.row.record_key + "/" + "/".join(path)
        if layout.format == "json-array":
            return self.row.record_key + "/" + "/".join(path)
        return "/" + "/".join(path)

    def bad(self, where: str | None, problem: str, fix: str) -> None:
        self.problems.append(Problem(where, problem, fix))

    def validated(
        self, model: type[BaseModel], data: dict[str, Any], name: str
    ) -> dict[str, Any] | None:
        """``data`` as ``model`` in JSON form, or None with its errors added as problems."""
        try:
            return model.model_validate(data).model_dump(mode="json")
        except ValidationError as error:
            self._problems_of(error, model.__name__, name)
            return None

    def validated_list(
        self, model: type[BaseModel], items: list[dict[str, Any]], name: str
    ) -> list[dict[str, Any]]:
        """Each of ``items`` as ``model`` in JSON form, validated in one call; [] on errors."""
        adapter = _list_adapter(model)
        try:
            dumped: list[dict[str, Any]] = adapter.dump_python(
                adapter.validate_python(items), mode="json"
            )
        except ValidationError as error:
            self._problems_of(error, model.__name__, name)
            return []
        return dumped

    def _problems_of(self, error: ValidationError, model: str, name: str) -> None:
        named = {spec.name for spec in self.layout.fields}
        for detail in error.errors(include_url=False):
            loc = ".".join(str(part) for part in detail["loc"])
            # The model's field, where the layout has one of that name; else the field given.
            first = next((str(p) for p in detail["loc"] if isinstance(p, str)), "")
            first = re.sub(r"(?<!^)(?=[A-Z])", "_", first).lower()
            where = self.source(first if first in named else name)
            got = quote(detail["input"]) if "input" in detail else "nothing"
            self.bad(
                where,
                f"{model} {loc}: {detail['msg']} (got {got})",
                f"correct {where} so that it fits the common model",
            )


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
