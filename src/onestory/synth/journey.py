"""A case's journey from report to sentence: police, CPS and courts, for each suspect.

The shape follows the attrition of real cases: most recorded crimes never see a charge; most
charged cases end in a conviction, by plea more often than by trial; of the convicted, a share go
to custody. Every date follows the one before it, and nothing happens after the world's end.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from onestory.domain.identifiers import mod23_check_char
from onestory.synth.cases import Alteration, Hearing, SuspectPath, TrueCase
from onestory.synth.custody import Aftercare
from onestory.synth.decisions import choose_sentence, decision_weights
from onestory.synth.identifiers import IdentifierMint, new_uuid
from onestory.synth.offences import OffenceType
from onestory.synth.organisations import COURTS, Force, police_code, witness_care_code
from onestory.synth.people import TruePerson
from onestory.synth.victims import VictimDesk, VictimRole

# Four-digit court numbers for court case references (CCRNs): our own, not official codes.
_COURT_NUMBER = {code: 2600 + i * 7 for i, code in enumerate(sorted(COURTS))}


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


class CaseBuilder:
    """Runs cases through police, CPS, courts and what follows a sentence."""

    def __init__(
        self, rng: random.Random, mint: IdentifierMint, desk: VictimDesk, *, until: date
    ) -> None:
        self._rng = rng
        self._mint = mint
        self._desk = desk
        self._until = until
        self._after = Aftercare(rng, mint, until=until)
        self._count = 0

    def build(
        self,
        *,
        force: Force,
        offences: list[OffenceType],
        offence_on: date,
        reported_on: date,
        suspects: list[TruePerson],
        victims: list[VictimRole],
        domestic: bool,
    ) -> TrueCase:
        """The journey of one recorded crime; ``reported_on`` must not be after the end."""
        rng = self._rng
        self._count += 1
        unit = rng.choice(force.units)
        address = (victims[0].person if victims else suspects[0]).address_at(offence_on)
        case = TrueCase(
            case_id=f"C{self._count:07d}",
            urn=self._mint.urn(force.code, unit, reported_on.year),
            force=force,
            unit=unit,
            offences=offences,
            offence_on=offence_on,
            reported_on=reported_on,
            reported_minute=rng.randrange(24 * 60),
            postcode=address.postcode if address.force == force.code else "",
            domestic=domestic,
            cps_area=rng.choice(force.cps_areas),
            victims=victims,
            suspects=[SuspectPath(person) for person in suspects],
        )
        if not suspects:
            self._close_without_suspect(case)
        for path in case.suspects:
            self._police(case, path)
            if path.decision == "charge":
                self._prosecute(case, path)
        self._notify_listings(case)
        return case

    def _tell(
        self, case: TrueCase, duty: str, owner: str, trigger: tuple[object, ...], on: date
    ) -> None:
        for victim in case.victims:
            case.notices.append(
                self._desk.notice(duty, victim, owner=owner, trigger=trigger, trigger_on=on)
            )

    def _close_without_suspect(self, case: TrueCase) -> None:
        closed = case.reported_on + _days(self._rng, 1, 75)
        if closed <= self._until:
            case.closed_on = closed
            case.outcome_code = "18"
            self._tell(case, "R6.2", police_code(case.force), ("closed",), closed)

    # --- police ------------------------------------------------------------------------------

    def _police(self, case: TrueCase, path: SuspectPath) -> None:
        rng, until, force = self._rng, self._until, case.force
        person = path.person
        main = case.offences[0]
        contact = case.reported_on + _days(rng, *rng.choice(((0, 2), (0, 2), (3, 30), (31, 120))))
        if contact > until:
            return
        if person.pnc is None:
            # Some have a record from before the world's window; the rest are new to the PNC.
            first = contact.year
            if rng.random() < 0.35 and person.age_on(contact) > 20:
                first = rng.randint(person.dob.year + 16, contact.year)
            person.pnc = self._mint.pnc(first)
            if first < contact.year and rng.random() < 0.6:
                person.cro = self._mint.cro(first)
        arrested = rng.random() < (0.95 if main.mode == "indictable" else 0.78)
        if arrested:
            path.arrested_on = contact
            path.arrest_minute = rng.randrange(24 * 60)
            path.asn = self._mint.asn(force.code, case.unit, contact.year)
        weights = decision_weights(main, person.age_on(case.offence_on), bool(case.victims))
        code = rng.choices(list(weights), list(weights.values()))[0]
        in_custody = arrested and code == "1" and rng.random() < 0.45
        decided = (
            contact
            if in_custody or (arrested and rng.random() < 0.25)
            else (contact + _days(rng, 7, 150))
        )
        if arrested:
            path.released_on = "under_investigation" if rng.random() < 0.6 else "bail"
            if decided == contact:
                path.released_on = "charged" if code == "1" else "no_further_action"
                if code in ("2", "3", "8"):
                    path.released_on = "bail"
            self._tell(case, "R6.1", police_code(force), ("arrest", id(path)), contact)
        path.free_from = contact
        if decided > until:
            return
        path.outcome_code = code
        path.decision = {
            "1": "charge",
            "2": "caution",
            "3": "caution",
            "8": "community_resolution",
        }.get(code, "no_further_action")
        path.decision_on = decided
        path.decision_minute = (
            path.arrest_minute if decided == contact else rng.randrange(8 * 60, 20 * 60)
        )
        cps_decides = code == "1" and (
            main.mode == "indictable" or (main.mode == "either_way" and rng.random() < 0.6)
        )
        path.decided_by = case.cps_area if cps_decides else police_code(force)
        path.free_from = decided
        if code == "1":
            path.charges = [o.code for o in case.offences]
            if path.asn is None:
                path.asn = self._mint.asn(force.code, case.unit, decided.year)
        self._tell(case, "R6.3", police_code(force), ("decision", id(path)), decided)

    # --- CPS and courts ----------------------------------------------------------------------

    def _prosecute(self, case: TrueCase, path: SuspectPath) -> None:
        rng, until = self._rng, self._until
        assert path.decision_on is not None
        charged = path.decision_on
        main = case.offences[0]
        path.review_on = charged + _days(rng, 1, 28)
        if case.prosecution_id is None:
            case.prosecution_id = new_uuid(rng)
        path.defendant_id = new_uuid(rng)
        person = path.person
        if person.cp_master_id is None:
            person.cp_master_id = new_uuid(rng)
        path.master_id = person.cp_master_id
        if path.review_on <= until and rng.random() < 0.1 and main.lesser:
            self._alter(
                case,
                path,
                Alteration(
                    path.review_on,
                    "charges_altered",
                    main.code,
                    main.lesser,
                    "evidence supports a lesser charge",
                ),
            )
            path.charges[0] = main.lesser
            path.cps_status = "charges_altered"
        elif path.review_on <= until and len(path.charges) > 1 and rng.random() < 0.3:
            dropped = path.charges.pop()
            self._alter(
                case,
                path,
                Alteration(
                    path.review_on, "dropped", dropped, None, "no realistic prospect of conviction"
                ),
            )
            path.cps_status = "charges_altered"
        remand_risk = {"indictable": 0.55, "either_way": 0.12, "summary": 0.02}[main.mode]
        remanded = charged == path.arrested_on and rng.random() < remand_risk * 1.8
        first_day = charged + (_days(rng, 1, 3) if remanded else _days(rng, 14, 42))
        magistrates = rng.choice(case.force.magistrates)
        crown = rng.choice(case.force.crown)
        first = self._listing(path, "first_appearance", magistrates, charged, first_day)
        if rng.random() < 0.07:
            on = path.review_on + _days(rng, 5, 120)
            if on <= until:
                self._alter(
                    case,
                    path,
                    Alteration(on, "discontinued", path.charges[0], None, "insufficient evidence"),
                )
                path.cps_status = "discontinued"
                if on <= first.day:
                    path.hearings.pop()
                    path.free_from = on
                    return
                first.result = "Adjourned"
                ended = self._listing(path, "plea", magistrates, first.day, on)
                first.next_hid = ended.hid
                self._record_results(path, "none", "withdrawn", ended, "Withdrawn: discontinued")
                self._conclude(case, path, ended, convicted=None, verdict="withdrawn")
                return
        if not first.resulted_by(until):
            return
        first.remanded = remanded and main.mode != "summary"
        if first.remanded:
            self._after.remand(path, case.force, first.day)
        guilty_first = (
            rng.random() < {"indictable": 0.2, "either_way": 0.6, "summary": 0.65}[main.mode]
        )
        to_crown = main.mode == "indictable" or (main.mode == "either_way" and rng.random() < 0.2)
        court = crown if to_crown else magistrates
        if guilty_first and not to_crown:
            self._record_results(path, "guilty", "convicted", first, "Convicted on guilty plea")
            self._sentence_stage(case, path, first, court, same_day=rng.random() < 0.55)
            return
        if to_crown:
            first.result = "Sent to the Crown Court"
            ptph = self._listing(path, "plea", crown, first.day, first.day + _days(rng, 21, 35))
            first.next_hid = ptph.hid
            if not ptph.resulted_by(until):
                return
            if rng.random() < 0.4:
                self._record_results(path, "guilty", "convicted", ptph, "Convicted on guilty plea")
                self._sentence_stage(case, path, ptph, crown, same_day=rng.random() < 0.3)
                return
            ptph.plea = "not_guilty"
            self._trial(case, path, ptph, crown, (120, 540))
            return
        first.plea = "not_guilty"
        self._trial(case, path, first, court, (42, 200))

    def _trial(
        self, case: TrueCase, path: SuspectPath, before: Hearing, court: str, wait: tuple[int, int]
    ) -> None:
        rng, until = self._rng, self._until
        before.result = before.result or "Not guilty plea entered; trial listed"
        on_remand = bool(path.stays) and path.stays[-1].released_on is None
        if on_remand and rng.random() < 0.35:
            bail = self._listing(path, "bail", court, before.day, before.day + _days(rng, 7, 40))
            before.next_hid = bail.hid
            if not bail.resulted_by(until):
                return
            bail.result = "Bail granted"
            self._after.bail(path, bail.day)
            before = bail
        trial = self._listing(path, "trial", court, before.day, before.day + _days(rng, *wait))
        before.next_hid = trial.hid
        if rng.random() < 0.15:
            trial.result = "Vacated: trial relisted"
            relisted = self._listing(
                path, "trial", court, trial.listed_on, trial.day + _days(rng, 28, 150)
            )
            trial.next_hid = relisted.hid
            if not trial.resulted_by(until):
                return
            trial = relisted
        if not trial.resulted_by(until):
            return
        roll = rng.random()
        if roll < 0.2:
            self._record_results(
                path, "guilty", "convicted", trial, "Guilty plea on the day of trial"
            )
            self._sentence_stage(case, path, trial, court, same_day=rng.random() < 0.4)
        elif roll < 0.28:
            self._alter(
                case,
                path,
                Alteration(
                    trial.day,
                    "no_evidence_offered",
                    path.charges[0],
                    None,
                    "key witness did not attend",
                ),
            )
            path.cps_status = "no_evidence_offered"
            self._record_results(path, "not_guilty", "dismissed", trial, "No evidence offered")
            self._conclude(case, path, trial, convicted=False, verdict="dismissed")
        elif roll < 0.28 + 0.72 * (0.58 if court.endswith("CC") else 0.62):
            self._record_results(path, "not_guilty", "convicted", trial, "Found guilty after trial")
            self._sentence_stage(case, path, trial, court, same_day=rng.random() < 0.35)
        else:
            self._record_results(path, "not_guilty", "acquitted", trial, "Acquitted after trial")
            self._conclude(case, path, trial, convicted=False, verdict="acquitted")

    def _sentence_stage(
        self, case: TrueCase, path: SuspectPath, verdict: Hearing, court: str, *, same_day: bool
    ) -> None:
        rng = self._rng
        self._conclude(case, path, verdict, convicted=True, verdict="convicted")
        hearing = verdict
        if not same_day:
            verdict.result += "; adjourned for a pre-sentence report"
            hearing = self._listing(
                path, "sentence", court, verdict.day, verdict.day + _days(rng, 21, 49)
            )
            verdict.next_hid = hearing.hid
            if not hearing.resulted_by(self._until):
                return
        sentence = choose_sentence(rng, case.offences[0], path.person.convictions, hearing, court)
        path.sentence = sentence
        hearing.result = hearing.result + "; sentenced" if hearing is verdict else "Sentenced"
        path.person.convictions += 1
        self._tell(case, "R9.2", witness_care_code(case.force), ("sentence", id(path)), sentence.on)
        self._after.after_sentence(path, case.force, sentence, serious=case.offences[0].serious)

    def _conclude(
        self,
        case: TrueCase,
        path: SuspectPath,
        hearing: Hearing,
        *,
        convicted: bool | None,
        verdict: str,
    ) -> None:
        path.convicted = convicted
        path.verdict_hearing = hearing
        path.free_from = hearing.day
        if convicted:
            yy = hearing.day.year % 100
            number = _COURT_NUMBER.get(hearing.court, 2600)
            serial = self._rng.randrange(1, 999_999)
            path.ccrn = f"{yy:02d}/{number:04d}/{serial:06d}" + mod23_check_char(
                int(f"{yy:02d}{number:04d}{serial:06d}")
            )
        if not convicted and path.stays and path.stays[-1].released_on is None:
            self._after.bail(path, hearing.day)
        if verdict in ("convicted", "acquitted", "dismissed"):
            self._tell(
                case, "R9.1", witness_care_code(case.force), ("verdict", id(path)), hearing.day
            )

    def _alter(self, case: TrueCase, path: SuspectPath, alteration: Alteration) -> None:
        path.alterations.append(alteration)
        key = ("alteration", id(path), len(path.alterations) - 1)
        self._tell(case, "R6.4", case.cps_area, key, alteration.on)

    def _listing(
        self, path: SuspectPath, kind: str, court: str, listed_on: date, day: date
    ) -> Hearing:
        rng = self._rng
        hearing = Hearing(
            new_uuid(rng),
            kind,
            court,
            listed_on,
            rng.randrange(8 * 60, 18 * 60),
            day,
            rng.choice((600, 600, 630, 690, 840)),
        )
        path.hearings.append(hearing)
        return hearing

    def _record_results(
        self, path: SuspectPath, plea: str, verdict: str | None, hearing: Hearing, text: str
    ) -> None:
        hearing.plea = plea
        hearing.verdict = verdict
        hearing.result = text
        path.results = [(code, plea, verdict) for code in path.charges]

    def _notify_listings(self, case: TrueCase) -> None:
        for path in case.suspects:
            for hearing in path.hearings:
                if hearing.listed_on <= self._until:
                    self._tell(
                        case,
                        "R8.2",
                        witness_care_code(case.force),
                        ("listed", id(path), hearing.hid),
                        hearing.listed_on,
                    )
