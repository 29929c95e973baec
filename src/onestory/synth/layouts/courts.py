"""The courts extract (courts.json), shaped like HMCTS Common Platform prosecution cases.

Each defendant carries Common Platform's ``masterDefendantId``: the same UUID for the same person
across their cases, as far as Common Platform knows them, which now and then it does not (the
``split_identity`` noise gives a known person a new one).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from onestory.synth.calendar import stamp
from onestory.synth.cases import SuspectPath, TrueCase
from onestory.synth.identifiers import new_uuid
from onestory.synth.layouts.jsonfile import JsonArrayOut
from onestory.synth.layouts.truth import TruthOut
from onestory.synth.noise import Noiser
from onestory.synth.offences import OFFENCE_BY_CODE
from onestory.synth.organisations import COURTS

COURTS_FILE = "courts.json"
HEARING_TYPES = {
    "first_appearance": "First hearing",
    "plea": "Plea and Trial Preparation",
    "bail": "Bail Application",
    "trial": "Trial",
    "sentence": "Sentence",
    "appeal": "Appeal",
}
_PLEA = {"guilty": "GUILTY", "not_guilty": "NOT_GUILTY", "none": None}
_VERDICT = {
    "convicted": "GUILTY",
    "acquitted": "NOT_GUILTY",
    "dismissed": "DISMISSED",
    "withdrawn": "WITHDRAWN",
}


class CourtsExtract:
    """Writes courts.json: ``{"prosecutionCases": [...]}``."""

    def __init__(self, out_dir: Path, noise: Noiser, truth: TruthOut, *, until: date) -> None:
        self._out = JsonArrayOut(
            out_dir / COURTS_FILE, prefix='{"prosecutionCases":[\n', suffix="\n]}\n"
        )
        self._noise = noise
        self._truth = truth
        self._until = until
        self.rows = 0

    def write(self, case: TrueCase) -> None:
        """The prosecution case of one case, if any defendant reached court."""
        paths = [p for p in case.suspects if p.defendant_id and p.hearings]
        if not paths:
            return
        defendants: list[dict[str, Any]] = []
        hearings: list[dict[str, Any]] = []
        truths: list[tuple[str, list[str]]] = []
        for path in paths:
            kinds: list[str] = []
            defendants.append(self._defendant(path, kinds))
            hearings.extend(self._hearings(path))
            truths.append((path.person.pid, kinds))
        hearings.sort(key=lambda h: h["sittingDay"])
        index = self._out.write(
            {
                "id": case.prosecution_id,
                "prosecutionCaseIdentifier": {
                    "caseURN": case.urn,
                    "prosecutionAuthorityCode": "CPS",
                },
                "initiationCode": "C",
                "defendants": defendants,
                "hearings": hearings,
            }
        )
        for j, (pid, kinds) in enumerate(truths):
            self._truth.record(
                COURTS_FILE, f"/prosecutionCases/{index}/defendants/{j}", pid, case.case_id, kinds
            )
            self.rows += 1

    def _defendant(self, path: SuspectPath, kinds: list[str]) -> dict[str, Any]:
        noise, rng = self._noise, self._noise.rng
        person = path.person
        day = path.hearings[0].day
        forename, middle, surname = noise.name(person, day, kinds)
        forename, surname = noise.messy(kinds, [forename, surname])
        address = noise.address(person, min(day, self._until), kinds)
        postcode = address.postcode
        dob = noise.dob(person.dob, kinds).isoformat()
        blank = noise.blank(kinds, 2)
        if blank == 0:
            dob = ""
        elif blank == 1:
            postcode = ""
        master = path.master_id
        if noise.hit("split_identity", kinds):
            master = new_uuid(rng)
        ids = noise.identifiers(
            kinds,
            {
                "PNC": person.pnc if person.pnc and rng.random() < 0.75 else "",
                "ASN": path.asn or "",
            },
        )
        lines = [*address.lines, address.town]
        results = {code: (plea, verdict) for code, plea, verdict in path.results}
        offences = []
        for code in path.charges:
            plea, verdict = results.get(code, ("none", None))
            offences.append(
                {
                    "offenceCode": code,
                    "offenceTitle": OFFENCE_BY_CODE[code].title,
                    "plea": _PLEA[plea],
                    "verdict": _VERDICT.get(verdict or ""),
                }
            )
        defendant: dict[str, Any] = {
            "id": path.defendant_id,
            "masterDefendantId": master,
            "personDefendant": {
                "personDetails": {
                    "firstName": forename,
                    "middleName": middle or None,
                    "lastName": surname,
                    "dateOfBirth": dob or None,
                    "gender": "MALE" if person.sex == "M" else "FEMALE",
                    "address": {f"address{i + 1}": line for i, line in enumerate(lines[:5])}
                    | {"postcode": postcode or None},
                }
            },
            "pncId": ids["PNC"] or None,
            "arrestSummonsNumber": ids["ASN"] or None,
            "offences": offences,
            "sentences": [],
        }
        if path.sentence:
            s = path.sentence
            defendant["sentences"].append(
                {
                    "type": s.kind.upper(),
                    "imposedOn": stamp(s.on, s.minute),
                    "court": s.court,
                    "custodyMonths": s.custody_months,
                    "communityMonths": s.community_months,
                    "finePounds": s.fine_pounds,
                }
            )
        return defendant

    def _hearings(self, path: SuspectPath) -> list[dict[str, Any]]:
        out = []
        for h in path.hearings:
            results = []
            if h.resulted_by(self._until):
                results.append(
                    {
                        "defendantId": path.defendant_id,
                        "resultText": h.result or "Adjourned",
                        "plea": _PLEA.get(h.plea or "none"),
                        "verdict": _VERDICT.get(h.verdict or ""),
                        "remandedInCustody": h.remanded,
                    }
                )
            out.append(
                {
                    "id": h.hid,
                    "type": HEARING_TYPES[h.kind],
                    "courtCentre": {"code": h.court, "name": COURTS[h.court]},
                    "sittingDay": stamp(h.day, h.minute),
                    "defendantIds": [path.defendant_id],
                    "results": results,
                }
            )
        return out

    def close(self) -> None:
        """Close the file."""
        self._out.close()
