"""Data-sharing agreements, loaded from the YAML files in ``policies/`` and checked at start-up.

Each file is one agreement that people can read (and that victims are shown in plain English).
A broken file stops start-up with a message naming the file and the line of the offending
value, because a sharing rule that is silently dropped or misread is worse than no service.

The loaded ``PolicySet`` keeps an index from (role, action, record kind, purpose) to the
agreements that grant it, so a decision costs one dictionary lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from onestory.sharing.vocabulary import (
    ROLE_ORGANISATION_KIND,
    Action,
    LawfulBasis,
    OrganisationKind,
    Purpose,
    RecordKind,
    Role,
)
from onestory.yamlfiles import dotted, line_of, read_mapping

# ISO 8601 durations in whole years, months or days (P7Y, P6M, P30D, P1Y6M): retention is never
# set to the hour.
_DURATION = re.compile(r"^P(?=\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?$")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# How to name a value in an error, by the field that holds it.
_VALUE_NAMES: dict[str, str] = {
    "roles": "role",
    "record_kinds": "record kind",
    "actions": "action",
    "purposes": "purpose",
    "parties": "organisation kind",
    "lawful_basis": "lawful basis",
}


class PolicyError(Exception):
    """A policy file that cannot be used; the message names the file and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Grant(_Strict):
    """Who may do what with which records, for which purposes."""

    roles: tuple[Role, ...] = Field(min_length=1)
    record_kinds: tuple[RecordKind, ...] = Field(min_length=1)
    actions: tuple[Action, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)


class Retention(_Strict):
    """How long shared data is kept, as an ISO 8601 duration, and why that long."""

    period: str
    reason: str = Field(min_length=1)

    @field_validator("period")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError(f"{value!r} is not an ISO 8601 duration such as P7Y or P6M")
        return value


class Agreement(_Strict):
    """One data-sharing agreement, as written in its file."""

    id: str
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    parties: tuple[OrganisationKind, ...] = Field(min_length=1)
    grants: tuple[Grant, ...] = Field(min_length=1)
    lawful_basis: LawfulBasis
    legal_reference: str = Field(min_length=1)
    consent_required: bool
    own_records_only: bool = False
    retention: Retention
    explanation: str = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not an id of lowercase words joined by hyphens")
        return value


Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Permission:
    """One cell of the policy matrix."""

    role: Role
    action: Action
    record_kind: RecordKind
    purpose: Purpose
    allowed: bool


class PolicySet:
    """Every agreement, indexed by (role, action, record kind, purpose)."""

    def __init__(self, agreements: Sequence[Agreement]) -> None:
        self.agreements: tuple[Agreement, ...] = tuple(agreements)
        index: dict[Key, list[Agreement]] = {}
        for agreement in self.agreements:
            for grant in agreement.grants:
                for role in grant.roles:
                    for action in grant.actions:
                        for kind in grant.record_kinds:
                            for purpose in grant.purposes:
                                found = index.setdefault((role, action, kind, purpose), [])
                                if agreement not in found:
                                    found.append(agreement)
        # Agreements that need no runtime check come first, so the common case decides without
        # a consent lookup or an ownership comparison.
        self._index: dict[Key, tuple[Agreement, ...]] = {
            key: tuple(sorted(found, key=_checks_needed)) for key, found in index.items()
        }
        self.by_id: dict[str, Agreement] = {a.id: a for a in self.agreements}

    def lookup(
        self, role: str, action: str, record_kind: str, purpose: str
    ) -> tuple[Agreement, ...]:
        """The agreements that could allow this, cheapest to check first (empty: none)."""
        return self._index.get((role, action, record_kind, purpose), ())

    def matrix(self) -> Iterator[Permission]:
        """Every (role, action, record kind, purpose) and whether any agreement grants it."""
        for role in Role:
            for action in Action:
                for kind in RecordKind:
                    for purpose in Purpose:
                        allowed = (role, action, kind, purpose) in self._index
                        yield Permission(role, action, kind, purpose, allowed)


def _checks_needed(agreement: Agreement) -> int:
    return int(agreement.own_records_only) + 2 * int(agreement.consent_required)


def load_policies(directory: str | Path) -> PolicySet:
    """Load and check every ``*.yaml`` agreement in ``directory``; raise ``PolicyError``."""
    folder = Path(directory)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise PolicyError(f"{folder}: no *.yaml agreements found; deny-all is not a policy")
    agreements: list[Agreement] = []
    seen: dict[str, Path] = {}
    for path in files:
        agreement, root = load_agreement(path)
        if agreement.id in seen:
            line = line_of(root, ("id",))
            raise PolicyError(
                f"{path}:{line}: id: {agreement.id!r} is already used by {seen[agreement.id]}"
            )
        seen[agreement.id] = path
        agreements.append(agreement)
    return PolicySet(agreements)


def load_agreement(path: Path) -> tuple[Agreement, yaml.Node]:
    """One agreement and its YAML node tree (for line numbers); raise ``PolicyError``."""
    data, root = read_mapping(path, PolicyError, "an agreement")
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        # Every problem at once, in the order of the file, so one edit-and-retry fixes them all.
        found = sorted(
            (line_of(root, loc), dotted(loc), _describe(error)) for loc, error in _meaningful(exc)
        )
        raise PolicyError(
            "\n".join(f"{path}:{line}: {where}: {what}" for line, where, what in found)
        ) from exc
    problem = _inconsistency(agreement)
    if problem is not None:
        loc, message = problem
        raise PolicyError(f"{path}:{line_of(root, loc)}: {dotted(loc)}: {message}")
    return agreement, root


def _inconsistency(agreement: Agreement) -> tuple[tuple[str | int, ...], str] | None:
    """The first rule that the fields break together (pydantic checks them one by one)."""
    is_consent = agreement.lawful_basis is LawfulBasis.CONSENT
    if agreement.consent_required != is_consent:
        return (
            ("consent_required",),
            f"must be {str(is_consent).lower()} when lawful_basis is "
            f"{agreement.lawful_basis.value!r} (consent is required if and only if it is the "
            "basis)",
        )
    for g, grant in enumerate(agreement.grants):
        own = Purpose.OWN_ACCESS in grant.purposes
        if own and not agreement.own_records_only:
            return (("own_records_only",), "must be true for an agreement granting own_access")
        if agreement.own_records_only and not own:
            return (
                ("grants", g, "purposes"),
                "an own_records_only agreement may grant only the own_access purpose",
            )
        for r, role in enumerate(grant.roles):
            kind = ROLE_ORGANISATION_KIND[role]
            if kind is not None and kind not in agreement.parties:
                return (
                    ("grants", g, "roles", r),
                    f"role {role.value!r} works for a {kind.value!r} organisation, which is "
                    "not among the parties",
                )
    return None


def _meaningful(exc: ValidationError) -> list[tuple[tuple[str | int, ...], Any]]:
    """The errors with their locations, less a list's "too short" when its items failed.

    A list whose every item is misspelt is also empty after validation; the misspellings
    are the news.
    """
    located = [(tuple(e["loc"]), e) for e in exc.errors()]
    failed_within = {loc[:n] for loc, _ in located for n in range(len(loc))}
    return [
        (loc, e) for loc, e in located if not (e["type"] == "too_short" and loc in failed_within)
    ]


def _describe(error: Any) -> str:
    """A person's reading of one pydantic error."""
    loc = error["loc"]
    given = error.get("input")
    if error["type"] == "enum":
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        name = _VALUE_NAMES.get(field, "value")
        expected = error.get("ctx", {}).get("expected", "")
        article = "an" if name[0] in "aeiou" else "a"
        return f"{given!r} is not {article} {name} (expected one of {expected})"
    if error["type"] == "missing":
        return "is missing"
    if error["type"] == "extra_forbidden":
        return "is not a field of an agreement (check the spelling)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(given, dict | list) or repr(given) in message:
        return message
    return f"{message} (got {given!r})"
