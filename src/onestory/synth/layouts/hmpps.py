"""The HMPPS extracts: prisons.csv, probation.jsonl and education.csv.

Prison rows are keyed by prison number, names in capitals as NOMIS holds them, dates ISO, the PNC
ID in its short form. Probation lines are keyed by CRN in the shape of the probation case API
(``otherIds``). Education rows are keyed by prison number and ULN, dates as DD/MM/YYYY.
"""

from __future__ import annotations

from pathlib import Path

from onestory.synth.cases import TrueCase
from onestory.synth.custody import Course, Stay, Supervision
from onestory.synth.identifiers import pnc_spelling
from onestory.synth.layouts.csvfile import CsvOut
from onestory.synth.layouts.jsonfile import JsonLinesOut
from onestory.synth.layouts.police import dmy
from onestory.synth.layouts.truth import TruthOut
from onestory.synth.noise import Noiser
from onestory.synth.organisations import EDUCATION_PROVIDERS
from onestory.synth.people import TruePerson

PRISONS_FILE = "prisons.csv"
PROBATION_FILE = "probation.jsonl"
EDUCATION_FILE = "education.csv"

PRISONS_HEADER = [
    "NOMS_NUMBER",
    "SURNAME",
    "FORENAME",
    "DOB",
    "PNC",
    "CRO",
    "ESTABLISHMENT",
    "RECEPTION_DATE",
    "REASON",
    "RELEASE_DATE",
    "RELEASE_TYPE",
]
EDUCATION_HEADER = [
    "PRISON_NUMBER",
    "ULN",
    "LEARNER_NAME",
    "DOB",
    "COURSE",
    "QUALIFICATION",
    "LEVEL",
    "AWARDING_BODY",
    "PROVIDER",
    "START_DATE",
    "END_DATE",
    "OUTCOME",
]
ORDER_NAMES = {
    "community_order": "ORA Community Order",
    "suspended_sentence_order": "ORA Suspended Sentence Order",
    "licence": "Licence",
    "post_sentence_supervision": "Post Sentence Supervision",
}


class HmppsExtracts:
    """Writes the prison, probation and education extracts."""

    def __init__(self, out_dir: Path, noise: Noiser, truth: TruthOut) -> None:
        self._noise = noise
        self._truth = truth
        self.prisons = CsvOut(out_dir / PRISONS_FILE, PRISONS_HEADER, noise)
        self.probation = JsonLinesOut(out_dir / PROBATION_FILE)
        self.education = CsvOut(out_dir / EDUCATION_FILE, EDUCATION_HEADER, noise)

    def write(self, case: TrueCase) -> None:
        """Every stay, supervision and course that followed one case."""
        for path in case.suspects:
            for stay in path.stays:
                self._stay(case, path.person, stay)
            for supervision in path.supervisions:
                self._supervision(case, path.person, supervision)
            for course in path.courses:
                self._course(case, path.person, course)

    def _stay(self, case: TrueCase, person: TruePerson, stay: Stay) -> None:
        noise, rng = self._noise, self._noise.rng
        kinds: list[str] = []
        forename, _middle, surname = noise.name(person, stay.received_on, kinds, alias_allowed=True)
        surname, forename = noise.messy(kinds, [surname.upper(), forename.upper()])
        dob = noise.dob(person.dob, kinds).isoformat()
        if noise.blank(kinds, 1) == 0:
            dob = ""
        ids = noise.identifiers(
            kinds,
            {
                "NOMS": stay.noms,
                "PNC": pnc_spelling(person.pnc, rng, long_share=0.15)
                if person.pnc and rng.random() < 0.85
                else "",
                "CRO": person.cro if person.cro and rng.random() < 0.5 else "",
            },
        )
        values = [
            ids["NOMS"],
            surname,
            forename,
            dob,
            ids["PNC"],
            ids["CRO"],
            stay.establishment,
            stay.received_on.isoformat(),
            stay.reason.upper(),
            stay.released_on.isoformat() if stay.released_on else "",
            (stay.release_type or "").upper(),
        ]
        key = self.prisons.write(values, kinds)
        self._truth.record(PRISONS_FILE, key, person.pid, case.case_id, kinds)

    def _supervision(self, case: TrueCase, person: TruePerson, supervision: Supervision) -> None:
        noise = self._noise
        kinds: list[str] = []
        forename, middle, surname = noise.name(person, supervision.start, kinds)
        forename, surname = noise.messy(kinds, [forename, surname])
        dob = noise.dob(person.dob, kinds).isoformat()
        ids = noise.identifiers(
            kinds,
            {
                "CRN": supervision.crn,
                "PNC": person.pnc or "",
                "CRO": person.cro or "",
                "NOMS": person.noms or "",
                "NINO": person.nino or "",
            },
        )
        line = self.probation.write(
            {
                "crn": ids["CRN"] or None,
                "name": {
                    "forename": forename,
                    "middleNames": middle.split() if middle else [],
                    "surname": surname,
                },
                "dateOfBirth": None if noise.blank(kinds, 1) == 0 else dob,
                "gender": "Male" if person.sex == "M" else "Female",
                "otherIds": {
                    "pncNumber": ids["PNC"] or None,
                    "croNumber": ids["CRO"] or None,
                    "nomsNumber": ids["NOMS"] or None,
                    "niNumber": ids["NINO"] or None,
                },
                "order": {
                    "type": ORDER_NAMES[supervision.order_type],
                    "startDate": supervision.start.isoformat(),
                    "expectedEndDate": supervision.end.isoformat(),
                    "terminationDate": supervision.ended_on.isoformat()
                    if supervision.ended_on
                    else None,
                    "terminationReason": supervision.end_reason,
                },
                "region": supervision.region,
            }
        )
        self._truth.record(PROBATION_FILE, line, person.pid, case.case_id, kinds)

    def _course(self, case: TrueCase, person: TruePerson, course: Course) -> None:
        noise = self._noise
        kinds: list[str] = []
        forename, _middle, surname = noise.name(person, course.start, kinds)
        (learner,) = noise.messy(kinds, [f"{forename} {surname}"])
        dob = dmy(noise.dob(person.dob, kinds))
        if noise.blank(kinds, 1) == 0:
            dob = ""
        ids = noise.identifiers(kinds, {"NOMS": course.noms or "", "ULN": course.uln})
        values = [
            ids["NOMS"],
            ids["ULN"],
            learner,
            dob,
            course.course,
            course.qualification,
            course.level,
            course.awarding_body,
            EDUCATION_PROVIDERS[course.provider],
            dmy(course.start),
            dmy(course.end),
            course.outcome.replace("_", " ").capitalize(),
        ]
        key = self.education.write(values, kinds)
        self._truth.record(EDUCATION_FILE, key, person.pid, case.case_id, kinds)

    def close(self) -> None:
        """Close the three files."""
        self.prisons.close()
        self.probation.close()
        self.education.close()
