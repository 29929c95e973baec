"""The ground truth: who every record really is, the true people, the true case journeys."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from onestory.synth.cases import TrueCase
from onestory.synth.people import TruePerson

GROUND_TRUTH = "ground_truth.csv"
TRUTH_PEOPLE = "truth_people.csv"
TRUTH_CASES = "truth_cases.csv"


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


class TruthOut:
    """Writes ground_truth.csv, truth_people.csv and truth_cases.csv as the world is made."""

    def __init__(self, out_dir: Path) -> None:
        self._files = [
            (out_dir / name).open("w", encoding="utf-8", newline="")
            for name in (GROUND_TRUTH, TRUTH_PEOPLE, TRUTH_CASES)
        ]
        self._ground, self._people, self._cases = (
            csv.writer(f, lineterminator="\n") for f in self._files
        )
        self._ground.writerow(["file", "record_key", "person_id", "case_id", "noise"])
        self._people.writerow(
            [
                "person_id",
                "sex",
                "forenames",
                "surname",
                "married_surname",
                "married_on",
                "date_of_birth",
                "origin",
                "nhs_number",
                "ni_number",
                "pnc_id",
                "cro_number",
                "prison_number",
                "probation_crn",
                "uln",
                "master_defendant_id",
                "addresses",
            ]
        )
        self._cases.writerow(
            [
                "case_id",
                "person_id",
                "urn",
                "force",
                "offence_code",
                "domestic",
                "offence_date",
                "reported_date",
                "arrest_date",
                "charge_decision",
                "charge_decision_date",
                "outcome_code",
                "cps_review_date",
                "first_hearing_date",
                "verdict",
                "verdict_date",
                "sentence_type",
                "sentence_date",
                "custody_months",
                "reception_date",
                "release_date",
                "probation_start",
                "probation_end",
                "education_start",
                "education_end",
                "victims",
            ]
        )
        self.rows = {GROUND_TRUTH: 0, TRUTH_PEOPLE: 0, TRUTH_CASES: 0}

    def record(
        self, file: str, key: object, person_id: str, case_id: str, kinds: list[str]
    ) -> None:
        """The truth about one extract record."""
        self._ground.writerow([file, key, person_id, case_id, ";".join(kinds)])
        self.rows[GROUND_TRUTH] += 1

    def person(self, p: TruePerson) -> None:
        """One true person."""
        addresses = " | ".join(
            f"{a.since.isoformat()}: {a.one_line()} {a.postcode}" for a in p.addresses
        )
        self._people.writerow(
            [
                p.pid,
                p.sex,
                " ".join(p.forenames),
                p.surname,
                p.married_surname or "",
                _d(p.married_on),
                p.dob.isoformat(),
                p.origin,
                p.nhs,
                p.nino or "",
                p.pnc or "",
                p.cro or "",
                p.noms or "",
                p.crn or "",
                p.uln or "",
                p.cp_master_id or "",
                addresses,
            ]
        )
        self.rows[TRUTH_PEOPLE] += 1

    def case(self, case: TrueCase) -> None:
        """The true journey of each suspect of a case (one row for a case with none)."""
        victims = ";".join(v.person.pid for v in case.victims)
        common = [case.case_id]
        tail = [
            case.urn,
            case.force.code,
            case.offences[0].code,
            "Y" if case.domestic else "N",
            _d(case.offence_on),
            _d(case.reported_on),
        ]
        if not case.suspects:
            self._cases.writerow(
                [
                    *common,
                    "",
                    *tail,
                    "",
                    "",
                    _d(case.closed_on),
                    case.outcome_code,
                    *[""] * 13,
                    victims,
                ]
            )
            self.rows[TRUTH_CASES] += 1
        for path in case.suspects:
            first = path.hearings[0].day if path.hearings else None
            verdict = path.verdict_hearing
            sentence = path.sentence
            stay_in = path.stays[0].received_on if path.stays else None
            # The release into the community: transfers between prisons are not it, and a
            # release after recall comes later still.
            stay_out = next(
                (s.released_on for s in path.stays if s.release_type not in (None, "transfer")),
                None,
            )
            sup = path.supervisions
            courses = path.courses
            self._cases.writerow(
                [
                    *common,
                    path.person.pid,
                    *tail,
                    _d(path.arrested_on),
                    path.decision or "",
                    _d(path.decision_on),
                    path.outcome_code,
                    _d(path.review_on),
                    _d(first),
                    verdict.verdict or "" if verdict else "",
                    _d(verdict.day if verdict else None),
                    sentence.kind if sentence else "",
                    _d(sentence.on if sentence else None),
                    sentence.custody_months or "" if sentence else "",
                    _d(stay_in),
                    _d(stay_out),
                    _d(sup[0].start if sup else None),
                    _d(sup[-1].ended_on if sup else None),
                    _d(courses[0].start if courses else None),
                    _d(courses[-1].end if courses else None),
                    victims,
                ]
            )
            self.rows[TRUTH_CASES] += 1

    def close(self) -> None:
        """Flush and close the files."""
        for handle in self._files:
            handle.close()
