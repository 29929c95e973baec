"""Common offences, by their CJS offence codes.

Codes and titles are taken from the CJS offence code list as the Ministry of Justice publishes it
in the Bichard7 standing data (``cjs-offences.json``); the category there gives the mode of
trial (CS/CM summary, CE either way, CI indictable only). Groups follow the ONS offence groups
of police recorded crime. Weights are rough shares of cases with a suspect, not official figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["summary", "either_way", "indictable"]
VictimKind = Literal["person", "business", "none"]


@dataclass(frozen=True, slots=True)
class OffenceType:
    """One offence: its code, title, group, mode of trial and who its victims are."""

    code: str
    title: str
    group: str
    mode: Mode
    victim: VictimKind
    weight: float
    domestic: float = 0.0  # share committed in a domestic-abuse context
    sexual: bool = False
    serious: bool = False  # victims get enhanced rights whatever the context
    lesser: str | None = None  # what the CPS may reduce the charge to


VAP = "violence against the person"
SEX = "sexual offences"
THEFT = "theft offences"

OFFENCES: tuple[OffenceType, ...] = (
    OffenceType("CJ88116", "Assault by beating", VAP, "summary", "person", 9.0, domestic=0.45),
    OffenceType("CJ88001", "Common assault", VAP, "summary", "person", 4.0, domestic=0.35),
    OffenceType("OF61102", "Assault a person thereby occasioning them actual bodily harm", VAP,
                "either_way", "person", 6.0, domestic=0.4, lesser="CJ88116"),
    OffenceType("OF61131", "Wound / inflict grievous bodily harm without intent", VAP,
                "either_way", "person", 1.5, domestic=0.2, lesser="OF61102"),
    OffenceType("OF61016", "Section 18 - wounding with intent", VAP, "indictable", "person", 0.6,
                serious=True, lesser="OF61131"),
    OffenceType("OF61014", "Threats to kill", VAP, "either_way", "person", 0.8, domestic=0.5),
    OffenceType("CJ88160", "Assault by beating of an emergency worker", VAP, "either_way",
                "person", 2.0),
    OffenceType("SC15004", "Engage in controlling / coercive behaviour in an intimate / family "
                "relationship", VAP, "either_way", "person", 1.2, domestic=1.0),
    OffenceType("SC15005", "Intentional strangulation", VAP, "either_way", "person", 0.8,
                domestic=0.9),
    OffenceType("PH97004", "Harassment without violence", VAP, "summary", "person", 2.0,
                domestic=0.5),
    OffenceType("PH97011", "Stalking involving serious alarm / distress", VAP, "either_way",
                "person", 0.6, domestic=0.6),
    OffenceType("SE20002", "Harassment - breach of a restraining order on conviction", VAP,
                "either_way", "person", 1.2, domestic=0.8),
    OffenceType("FL96001", "Breach a non-molestation order - Family Law Act 1996", VAP,
                "either_way", "person", 0.8, domestic=1.0),
    OffenceType("CA03005", "Send by public communication network an offensive / indecent / "
                "obscene / menacing message / matter", VAP, "summary", "person", 1.2,
                domestic=0.4),
    OffenceType("SX03007", "Sexual assault on a female", SEX, "either_way", "person", 1.0,
                domestic=0.2, sexual=True, serious=True),
    OffenceType("SX03002", "Rape a woman 16 years of age or over - SOA 2003", SEX, "indictable",
                "person", 0.5, domestic=0.4, sexual=True, serious=True),
    OffenceType("TH68023", "Robbery", "robbery", "indictable", "person", 1.5, serious=False),
    OffenceType("TH68010", "Theft from a shop", THEFT, "either_way", "business", 10.0),
    OffenceType("TH68001", "Theft from the person of another", THEFT, "either_way", "person", 1.0),
    OffenceType("TH68020", "Theft - other - including theft by finding", THEFT, "either_way",
                "person", 2.5),
    OffenceType("TH68007", "Theft from a motor vehicle", THEFT, "either_way", "person", 1.5),
    OffenceType("TH68013", "Theft of motor vehicle", THEFT, "either_way", "person", 1.0),
    OffenceType("TH68006", "Theft of pedal cycle", THEFT, "either_way", "person", 0.8),
    OffenceType("TH68050", "Take a motor vehicle without the owners consent", THEFT, "summary",
                "person", 0.6),
    OffenceType("TH68036", "Burglary dwelling and theft - no violence", THEFT, "either_way",
                "person", 2.5),
    OffenceType("TH68037", "Burglary other than dwelling - theft", THEFT, "either_way",
                "business", 1.5),
    OffenceType("TH68073", "Handle stolen goods", THEFT, "either_way", "none", 0.8),
    OffenceType("FA06001", "Fraud by false representation - Fraud Act 2006", "fraud",
                "either_way", "person", 1.5),
    OffenceType("CD71039", "Criminal damage to property - value under £5000",
                "criminal damage and arson", "either_way", "person", 5.0, domestic=0.3),
    OffenceType("CD71015", "Arson", "criminal damage and arson", "either_way", "person", 0.4),
    OffenceType("MD71530", "Possess a controlled drug of Class B - Cannabis / Cannabis Resin",
                "drug offences", "either_way", "none", 5.0),
    OffenceType("MD71210", "Possess a controlled drug of Class A - Cocaine", "drug offences",
                "either_way", "none", 2.0),
    OffenceType("MD71230", "Possess with intent to supply a controlled drug of Class A - Cocaine",
                "drug offences", "indictable", "none", 1.2, lesser="MD71210"),
    OffenceType("MD71526", "Possess with intent to supply a controlled drug of Class B - Cannabis",
                "drug offences", "either_way", "none", 0.8, lesser="MD71530"),
    OffenceType("CJ88144", "Possess knife blade / sharp pointed article in a public place - "
                "Criminal Justice Act 1988", "possession of weapons", "either_way", "none", 2.0),
    OffenceType("PC53001", "Possess an offensive weapon in a public place",
                "possession of weapons", "either_way", "none", 0.8),
    OffenceType("PU86003", "Affray", "public order offences", "either_way", "person", 1.0),
    OffenceType("PU86004", "Use threatening / abusive / insulting words / behaviour with intent "
                "to cause fear of / provoke unlawful violence", "public order offences",
                "summary", "person", 2.0),
    OffenceType("PU86116", "Use threatening / abusive / insulting words / behaviour to cause "
                "harassment / alarm / distress", "public order offences", "summary", "person",
                2.5),
    OffenceType("CJ67002", "Drunk and disorderly in a public place", "public order offences",
                "summary", "none", 0.8),
    OffenceType("RT88007", "Drive motor vehicle when alcohol level above limit",
                "summary motoring", "summary", "none", 3.0),
    OffenceType("RT88584", "Drive motor vehicle with a proportion of a specified controlled drug "
                "above the specified limit", "summary motoring", "summary", "none", 1.5),
    OffenceType("RT88333", "Drive whilst disqualified", "summary motoring", "summary", "none",
                1.0),
    OffenceType("RT88026", "Drive a motor vehicle dangerously", "summary motoring",
                "either_way", "none", 0.6),
    OffenceType("BA76001", "Fail to surrender to police / court bail at the appointed time",
                "miscellaneous crimes against society", "summary", "none", 1.0),
)  # fmt: skip

OFFENCE_BY_CODE: dict[str, OffenceType] = {o.code: o for o in OFFENCES}
OFFENCE_WEIGHTS: tuple[float, ...] = tuple(o.weight for o in OFFENCES)
PERSON_OFFENCES: tuple[OffenceType, ...] = tuple(o for o in OFFENCES if o.victim == "person")
PERSON_OFFENCE_WEIGHTS: tuple[float, ...] = tuple(o.weight for o in PERSON_OFFENCES)
