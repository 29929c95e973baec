"""Victims' Code duties as versioned data, and the working-day clock that times them.

The time limits come from summaries of the Code, and a new Code has been consulted on, so the
duties live in one YAML file per Code version (``rules/``), each duty citing its source. A
broken file stops start-up with a message naming the file and the line of the offending value,
like the data-sharing agreements (``onestory.sharing.policy``): a duty silently dropped is a
victim silently not told.

Deadlines count working days in England and Wales: weekends and the bank holidays that the
``govuk-bank-holidays`` package ships offline. Beyond the years that data covers only weekends
are skipped (no holiday is invented); ``bank_holidays_known_until`` lets callers warn.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from govuk_bank_holidays.bank_holidays import BankHolidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from onestory.domain.base import AgencyKind
from onestory.yamlfiles import dotted, line_of, read_mapping

TRIGGERS: frozenset[str] = frozenset(
    {
        "crime.reported",
        "suspect.arrested",
        "suspect.interviewed",
        "suspect.released",
        "suspect.bailed",
        "bail.changed",
        "investigation.not_started",
        "charge.decided",
        "charge.altered",
        "case.discontinued",
        "hearing.listed",
        "hearing.outcome",
        "bail.hearing.outcome",
        "warrant.issued",
        "witness.required",
        "case.outcome",
        "sentence.passed",
        "appeal.news",
        "expenses.claimed",
        "vcs.referral",
        "complaint.received",
        "investigation.ongoing",
    }
)
"""Things that happen in a case and start a duty's clock."""

ACTS: frozenset[str] = frozenset(
    {
        "victim.told",
        "support.referred",
        "witness_care.told",
        "vcs.referred",
        "victim.contacted",
        "expenses.paid",
        "complaint.answered",
    }
)
"""Things a provider does that fulfil a duty."""

ANY_OWNER = "any"
LONDON = ZoneInfo("Europe/London")

_ID = re.compile(r"^R(\d+)\.\d+$")
_FACT = re.compile(r"^[a-z][a-z0-9_]*$")
_ANY = "any"
_OPERATORS = frozenset({"in", "min"})
_Scalar = str | int | float | bool


class DutyRuleError(Exception):
    """A Code rules file that cannot be used; the message names the file and line."""


class DutyStatus(StrEnum):
    """Where a duty stands against its deadline."""

    PENDING = "pending"
    MET_ON_TIME = "met_on_time"
    MET_LATE = "met_late"
    OVERDUE = "overdue"


class _Located(ValueError):
    """A problem inside a field, with the path below the field, so the error names its line."""

    def __init__(self, message: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.where = where


def _known(kind: str, vocabulary: frozenset[str]) -> AfterValidator:
    """Refuse a name outside ``vocabulary``, suggesting the nearest, so a typo is one edit."""

    def check(value: str) -> str:
        if value not in vocabulary:
            close = difflib.get_close_matches(value, vocabulary, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"{value!r} is not {kind} ({hint}expected one of {', '.join(sorted(vocabulary))})"
            )
        return value

    return AfterValidator(check)


_Trigger = Annotated[str, _known("a trigger", TRIGGERS)]
_Act = Annotated[str, _known("an act", ACTS)]
_Days = Annotated[int, Field(strict=True, ge=1)]


class DutyRule(BaseModel):
    """One duty with a clock: who owes it, what starts it, what fulfils it, and how long."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str
    right: int = Field(strict=True, ge=1, le=12)
    title: str = Field(min_length=1)
    owner: str
    starts_on: tuple[_Trigger, ...] = Field(min_length=1)
    closed_by: tuple[_Act, ...] = Field(min_length=1)
    standard_days: _Days | None
    enhanced_days: _Days | None
    applies_when: dict[str, Any] = {}
    source: str = Field(min_length=1)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        owners = [kind.value for kind in AgencyKind] + [ANY_OWNER]
        if value not in owners:
            raise ValueError(f"{value!r} is not an owner (expected one of {', '.join(owners)})")
        return value

    @field_validator("applies_when")
    @classmethod
    def _condition(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_condition(value, ())
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DutyRule:
        match = _ID.match(self.id)
        if match is None or int(match.group(1)) != self.right:
            raise _Located(
                f"{self.id!r} is not an id of the form R{self.right}.<n> (right, then number)",
                ("id",),
            )
        if (self.standard_days is None) != (self.enhanced_days is None):
            raise _Located(
                "must be null exactly when standard_days is (null means 'as agreed with the "
                "victim' for everyone)",
                ("enhanced_days",),
            )
        standard, enhanced = self.standard_days, self.enhanced_days
        if standard is not None and enhanced is not None and enhanced > standard:
            raise _Located(
                f"{enhanced} is longer than standard_days {standard}; enhanced rights are never "
                "slower",
                ("enhanced_days",),
            )
        return self

    def applies(self, facts: Mapping[str, object] | None = None) -> bool:
        """Whether ``applies_when`` holds for these facts about the case (missing fact: no)."""
        return _holds(self.applies_when, facts or {})


class _CodeFile(BaseModel):
    """A rules file as written: one Code version and its duties."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1)
    version: str = Field(min_length=1)
    in_force_from: date
    source: str = Field(min_length=1)
    duties: tuple[DutyRule, ...] = Field(min_length=1)


class CodeRules:
    """The duties of one Code version, indexed by id and by the trigger that starts them."""

    def __init__(
        self, *, version: str, in_force_from: date, path: Path, rules: Sequence[DutyRule]
    ) -> None:
        self.version = version
        self.in_force_from = in_force_from
        self.path = path
        self.rules: tuple[DutyRule, ...] = tuple(rules)
        self.by_id: dict[str, DutyRule] = {rule.id: rule for rule in self.rules}
        self._by_trigger: dict[str, list[DutyRule]] = {}
        for rule in self.rules:
            for trigger in rule.starts_on:
                self._by_trigger.setdefault(trigger, []).append(rule)

    def __repr__(self) -> str:
        return f"CodeRules(version={self.version!r}, in_force_from={self.in_force_from})"

    def started_by(self, trigger: str, facts: Mapping[str, object] | None = None) -> list[DutyRule]:
        """The duties this trigger starts whose ``applies_when`` holds for ``facts``.

        An unknown trigger raises ``ValueError``: a misspelt event must not start nothing quietly.
        """
        if trigger not in TRIGGERS:
            raise ValueError(f"{trigger!r} is not a trigger")
        return [rule for rule in self._by_trigger.get(trigger, []) if rule.applies(facts)]


# --- the condition language -------------------------------------------------------------------


def _check_condition(condition: object, where: tuple[str | int, ...]) -> None:
    """Raise ``_Located`` at the first thing in ``condition`` the language does not allow."""
    if not isinstance(condition, dict):
        raise _Located("a condition must be a mapping of fact names to tests", where)
    for key, test in condition.items():
        at = (*where, key)
        if key == _ANY:
            if not isinstance(test, list) or not test:
                raise _Located("'any' takes a non-empty list of conditions", at)
            for i, option in enumerate(test):
                if not option:
                    raise _Located("an empty condition always holds; remove it", (*at, i))
                _check_condition(option, (*at, i))
        elif not isinstance(key, str) or not _FACT.match(key):
            raise _Located(f"{key!r} is not a fact name of lowercase words joined by _", at)
        elif isinstance(test, dict):
            _check_operators(test, at)
        elif not isinstance(test, _Scalar):
            raise _Located(
                f"{test!r} is not a test: give a value, or a mapping of 'in' and 'min'", at
            )


def _check_operators(test: dict[Any, Any], where: tuple[str | int, ...]) -> None:
    if not test:
        raise _Located("give 'in' or 'min'", where)
    for op, argument in test.items():
        at = (*where, op)
        if op not in _OPERATORS:
            raise _Located(f"{op!r} is not a test (expected 'in' or 'min')", at)
        if op == "in" and not (
            isinstance(argument, list)
            and argument
            and all(isinstance(a, _Scalar) for a in argument)
        ):
            raise _Located("'in' takes a non-empty list of values", at)
        if op == "min" and not _is_number(argument):
            raise _Located(f"'min' takes a number (got {argument!r})", at)


def _holds(condition: Mapping[str, Any], facts: Mapping[str, object]) -> bool:
    """Every key holds; ``any`` holds if one of its conditions does; a missing fact fails."""
    for key, test in condition.items():
        if key == _ANY:
            if not any(_holds(option, facts) for option in test):
                return False
        elif key not in facts:
            return False
        elif isinstance(test, dict):
            fact = facts[key]
            if "in" in test and not any(_same(fact, value) for value in test["in"]):
                return False
            if "min" in test and not _at_least(fact, test["min"]):
                return False
        elif not _same(facts[key], test):
            return False
    return True


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _at_least(fact: object, minimum: float) -> bool:
    return isinstance(fact, int | float) and not isinstance(fact, bool) and fact >= minimum


def _same(fact: object, value: object) -> bool:
    # True == 1 in Python; a yes/no fact must not match a count.
    return isinstance(fact, bool) == isinstance(value, bool) and fact == value


# --- loading ----------------------------------------------------------------------------------


def rules_directory() -> Path:
    """The folder of Code rules shipped with OneStory."""
    return Path(__file__).resolve().parent / "rules"


def load_code_rules(path: Path) -> CodeRules:
    """Load and check one Code version's rules file; raise ``DutyRuleError``."""
    data, root = read_mapping(path, DutyRuleError, "a Code rules file")
    try:
        parsed = _CodeFile.model_validate(data)
    except ValidationError as exc:
        # Every problem at once, in file order, so one edit fixes them all.
        found = sorted(
            (line_of(root, loc), dotted(loc), message) for loc, message in _problems(exc)
        )
        raise DutyRuleError(
            "\n".join(f"{path}:{line}: {where}: {what}" for line, where, what in found)
        ) from exc
    seen: set[str] = set()
    for i, rule in enumerate(parsed.duties):
        if rule.id in seen:
            loc: tuple[str | int, ...] = ("duties", i, "id")
            raise DutyRuleError(f"{path}:{line_of(root, loc)}: {dotted(loc)}: {rule.id!r} twice")
        seen.add(rule.id)
    return CodeRules(
        version=parsed.version, in_force_from=parsed.in_force_from, path=path, rules=parsed.duties
    )


def load_all_code_rules(directory: Path | None = None) -> list[CodeRules]:
    """Every Code version in ``directory`` (default: the packaged one), oldest first."""
    folder = rules_directory() if directory is None else directory
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise DutyRuleError(f"{folder}: no *.yaml Code rules found")
    versions = sorted((load_code_rules(path) for path in files), key=lambda v: v.in_force_from)
    for earlier, later in pairwise(versions):
        if earlier.in_force_from == later.in_force_from:
            raise DutyRuleError(
                f"{later.path}: in force from {later.in_force_from}, as is {earlier.path}; "
                "a day has one Code"
            )
    by_version: dict[str, Path] = {}
    for v in versions:
        if v.version in by_version:
            raise DutyRuleError(f"{v.path}: version {v.version!r} is also {by_version[v.version]}")
        by_version[v.version] = v.path
    return versions


def rules_in_force(on: date, versions: Sequence[CodeRules]) -> CodeRules:
    """The Code version in force on ``on``: the latest to come into force on or before it."""
    candidates = [v for v in versions if v.in_force_from <= on]
    if not candidates:
        earliest = min((v.in_force_from for v in versions), default=None)
        raise LookupError(f"no Code version is in force on {on} (earliest known: {earliest})")
    return max(candidates, key=lambda v: v.in_force_from)


def _problems(exc: ValidationError) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each error's location (down to the offending value) and a person's reading of it."""
    located = [(tuple(e["loc"]), e) for e in exc.errors()]
    # A list whose every item is wrong is also "too short"; the wrong items are the news.
    failed_within = {loc[:n] for loc, _ in located for n in range(len(loc))}
    for loc, error in located:
        if error["type"] == "too_short" and loc in failed_within:
            continue
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _Located):
            yield (*loc, *cause.where), str(cause)
        elif error["type"] == "missing":
            yield loc, "is missing"
        elif error["type"] == "extra_forbidden":
            kind = "a duty" if loc[:1] == ("duties",) else "a Code rules file"
            yield loc, f"is not a field of {kind} (check the spelling)"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            given = error.get("input")
            plain = isinstance(given, dict | list) or repr(given) in message
            yield loc, message if plain else f"{message} (got {given!r})"


# --- the working-day clock --------------------------------------------------------------------


@cache
def _bank_holidays() -> frozenset[date]:
    # The package's cached copy only: a deadline must not depend on reaching GOV.UK.
    holidays = BankHolidays(use_cached_holidays=True)
    return frozenset(
        h["date"] for h in holidays.get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    )


def bank_holidays_known_from() -> date:
    """The first day of the first year the bank-holiday data covers."""
    return date(min(_bank_holidays()).year, 1, 1)


def bank_holidays_known_until() -> date:
    """The last day of the last year the bank-holiday data covers; after it only weekends count."""
    return date(max(_bank_holidays()).year, 12, 31)


def is_working_day(day: date) -> bool:
    """Not a Saturday, Sunday or bank holiday in England and Wales."""
    return day.weekday() < 5 and day not in _bank_holidays()


def add_working_days(day: date, days: int) -> date:
    """The date ``days`` working days after ``day`` (``day`` itself is not counted).

    ``days == 0`` gives ``day`` if it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError(f"days must be 0 or more (got {days})")
    current = day
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def due_at(started_at: datetime, days: int) -> datetime:
    """When a duty started at ``started_at`` falls due: the end of its last working day, in UTC.

    Days are London days, so an event at 23:30 UTC on a summer Friday started on Saturday.
    """
    if started_at.tzinfo is None or started_at.utcoffset() is None:
        raise ValueError(f"started_at must be timezone-aware (got naive {started_at.isoformat()})")
    last_day = add_working_days(started_at.astimezone(LONDON).date(), days)
    return datetime.combine(last_day, time.max, tzinfo=LONDON).astimezone(UTC)


def days_for(rule: DutyRule, *, enhanced: bool) -> int | None:
    """The rule's working-day limit for this victim; None when agreed with the victim."""
    return rule.enhanced_days if enhanced else rule.standard_days


def status(*, due: datetime, met_at: datetime | None, now: datetime) -> DutyStatus:
    """Met on time or late once met, whatever ``now``; before that, overdue only after ``due``."""
    if met_at is not None:
        return DutyStatus.MET_ON_TIME if met_at <= due else DutyStatus.MET_LATE
    return DutyStatus.OVERDUE if now > due else DutyStatus.PENDING
