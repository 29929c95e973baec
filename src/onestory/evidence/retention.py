"""Retention schedules for evidence: how long an item is kept, as data (``retention.yaml``).

Each schedule gives a period from the item's acquisition, the floor the law sets, and its source.
An item's ``retain_until`` comes from its schedule when it is taken in; an officer may change the
schedule or the date (a custody entry, with the reason). Disposal is refused before the date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

DEFAULT_SCHEDULE = "standard"
_PERIOD = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


class RetentionError(ValueError):
    """An unknown schedule, a malformed period, or disposal before the retention date (a
    ``ValueError``, so that a model field naming an unknown schedule fails validation)."""


@dataclass(frozen=True)
class Schedule:
    """One retention schedule."""

    id: str
    label: str
    period: str
    explanation: str
    source: str

    def until(self, start: datetime) -> datetime:
        """The end of retention for an item acquired at ``start``."""
        return add_period(start, self.period)


def add_period(start: datetime, period: str) -> datetime:
    """``start`` plus an ISO 8601 period of years, months and days (29 February → 28th)."""
    match = _PERIOD.match(period)
    if match is None:
        raise RetentionError(f"{period!r} is not a period such as P7Y, P6M or P30D")
    years, months, days = (int(g or 0) for g in match.groups())
    month_index = start.month - 1 + months
    year = start.year + years + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=days)


@cache
def schedules() -> dict[str, Schedule]:
    """The schedules in ``retention.yaml``, by id."""
    text = resources.files("onestory.evidence").joinpath("retention.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    found: dict[str, Schedule] = {}
    for row in data["schedules"]:
        schedule = Schedule(**row)
        add_period(datetime(2000, 1, 1), schedule.period)  # a malformed period fails here
        found[schedule.id] = schedule
    if DEFAULT_SCHEDULE not in found:
        raise RetentionError(f"retention.yaml has no {DEFAULT_SCHEDULE!r} schedule")
    return found


def schedule(schedule_id: str) -> Schedule:
    """One schedule, or ``RetentionError`` naming those there are."""
    known = schedules()
    if schedule_id not in known:
        raise RetentionError(
            f"no retention schedule {schedule_id!r}; the schedules are {', '.join(sorted(known))}"
        )
    return known[schedule_id]
