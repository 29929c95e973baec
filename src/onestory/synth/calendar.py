"""Working days in England and Wales, and timestamps with the UK's offset on each date.

Victims' Code limits count working days: weekends and England and Wales bank holidays are not
counted. Bank holidays come from the ``govuk-bank-holidays`` package's offline copy, which runs
a couple of years ahead; beyond it only weekends are skipped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from govuk_bank_holidays.bank_holidays import BankHolidays

LONDON = ZoneInfo("Europe/London")
_ONE_DAY = timedelta(days=1)


@cache
def bank_holidays() -> frozenset[date]:
    """England and Wales bank holidays known to the offline list."""
    holidays = BankHolidays(use_cached_holidays=True)
    return frozenset(h["date"] for h in holidays.get_holidays(BankHolidays.ENGLAND_AND_WALES))


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in England and Wales."""
    return day.weekday() < 5 and day not in bank_holidays()


def add_working_days(day: date, count: int) -> date:
    """The date ``count`` working days after ``day`` (``day`` itself if ``count`` is 0)."""
    holidays = bank_holidays()
    while count > 0:
        day += _ONE_DAY
        if day.weekday() < 5 and day not in holidays:
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    holidays = bank_holidays()
    count = 0
    day = start
    while day < end:
        day += _ONE_DAY
        if day.weekday() < 5 and day not in holidays:
            count += 1
    return count


@cache
def _offset(day: date) -> str:
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=LONDON).utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds()) // 3600
    return f"+{hours:02d}:00"


def stamp(day: date, minute: int) -> str:
    """ISO 8601 local time on ``day`` at ``minute`` past midnight, with the UK offset."""
    return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00{_offset(day)}"
