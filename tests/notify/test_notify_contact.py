"""Contact windows: inside and outside, next week, and the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestory.notify.contact import (
    LONDON,
    ContactWindow,
    ContactWindowError,
    is_allowed,
    next_allowed,
    windows_from_json,
    windows_to_json,
)

WEEKDAYS_10_TO_3 = ContactWindow(frozenset(range(5)), time(10), time(15))


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


def test_no_windows_means_any_time() -> None:
    now = datetime(2024, 1, 6, 3, 0, tzinfo=UTC)
    assert next_allowed(now, []) == now


def test_inside_a_window_is_now() -> None:
    now = london(2024, 1, 8, 10, 0)  # Monday, at the window's start
    assert next_allowed(now, [WEEKDAYS_10_TO_3]) == now


def test_before_a_window_waits_for_its_start_that_day() -> None:
    assert next_allowed(london(2024, 1, 8, 7, 30), [WEEKDAYS_10_TO_3]) == london(2024, 1, 8, 10)


def test_the_end_is_not_inside() -> None:
    # Friday 15:00 is the end; the next window is Monday 10:00.
    assert next_allowed(london(2024, 1, 12, 15, 0), [WEEKDAYS_10_TO_3]) == london(2024, 1, 15, 10)


def test_a_window_on_one_day_a_week_opens_the_following_week() -> None:
    tuesday = ContactWindow(frozenset({1}), time(18), time(19))
    # Tuesday 19:30: next Tuesday 18:00.
    assert next_allowed(london(2024, 1, 9, 19, 30), [tuesday]) == london(2024, 1, 16, 18)


def test_the_earliest_of_several_windows_wins() -> None:
    windows = [WEEKDAYS_10_TO_3, ContactWindow(frozenset({5}), time(9), time(11))]
    assert next_allowed(london(2024, 1, 5, 16), windows) == london(2024, 1, 6, 9)


def test_windows_keep_to_london_wall_clock_time_in_summer() -> None:
    # In June 10:00 in London is 09:00 UTC.
    result = next_allowed(datetime(2024, 6, 3, 6, 0, tzinfo=UTC), [WEEKDAYS_10_TO_3])
    assert result == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def test_across_the_change_to_summer_time() -> None:
    sunday = ContactWindow(frozenset({6}), time(9), time(12))
    # Saturday 30 March 2024 at 13:00 GMT; the clocks go forward overnight.
    result = next_allowed(datetime(2024, 3, 30, 13, 0, tzinfo=UTC), [sunday])
    assert result == datetime(2024, 3, 31, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_a_window_opening_in_the_missing_hour_opens_when_the_clocks_go_forward() -> None:
    window = ContactWindow(frozenset({6}), time(1, 30), time(3))
    result = next_allowed(datetime(2024, 3, 30, 23, 0, tzinfo=UTC), [window])
    assert result == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)  # 02:00 BST, the first moment
    assert is_allowed(result, [window])
    assert not is_allowed(result - timedelta(microseconds=1), [window])


def test_a_window_wholly_in_the_missing_hour_waits_a_week() -> None:
    window = ContactWindow(frozenset({6}), time(1, 10), time(1, 50))
    result = next_allowed(datetime(2024, 3, 30, 23, 0, tzinfo=UTC), [window])
    assert result == london(2024, 4, 7, 1, 10)


def test_the_repeated_hour_in_autumn_is_inside_both_times() -> None:
    window = ContactWindow(frozenset({6}), time(0, 30), time(1, 30))
    # 27 October 2024: 01:00-02:00 happens twice. 01:45 BST (00:45 UTC) is outside; the
    # clocks then go back to 01:00 GMT, which is inside again.
    result = next_allowed(datetime(2024, 10, 27, 0, 45, tzinfo=UTC), [window])
    assert result == datetime(2024, 10, 27, 1, 0, tzinfo=UTC)


def test_after_the_change_back_to_winter_time() -> None:
    monday = ContactWindow(frozenset({0}), time(10), time(11))
    result = next_allowed(datetime(2024, 10, 26, 12, 0, tzinfo=UTC), [monday])
    assert result == datetime(2024, 10, 28, 10, 0, tzinfo=UTC)  # 10:00 GMT


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(22), time(2)), (time(10), time(10))],
    ids=["overnight", "empty"],
)
def test_windows_that_do_not_start_before_they_end_are_refused(start: time, end: time) -> None:
    with pytest.raises(ContactWindowError, match=r"must start before it ends.*split an overnight"):
        ContactWindow(frozenset({0}), start, end)


def test_bad_days_are_refused() -> None:
    with pytest.raises(ContactWindowError, match=r"0 \(Mon\) to 6 \(Sun\), not \[7\]"):
        ContactWindow(frozenset({7}), time(9), time(10))
    with pytest.raises(ContactWindowError, match="at least one day"):
        ContactWindow(frozenset(), time(9), time(10))


def test_a_window_to_midnight_includes_the_last_moment() -> None:
    late = ContactWindow(frozenset({0}), time(22), time.max)
    assert is_allowed(london(2024, 1, 8, 23, 59, 59), [late])


def test_json_round_trip_and_errors() -> None:
    windows = [WEEKDAYS_10_TO_3, ContactWindow(frozenset({6}), time(9, 30), time.max)]
    stored = windows_to_json(windows)
    assert stored[0] == {"days": [0, 1, 2, 3, 4], "start": "10:00:00", "end": "15:00:00"}
    assert windows_from_json(stored) == windows
    with pytest.raises(ContactWindowError, match="has no 'end'"):
        ContactWindow.from_json({"days": [0], "start": "10:00"})
    with pytest.raises(ContactWindowError, match="is not valid"):
        ContactWindow.from_json({"days": [0], "start": "ten", "end": "11:00"})


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(datetime(2024, 1, 1, 10), [WEEKDAYS_10_TO_3])


# Property: for any windows (on the quarter hour) and any moment near a clock change, the
# answer is no earlier than now, inside a window, and no quarter hour between is inside.
QUARTERS = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, (q % 4) * 15))
CHANGES = [datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC)]
NEAR_A_CHANGE = st.builds(
    lambda change, minutes: change + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(min_value=-9 * 24 * 60, max_value=2 * 24 * 60),
)


def _window_or_none(days: set[int], a: time, b: time) -> ContactWindow | None:
    if a == b:
        return None
    return ContactWindow(frozenset(days), min(a, b), max(a, b))


VALID_WINDOWS = st.lists(
    st.builds(_window_or_none, st.sets(st.integers(0, 6), min_size=1), QUARTERS, QUARTERS).filter(
        lambda w: w is not None
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(windows=VALID_WINDOWS, now=NEAR_A_CHANGE)
def test_next_allowed_is_the_first_moment_inside_a_window(
    windows: list[ContactWindow], now: datetime
) -> None:
    result = next_allowed(now, windows)
    assert result >= now
    assert is_allowed(result, windows)
    # Every window edge here is on a UTC quarter hour (London is UTC or UTC+1), so checking
    # each quarter hour in between finds any earlier opening.
    probe = now.replace(minute=(now.minute // 15) * 15, second=0, microsecond=0)
    while probe < result:
        if probe >= now:
            assert not is_allowed(probe, windows), f"{probe} is inside, before {result}"
        probe += timedelta(minutes=15)
