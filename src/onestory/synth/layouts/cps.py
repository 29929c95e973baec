"""The CPS extract (cps.json): one case file per URN, camelCase, ISO dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from onestory.synth.cases import TrueCase
from onestory.synth.layouts.jsonfile import JsonArrayOut
from onestory.synth.layouts.truth import TruthOut
from onestory.synth.noise import Noiser
from onestory.synth.offences import OFFENCE_BY_CODE

CPS_FILE = "cps.json"


class CpsExtract:
    """Writes cps.json: the case files of every case charged."""

    def __init__(self, out_dir: Path, noise: Noiser, truth: TruthOut, *, until: date) -> None:
        self._out = JsonArrayOut(out_dir / CPS_FILE)
        self._noise = noise
        self._truth = truth
        self._until = until
        self.rows = 0  # defendant records: the ground truth's unit for this file

    def write(self, case: TrueCase) -> None:
        """The case file of one case, if anyone in it was charged."""
        charged = [
            p
            for p in case.suspects
            if p.decision == "charge" and p.review_on is not None and p.review_on <= self._until
        ]
        if not charged:
            return
        noise = self._noise
        defendants: list[dict[str, Any]] = []
        alterations: list[dict[str, Any]] = []
        kinds_by_defendant: list[tuple[str, list[str]]] = []
        for path in charged:
            person = path.person
            assert path.decision_on is not None
            kinds: list[str] = []
            forename, middle, surname = noise.name(person, path.decision_on, kinds)
            forename, surname = noise.messy(kinds, [forename, surname])
            dob = noise.dob(person.dob, kinds)
            asn = noise.identifiers(kinds, {"ASN": path.asn or ""})["ASN"]
            altered = {a.offence: a for a in path.alterations}
            charges = []
            for code in dict.fromkeys([o.code for o in case.offences]):
                change = altered.get(code)
                status = (
                    {"charges_altered": "altered", "dropped": "dropped"}.get(
                        change.kind, "proceeding"
                    )
                    if change
                    else "proceeding"
                )
                charges.append(
                    {
                        "offenceCode": code,
                        "description": OFFENCE_BY_CODE[code].title,
                        "status": status,
                    }
                )
            defendants.append(
                {
                    "forename": forename,
                    "middleNames": middle or None,
                    "surname": surname,
                    "dateOfBirth": None if noise.blank(kinds, 1) == 0 else dob.isoformat(),
                    "asn": asn or None,
                    "chargedOn": path.decision_on.isoformat(),
                    "charges": charges,
                }
            )
            for a in path.alterations:
                alterations.append(
                    {
                        "date": a.on.isoformat(),
                        "type": a.kind,
                        "defendantAsn": path.asn,
                        "offenceCode": a.offence,
                        "newOffenceCode": a.new_offence,
                        "reason": a.reason,
                    }
                )
            kinds_by_defendant.append((person.pid, kinds))
        first = charged[0]
        index = self._out.write(
            {
                "urn": case.urn,
                "cpsArea": case.cps_area,
                "policeForce": case.force.code,
                "reviewDate": min(p.review_on for p in charged if p.review_on).isoformat(),
                "status": first.cps_status,
                "defendants": defendants,
                "alterations": alterations,
            }
        )
        for j, (pid, kinds) in enumerate(kinds_by_defendant):
            self._truth.record(CPS_FILE, f"/{index}/defendants/{j}", pid, case.case_id, kinds)
            self.rows += 1

    def close(self) -> None:
        """Close the file."""
        self._out.close()
