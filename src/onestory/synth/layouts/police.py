"""The police extracts: suspects by case (police.csv) and victims (police_victims.csv).

police.csv is the layout of a force's crime and custody records joined up: one row per suspect
per case, the name in one column as ``SURNAME, Forename Middle``, dates as DD/MM/YYYY, the PNC ID
in long or short form, the CRO number where the force holds it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from onestory.synth.cases import OUTCOMES, TrueCase
from onestory.synth.identifiers import asn_display, pnc_spelling
from onestory.synth.layouts.csvfile import CsvOut
from onestory.synth.layouts.truth import TruthOut
from onestory.synth.noise import Noiser
from onestory.synth.people import TruePerson

POLICE_FILE = "police.csv"
VICTIMS_FILE = "police_victims.csv"

POLICE_HEADER = [
    "PNC_ID",
    "CRO_NO",
    "ASN",
    "URN",
    "FORCE",
    "NAME",
    "DOB",
    "SEX",
    "ADDRESS",
    "POSTCODE",
    "OFFENCE_CODE",
    "OFFENCE_DESC",
    "OFFENCE_GROUP",
    "OFFENCE_DATE",
    "REPORTED_DATE",
    "ARREST_DATE",
    "OUTCOME_CODE",
    "OUTCOME",
]
VICTIMS_HEADER = [
    "victim_id",
    "urn",
    "force",
    "title",
    "forenames",
    "surname",
    "date_of_birth",
    "address",
    "postcode",
    "phone",
    "email",
    "language",
    "interpreter",
    "accessibility",
    "disability",
    "contact_channels",
    "safe_times",
    "do_not_leave_messages",
    "enhanced_reasons",
]
_NAME_COLUMN = POLICE_HEADER.index("NAME")
_ADDRESS_COLUMN = VICTIMS_HEADER.index("address")


def dmy(day: date | None) -> str:
    """A date as DD/MM/YYYY, or blank."""
    return day.strftime("%d/%m/%Y") if day else ""


class PoliceExtracts:
    """Writes police.csv and police_victims.csv."""

    def __init__(self, out_dir: Path, noise: Noiser, truth: TruthOut) -> None:
        self._noise = noise
        self._truth = truth
        self.suspects = CsvOut(out_dir / POLICE_FILE, POLICE_HEADER, noise)
        self.victims = CsvOut(out_dir / VICTIMS_FILE, VICTIMS_HEADER, noise)

    def write(self, case: TrueCase) -> None:
        """The rows of one case."""
        self._suspects(case)
        self._victims(case)

    def _suspects(self, case: TrueCase) -> None:
        noise, rng = self._noise, self._noise.rng
        main = case.offences[0]
        for path in case.suspects:
            person = path.person
            day = path.arrested_on or path.decision_on or case.reported_on
            kinds: list[str] = []
            forename, middle, surname = noise.name(person, day, kinds, alias_allowed=True)
            pnc = person.pnc if person.pnc and path.free_from else ""
            ids = noise.identifiers(
                kinds,
                {
                    "PNC": pnc_spelling(pnc, rng, long_share=0.6) if pnc else "",
                    "CRO": person.cro if person.cro and rng.random() < 0.7 else "",
                    "ASN": (asn_display(path.asn) if rng.random() < 0.1 else path.asn)
                    if path.asn
                    else "",
                },
            )
            address = noise.address(person, day, kinds)
            dob = dmy(noise.dob(person.dob, kinds))
            postcode = address.postcode
            blank = noise.blank(kinds, 2)
            if blank == 0:
                dob = ""
            elif blank == 1:
                postcode = ""
            name = f"{surname.upper()}, {forename} {middle}".rstrip()
            name, postcode = noise.messy(kinds, [name, postcode])
            values = [
                ids["PNC"],
                ids["CRO"],
                ids["ASN"],
                case.urn,
                case.force.code,
                name,
                dob,
                person.sex,
                address.one_line(),
                postcode,
                main.code,
                main.title,
                main.group,
                dmy(case.offence_on),
                dmy(case.reported_on),
                dmy(path.arrested_on),
                path.outcome_code,
                OUTCOMES[path.outcome_code].upper(),
            ]
            key = self.suspects.write(values, kinds, comma_field=_NAME_COLUMN, may_misencode=True)
            self._truth.record(POLICE_FILE, key, person.pid, case.case_id, kinds)

    def _victims(self, case: TrueCase) -> None:
        noise = self._noise
        for victim in case.victims:
            person = victim.person
            day = case.reported_on
            kinds: list[str] = []
            forename, middle, surname = noise.name(person, day, kinds)
            address = noise.address(person, day, kinds)
            dob = dmy(noise.dob(person.dob, kinds))
            postcode = address.postcode
            blank = noise.blank(kinds, 2)
            if blank == 0:
                dob = ""
            elif blank == 1:
                postcode = ""
            forenames, surname, postcode = noise.messy(
                kinds, [f"{forename} {middle}".rstrip(), surname, postcode]
            )
            values = [
                victim.victim_id,
                case.urn,
                case.force.code,
                _title(victim.person, day),
                forenames,
                surname,
                dob,
                address.one_line(),
                postcode,
                person.phone,
                person.email if noise.rng.random() < 0.7 else "",
                victim.language,
                "Y" if victim.interpreter else "N",
                ";".join(victim.accessibility),
                victim.disability or "",
                ";".join(victim.channels),
                victim.safe_times or "",
                "Y" if victim.no_messages else "N",
                ";".join(victim.reasons),
            ]
            key = self.victims.write(values, kinds, comma_field=_ADDRESS_COLUMN)
            self._truth.record(VICTIMS_FILE, key, person.pid, case.case_id, kinds)

    def close(self) -> None:
        """Close both files."""
        self.suspects.close()
        self.victims.close()


def _title(person: TruePerson, day: date) -> str:
    if person.age_on(day) < 16:
        return ""
    if person.sex == "M":
        return "Mr"
    if person.married_on and day >= person.married_on:
        return "Mrs"
    return "Ms" if person.age_on(day) > 30 else "Miss"
