"""The events feed (events.jsonl): every journey as common-model event envelopes.

Agencies' event feeds are validated at source, so events carry clean canonical identifiers and
no noise. Victims' Code notices become ``witness_care.victim.informed`` events pointing at the
event that started the clock, and each duty's true timing goes to victims_code.csv, so
compliance figures computed from the events can be checked against the truth.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path
from typing import Any

from onestory.synth.calendar import stamp
from onestory.synth.cases import TrueCase
from onestory.synth.identifiers import new_uuid
from onestory.synth.layouts.event_payloads import (
    EventSpec,
    court_events,
    cps_events,
    crime_recorded,
    custody_events,
    police_events,
    ref,
)
from onestory.synth.layouts.jsonfile import JsonLinesOut
from onestory.synth.layouts.truth import TruthOut

EVENTS_FILE = "events.jsonl"
DUTIES_FILE = "victims_code.csv"
DUTIES_HEADER = [
    "victim_id", "person_id", "case_id", "urn", "duty", "owner", "enhanced", "trigger_event_id",
    "trigger_date", "due_date", "informed_event_id", "informed_date", "working_days", "outcome",
]  # fmt: skip


class EventsOut:
    """Writes events.jsonl and victims_code.csv."""

    def __init__(self, out_dir: Path, truth: TruthOut, rng: random.Random, *, until: date) -> None:
        self._out = JsonLinesOut(out_dir / EVENTS_FILE)
        self._duties_file = (out_dir / DUTIES_FILE).open("w", encoding="utf-8", newline="")
        self._duties = csv.writer(self._duties_file, lineterminator="\n")
        self._duties.writerow(DUTIES_HEADER)
        self._truth = truth
        self._rng = rng  # its own stream, so event ids do not move when anything else changes
        self._until = until
        self.duty_rows = 0

    @property
    def rows(self) -> int:
        """Events written."""
        return self._out.lines

    def write(self, case: TrueCase) -> None:
        """All events of one case, then the Victims' Code notices that follow them."""
        triggers: dict[tuple[object, ...], tuple[str, date, int]] = {}
        self._emit(case, crime_recorded(case), triggers)
        for path in case.suspects:
            for spec in police_events(case, path):
                self._emit(case, spec, triggers)
        for spec in cps_events(case, self._until):
            self._emit(case, spec, triggers)
        for path in case.suspects:
            for spec in court_events(case, path, self._until):
                self._emit(case, spec, triggers)
            for spec in custody_events(path):
                self._emit(case, spec, triggers)
        self._notices(case, triggers)

    def _emit(
        self,
        case: TrueCase,
        spec: EventSpec,
        triggers: dict[tuple[object, ...], tuple[str, date, int]],
    ) -> str:
        event_id = new_uuid(self._rng)
        event: dict[str, Any] = {
            "id": event_id,
            "eventType": spec.kind,
            "version": 1,
            "occurredAt": stamp(spec.day, spec.minute),
            "assertedBy": spec.by,
        }
        if spec.ids:
            event["personReference"] = {"identifiers": [ref(t, v) for t, v in spec.ids]}
        event["caseReferences"] = spec.refs if spec.refs is not None else [ref("URN", case.urn)]
        event["payload"] = spec.payload
        line = self._out.write(event)
        self._truth.record(EVENTS_FILE, line, spec.pid, case.case_id, [])
        if spec.trigger is not None:
            triggers[spec.trigger] = (event_id, spec.day, spec.minute)
        return event_id

    def _notices(
        self, case: TrueCase, triggers: dict[tuple[object, ...], tuple[str, date, int]]
    ) -> None:
        for n in case.notices:
            found = triggers.get(n.trigger)
            trigger_id = found[0] if found else ""
            informed_id = ""
            if n.informed_on is not None and found is not None:
                minute = n.minute
                if n.informed_on == found[1]:  # told the same day: never before it happened
                    minute = max(minute, min(found[2] + 30, 23 * 60 + 59))
                informed = {
                    "duty": n.duty,
                    "aboutEventId": trigger_id,
                    "channel": n.channel,
                    "informedAt": stamp(n.informed_on, minute),
                }
                victim = n.victim.person
                spec = EventSpec("witness_care.victim.informed", n.informed_on, minute, n.owner,
                                 [("NHS", victim.nhs)], informed, victim.pid)  # fmt: skip
                informed_id = self._emit(case, spec, triggers)
            self._duties.writerow([
                n.victim.victim_id, n.victim.person.pid, case.case_id, case.urn, n.duty, n.owner,
                "Y" if n.victim.enhanced else "N", trigger_id, n.trigger_on.isoformat(),
                n.due.isoformat(), informed_id,
                n.informed_on.isoformat() if informed_id and n.informed_on else "",
                n.working_days if informed_id else "", n.outcome if found else "never",
            ])  # fmt: skip
            self.duty_rows += 1

    def close(self) -> None:
        """Close both files."""
        self._out.close()
        self._duties_file.close()
