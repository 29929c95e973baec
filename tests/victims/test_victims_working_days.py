"""The working-day clock: known dates around bank holidays and BST, and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestory.victims.duties import (
    DutyRule,
    DutyStatus,
    add_working_days,
    bank_holidays_known_from,
    bank_holidays_known_until,
    days_for,
    due_at,
    is_working_day,
    load_code_rules,
    rules_directory,
    status,
)

LONDON = ZoneInfo("Europe/London")
END = time(23, 59, 59, 999999)
KNOWN_FROM = bank_holidays_known_from()
KNOWN_UNTIL = bank_holidays_known_until()
CODE_2021 = load_code_rules(rules_directory() / "victims-code-2021.yaml")
TIMED_RULES = [rule for rule in CODE_2021.rules if rule.standard_days is not None]

# Far enough from the end of the data that a 30-day count stays among known holidays.
known_days = st.dates(min_value=KNOWN_FROM, max_value=KNOWN_UNTIL - timedelta(days=60))
known_instants = st.datetimes(
    min_value=datetime.combine(KNOWN_FROM, time()),
    max_value=datetime.combine(KNOWN_UNTIL - timedelta(days=60), time()),
    timezones=st.sampled_from([UTC, LONDON]),
)
limits = st.integers(min_value=0, max_value=30)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]."""
    return sum(is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))


def test_the_bank_holiday_data_covers_whole_years_including_the_next_few() -> None:
    assert date(2021, 4, 1) >= KNOWN_FROM, "the 2021 Code is covered from its first day"
    assert (KNOWN_FROM.month, KNOWN_FROM.day) == (1, 1)
    assert (KNOWN_UNTIL.month, KNOWN_UNTIL.day) == (12, 31)
    assert date(2028, 12, 31) <= KNOWN_UNTIL


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 12, 23), True),
        (date(2025, 12, 25), False),  # Christmas Day
        (date(2025, 12, 26), False),  # Boxing Day
        (date(2026, 1, 1), False),  # New Year's Day
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 25), False),  # Spring (late May) bank holiday
        (date(2026, 12, 28), False),  # Boxing Day, moved from a Saturday
        (date(2026, 3, 7), False),  # a Saturday
        (date(2026, 3, 8), False),  # a Sunday
        (date(2026, 3, 9), True),
    ],
)
def test_working_days_in_england_and_wales(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2025, 12, 19), 1, date(2025, 12, 22)),  # Friday: due Monday
        (date(2025, 12, 19), 5, date(2025, 12, 30)),  # 22, 23, 24, then 29, 30
        (date(2025, 12, 24), 1, date(2025, 12, 29)),  # over Christmas and Boxing Day
        (date(2025, 12, 23), 5, date(2026, 1, 2)),  # 24, 29, 30, 31, 2 Jan
        (date(2025, 12, 31), 1, date(2026, 1, 2)),  # over New Year's Day
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # over Good Friday and Easter Monday
        (date(2026, 4, 1), 2, date(2026, 4, 7)),
        (date(2026, 5, 22), 1, date(2026, 5, 26)),  # over the late May bank holiday
        (date(2026, 5, 22), 20, date(2026, 6, 22)),
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # a Saturday start: Monday is the first day
        (date(2026, 3, 7), 2, date(2026, 3, 10)),
        (date(2026, 3, 7), 0, date(2026, 3, 9)),  # no days: the next working day
        (date(2026, 4, 3), 0, date(2026, 4, 7)),  # no days from Good Friday
        (date(2026, 3, 10), 0, date(2026, 3, 10)),
    ],
)
def test_working_days_after_known_dates(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match=r"days must be 0 or more \(got -1\)"):
        add_working_days(date(2026, 3, 10), -1)


def test_beyond_the_data_only_weekends_are_skipped() -> None:
    christmas = next(
        date(year, 12, 25)
        for year in range(KNOWN_UNTIL.year + 1, KNOWN_UNTIL.year + 10)
        if date(year, 12, 25).weekday() < 5
    )
    assert is_working_day(christmas), "no holiday is invented beyond the data"
    assert not is_working_day(christmas + timedelta(days=5 - christmas.weekday()))


@pytest.mark.parametrize(
    ("started_at", "days", "due"),
    [
        # Friday 27 March 2026 (GMT); clocks go forward on Sunday 29 March: Monday ends in BST.
        (utc(2026, 3, 27, 10), 1, utc(2026, 3, 30, 22, 59, 59, 999999)),
        (utc(2026, 3, 27, 10), 0, utc(2026, 3, 27, 23, 59, 59, 999999)),
        # Friday 23 October 2026 (BST); clocks go back on Sunday 25 October: Monday is GMT.
        (utc(2026, 10, 23, 12), 1, utc(2026, 10, 26, 23, 59, 59, 999999)),
        (utc(2026, 10, 23, 12), 0, utc(2026, 10, 23, 22, 59, 59, 999999)),
        # 23:30 UTC on Thursday 4 June 2026 is 00:30 on Friday in London: due Monday, not Friday.
        (utc(2026, 6, 4, 23, 30), 1, utc(2026, 6, 8, 22, 59, 59, 999999)),
        # Friday 19 December 2025, late at night in London (GMT).
        (datetime(2025, 12, 19, 23, 0, tzinfo=LONDON), 1, utc(2025, 12, 22, 23, 59, 59, 999999)),
    ],
)
def test_due_at_is_the_end_of_the_london_working_day(
    started_at: datetime, days: int, due: datetime
) -> None:
    result = due_at(started_at, days)
    assert result == due
    assert result.tzinfo is UTC


def test_due_at_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        due_at(datetime(2026, 3, 27, 10), 1)


def test_days_for_gives_the_standard_or_the_enhanced_limit() -> None:
    rule = CODE_2021.by_id["R8.3"]
    assert days_for(rule, enhanced=False) == 5
    assert days_for(rule, enhanced=True) == 1
    start = utc(2026, 3, 27, 10)
    assert due_at(start, 1) < due_at(start, 5)


def test_status_against_the_deadline() -> None:
    due = utc(2026, 3, 30, 22, 59, 59, 999999)
    tick = timedelta(microseconds=1)
    assert status(due=due, met_at=None, now=due) is DutyStatus.PENDING
    assert status(due=due, met_at=None, now=due + tick) is DutyStatus.OVERDUE
    assert status(due=due, met_at=due, now=due + timedelta(days=9)) is DutyStatus.MET_ON_TIME
    assert status(due=due, met_at=due + tick, now=due) is DutyStatus.MET_LATE


@given(start=known_days, days=limits)
def test_the_due_date_is_a_working_day(start: date, days: int) -> None:
    assert is_working_day(add_working_days(start, days))


@given(start=known_days, days=st.integers(min_value=1, max_value=30))
def test_the_due_date_is_exactly_days_working_days_later(start: date, days: int) -> None:
    due = add_working_days(start, days)
    assert due > start
    assert working_days_between(start, due) == days


@given(start=known_days)
def test_no_days_means_the_first_working_day_from_the_start(start: date) -> None:
    due = add_working_days(start, 0)
    assert due >= start
    assert working_days_between(start - timedelta(days=1), due) == 1


@given(start=known_days, a=limits, b=limits)
def test_more_days_never_means_an_earlier_date(start: date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_working_days(start, low) <= add_working_days(start, high)


@given(started_at=known_instants, days=limits)
def test_due_at_ends_a_london_working_day_after_the_start(started_at: datetime, days: int) -> None:
    due = due_at(started_at, days)
    local = due.astimezone(LONDON)
    assert due.tzinfo is UTC
    assert local.time() == END
    assert is_working_day(local.date())
    assert due > started_at


@given(started_at=known_instants, rule=st.sampled_from(TIMED_RULES))
def test_the_enhanced_limit_is_never_later_than_the_standard(
    started_at: datetime, rule: DutyRule
) -> None:
    enhanced = days_for(rule, enhanced=True)
    standard = days_for(rule, enhanced=False)
    assert enhanced is not None and standard is not None
    assert due_at(started_at, enhanced) <= due_at(started_at, standard)


instants = st.datetimes(
    min_value=datetime(2021, 4, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(due=instants, met_at=st.none() | instants, a=instants, b=instants)
def test_status_is_monotone_in_time(
    due: datetime, met_at: datetime | None, a: datetime, b: datetime
) -> None:
    earlier, later = sorted((a, b))
    before = status(due=due, met_at=met_at, now=earlier)
    after = status(due=due, met_at=met_at, now=later)
    if met_at is not None:
        assert before == after
        assert before is (DutyStatus.MET_ON_TIME if met_at <= due else DutyStatus.MET_LATE)
    else:
        assert before is (DutyStatus.OVERDUE if earlier > due else DutyStatus.PENDING)
        assert after is (DutyStatus.OVERDUE if later > due else DutyStatus.PENDING)
        assert not (before is DutyStatus.OVERDUE and after is DutyStatus.PENDING)
