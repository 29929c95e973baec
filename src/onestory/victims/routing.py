"""Who a story can go to, read from the data-sharing agreements rather than written in code.

An organisation is offered a story when an agreement lets one of its roles read the victim's
own records (who they are, their story, their needs and contact) for a purpose other than the
victim's own access or statistics. The victim sees each one with what it will use the story for,
the lawful basis and the agreement's plain-English explanation; where the basis is consent,
they choose. Organisations are the ones serving the police force area the victim picks, or
a single national body (the compensation authority) when a kind has no local ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestory.sharing.policy import Agreement, PolicySet
from onestory.sharing.tables import Organisation
from onestory.sharing.vocabulary import (
    ROLE_ORGANISATION_KIND,
    Action,
    LawfulBasis,
    Purpose,
    RecordKind,
)

VICTIM_KINDS = frozenset({RecordKind.VICTIM, RecordKind.VICTIM_STORY, RecordKind.VICTIM_CONTACT})
NOT_ROUTED = frozenset({Purpose.OWN_ACCESS, Purpose.STATISTICS})

PURPOSE_WORDS: dict[str, str] = {
    Purpose.INVESTIGATION: "to investigate the crime",
    Purpose.PROSECUTION: "to prosecute the case",
    Purpose.WITNESS_CARE: "to keep you informed and support you as a witness",
    Purpose.VICTIM_SUPPORT: "to offer you support",
    Purpose.OFFENDER_MANAGEMENT: "to manage the offender",
    Purpose.REHABILITATION: "for rehabilitation",
    Purpose.COMPENSATION: "to consider a claim for compensation",
}
BASIS_WORDS: dict[str, str] = {
    LawfulBasis.LAW_ENFORCEMENT: "The law lets them use it to enforce the law (Data Protection "
    "Act 2018, Part 3)",
    LawfulBasis.STATUTORY_DUTY: "The law requires them to",
    LawfulBasis.CONSENT: "Only if you agree. You can change your mind at any time",
}
RECORD_WORDS: dict[str, str] = {
    RecordKind.VICTIM: "your name and contact details",
    RecordKind.VICTIM_STORY: "what happened, in your words",
    RecordKind.VICTIM_CONTACT: "your needs and when it is safe to contact you",
}


@dataclass(frozen=True)
class RecipientOption:
    """One organisation, one purpose: what it receives and on what basis."""

    organisation_code: str
    organisation_name: str
    organisation_kind: str
    purpose: str
    agreements: tuple[Agreement, ...]
    record_kinds: tuple[str, ...]

    @property
    def consent_required(self) -> bool:
        """The victim decides: every agreement offering this is based on consent."""
        return all(a.consent_required for a in self.agreements)

    @property
    def key(self) -> str:
        """A stable form-field name for the victim's choice."""
        return f"{self.organisation_code}:{self.purpose}"

    @property
    def purpose_words(self) -> str:
        return PURPOSE_WORDS.get(self.purpose, self.purpose.replace("_", " "))

    @property
    def basis_words(self) -> str:
        return BASIS_WORDS[self.agreements[0].lawful_basis]

    @property
    def receives(self) -> str:
        words = [RECORD_WORDS[k] for k in sorted(self.record_kinds)]
        return ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]


@lru_cache(maxsize=8)
def _offers(policies: PolicySet) -> dict[tuple[str, str], tuple[list[Agreement], set[str]]]:
    """(organisation kind, purpose) -> the agreements offering it and the kinds they read.

    Worked out once per loaded policy set (the agreements do not change while it is loaded).
    """
    offers: dict[tuple[str, str], tuple[list[Agreement], set[str]]] = {}
    for agreement in policies.agreements:
        for grant in agreement.grants:
            kinds = VICTIM_KINDS.intersection(grant.record_kinds)
            if Action.READ not in grant.actions or not kinds:
                continue
            for role in grant.roles:
                org_kind = ROLE_ORGANISATION_KIND.get(role)
                if org_kind is None:
                    continue
                for purpose in grant.purposes:
                    if purpose in NOT_ROUTED:
                        continue
                    found, read = offers.setdefault((org_kind, purpose), ([], set()))
                    if agreement not in found:
                        found.append(agreement)
                    read.update(kinds)
    return offers


def recipient_options(
    session: Session, policies: PolicySet, police_area: str
) -> list[RecipientOption]:
    """Every organisation a story told in ``police_area`` can go to, in a stable order."""
    offers = _offers(policies)
    serving = _serving(session, {kind for kind, _ in offers}, police_area)
    options: list[RecipientOption] = []
    for (org_kind, purpose), (agreements, kinds) in sorted(offers.items()):
        for organisation in serving.get(org_kind, []):
            options.append(
                RecipientOption(
                    organisation_code=organisation.code,
                    organisation_name=organisation.name,
                    organisation_kind=org_kind,
                    purpose=purpose,
                    agreements=tuple(agreements),
                    record_kinds=tuple(sorted(kinds)),
                )
            )
    # The police first (they receive it whatever the victim chooses), then the rest.
    options.sort(key=lambda o: (o.consent_required, o.organisation_kind != "police"))
    return options


def _serving(session: Session, kinds: set[str], police_area: str) -> dict[str, list[Organisation]]:
    """For each kind, the organisations serving the area; else a single national body.

    Which CPS area or probation region takes a case is decided later in the case, not when the
    victim first tells their story, so a kind with several national bodies gets none here.
    """
    local: dict[str, list[Organisation]] = {}
    national: dict[str, list[Organisation]] = {}
    for organisation in session.scalars(
        select(Organisation)
        .where(
            Organisation.kind.in_(kinds),
            or_(
                Organisation.police_area == police_area,
                Organisation.police_area.is_(None),
                Organisation.police_area == "",
            ),
        )
        .order_by(Organisation.code)
    ):
        found = local if organisation.police_area == police_area else national
        found.setdefault(organisation.kind, []).append(organisation)
    return {
        kind: local.get(kind) or (national[kind] if len(national.get(kind, [])) == 1 else [])
        for kind in kinds
    }


def police_areas(session: Session) -> list[tuple[str, str]]:
    """(area code, force name) for every police force, for the victim to choose from."""
    rows = session.execute(
        select(Organisation.police_area, Organisation.name)
        .where(Organisation.kind == "police", Organisation.police_area.is_not(None))
        .order_by(Organisation.name)
    ).all()
    return [(str(area), str(name)) for area, name in rows]
