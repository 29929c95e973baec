"""When it is safe to contact someone: weekly windows in UK local time.

A victim can tell us "only on weekdays between 10:00 and 15:00" (say, while an abusive partner
is at work). Windows are wall-clock times in Europe/London, so "10:00" stays 10:00 across the
changes to and from British Summer Time. A window lies within one day (``start < end``; an end
of ``time.max``, stored as 23:59:59.999999, runs to midnight), so to allow 22:00 to 02:00 give
two windows: 22:00 to ``time.max`` on one day and 00:00-02:00 on the next.

Around the clock changes wall times behave oddly, and the rules here are: in spring the hour
01:00-02:00 does not happen, so a window starting in it opens when the clocks go forward; in
autumn 01:00-02:00 happens twice, and both are inside a window that covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SEARCH_DAYS = 8  # every weekly window opens within a week of any moment


class ContactWindowError(ValueError):
    """A contact window that cannot be used; the message says which part is wrong."""


@dataclass(frozen=True)
class ContactWindow:
    """Days of the week (0 = Monday .. 6 = Sunday) and a start and end time, London time."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days:
            raise ContactWindowError("a contact window needs at least one day")
        wrong = sorted(d for d in self.days if not (isinstance(d, int) and 0 <= d <= 6))
        if wrong:
            raise ContactWindowError(f"contact window days must be 0 (Mon) to 6 (Sun), not {wrong}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ContactWindowError("contact window times are London wall-clock times: no tzinfo")
        if self.start >= self.end:
            raise ContactWindowError(
                f"contact window {self.start:%H:%M}-{self.end:%H:%M} must start before it ends; "
                "windows do not cross midnight, so split an overnight window in two"
            )

    def contains(self, local: datetime) -> bool:
        """Whether a London wall-clock moment falls in this window (start inclusive)."""
        wall = local.time()
        in_hours = self.start <= wall and (wall < self.end or self.end == time.max)
        return local.weekday() in self.days and in_hours

    def to_json(self) -> dict[str, Any]:
        """The stored form: ``{"days": [0, 1], "start": "10:00", "end": "15:00"}``."""
        return {
            "days": sorted(self.days),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ContactWindow:
        """Read the stored form back, saying which field is wrong if it cannot."""
        try:
            days = frozenset(int(d) for d in value["days"])
            start = time.fromisoformat(str(value["start"]))
            end = time.fromisoformat(str(value["end"]))
        except KeyError as exc:
            raise ContactWindowError(
                f"contact window {dict(value)!r} has no {exc.args[0]!r}"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise ContactWindowError(f"contact window {dict(value)!r} is not valid: {exc}") from exc
        return cls(days=days, start=start, end=end)

    def __str__(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


def windows_to_json(windows: Iterable[ContactWindow]) -> list[dict[str, Any]]:
    """Several windows in their stored form."""
    return [w.to_json() for w in windows]


def windows_from_json(values: Iterable[Mapping[str, Any]] | None) -> list[ContactWindow]:
    """Several windows back from their stored form."""
    return [ContactWindow.from_json(v) for v in values or ()]


def is_allowed(at: datetime, windows: Sequence[ContactWindow]) -> bool:
    """Whether contact is allowed at ``at`` (no windows: at any time)."""
    _require_aware(at)
    if not windows:
        return True
    local = at.astimezone(LONDON)
    return any(w.contains(local) for w in windows)


def next_allowed(now: datetime, windows: Sequence[ContactWindow]) -> datetime:
    """``now`` if contact is allowed now, else the moment the next window opens (aware UTC)."""
    _require_aware(now)
    now = now.astimezone(UTC)
    if is_allowed(now, windows):
        return now
    # Contact becomes allowed only where a window's start time is reached or where the clocks
    # change; the earliest such moment after now that is inside a window is the answer.
    today = now.astimezone(LONDON).date()
    candidates: list[datetime] = []
    for offset in range(_SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        candidates.extend(_clock_changes(day))
        for window in windows:
            if day.weekday() in window.days:
                candidates.extend(_instants(day, window.start))
    allowed = [c for c in candidates if c >= now and is_allowed(c, windows)]
    if not allowed:  # cannot happen for valid windows; a loud error beats a silent never
        shown = "; ".join(str(w) for w in windows)
        raise ContactWindowError(f"no contact window opens within a week of {now}: {shown}")
    return min(allowed)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: contact windows need timezone-aware times")


def _instants(day: date, at: time) -> list[datetime]:
    """Both UTC readings of a London wall time (they differ only when it is ambiguous or absent)."""
    wall = datetime.combine(day, at)
    return [wall.replace(tzinfo=LONDON, fold=fold).astimezone(UTC) for fold in (0, 1)]


def _clock_changes(day: date) -> list[datetime]:
    """The moment the clocks change on ``day`` (London), if they do."""
    lo = datetime.combine(day, time()).replace(tzinfo=LONDON).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time()).replace(tzinfo=LONDON).astimezone(UTC)
    after = hi.astimezone(LONDON).utcoffset()
    if lo.astimezone(LONDON).utcoffset() == after:
        return []
    # Bisect to the microsecond for the first instant with the new offset.
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(LONDON).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return [hi]
