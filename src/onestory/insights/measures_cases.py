"""Measures of how cases move through the system: timeliness, caseload, hearings and attrition.

Each is SQL over the snapshot's ``events`` (the common-model envelopes agencies send) joined to
``organisations`` for names. A charged defendant is followed by the ASN (Arrest/Summons Number)
the charge carries, which the courts' events repeat among their case references: that is how a
charge, its hearings and its sentence are put together without any personal data. Dates are the
calendar dates in England and Wales that the events state (their local time), so "days" are
calendar days as a victim or defendant would count them.

Offence groups are the ONS offence groups of police recorded crime, written into the SQL as a
``CASE`` over the CJS offence codes of ``onestory.synth.offences``; a test keeps the two the same.
"""

from __future__ import annotations

from onestory.insights.engine import Measure, register

POLICE_AREA = (
    "The police force area where the crime was recorded, named by its force; 'unknown' where the "
    "crime's record is not in the data"
)

TIMELINESS = register(
    Measure(
        id="timeliness",
        title="Time from offence to charge, to first hearing and to completion",
        definition=(
            "How long charged cases take, in calendar days, at three stages: from the offence "
            "(the day the first offence of the crime was committed) to the charge; from the "
            "charge to the first hearing that has taken place; and from that first hearing to "
            "completion, which is the sentence for a defendant convicted and sentenced, or the "
            "verdict that ended the case otherwise (acquitted, dismissed, or withdrawn). A case "
            "is one charged defendant of one recorded crime. A defendant convicted but not yet "
            "sentenced, or whose first hearing has not yet taken place, is not counted at the "
            "stages they have not finished. The middle value (median) and the 90th percentile "
            "(nine in ten cases took this long or less) are shown for each offence group and "
            "police area."
        ),
        dimensions=("stage", "offence_group", "police_area"),
        counts=("cases",),
        statistics=("median_days", "p90_days"),
        basis="cases",
        totals=False,
        columns={
            "stage": (
                "'offence to charge', 'charge to first hearing' or 'first hearing to completion'"
            ),
            "offence_group": (
                "The ONS offence group of the crime's main (first) offence, such as 'violence "
                "against the person' or 'theft offences'; 'other offences' for a code outside "
                "the list"
            ),
            "police_area": POLICE_AREA,
            "cases": "Charged defendants who completed the stage",
            "median_days": "The median number of calendar days the stage took (half took less)",
            "p90_days": (
                "The 90th percentile of calendar days the stage took (nine in ten took this long "
                "or less), interpolated between cases"
            ),
        },
        chart_by="stage",
        chart_value="median_days",
        filters=("police_area", "offence_group"),
        notes=(
            "Charges are counted from police charging decisions (police.charge.decided); a "
            "crime with two defendants counts twice.",
        ),
    )
)

CASELOAD = register(
    Measure(
        id="caseload",
        title="Open cases by stage and age",
        definition=(
            "Cases still open on the day the data runs to (the day of the newest event), by the "
            "stage they had reached and how long ago the crime was reported. A case is one "
            "suspect of one recorded crime, known by the Arrest/Summons Number given when they "
            "were arrested or charged. Under investigation: arrested, with no charging decision "
            "yet. Charged, awaiting first hearing: charged, and no hearing has yet taken place. "
            "In court: at least one hearing has taken place but there is no verdict. Convicted, "
            "awaiting sentence: convicted, not yet sentenced. A case closes with a charging "
            "decision other than charge (caution, community resolution, no further action), a "
            "sentence, an acquittal, dismissal or withdrawal, or the prosecution being "
            "discontinued. Crimes where no suspect has been identified, and suspects who were "
            "not arrested and are still awaiting a decision, leave no event to count and are "
            "not included."
        ),
        dimensions=("stage", "age_band", "police_area"),
        counts=("cases",),
        columns={
            "stage": (
                "'under investigation', 'charged, awaiting first hearing', 'in court' or "
                "'convicted, awaiting sentence'"
            ),
            "age_band": (
                "Days since the crime was reported: '0 to 3 months' (up to 91 days), '3 to 6 "
                "months' (up to 182), '6 to 12 months' (up to 365) or '12 months or more'"
            ),
            "police_area": POLICE_AREA,
            "cases": "Open cases (suspects of a crime) at that stage and age",
        },
        chart_by="stage",
        chart_value="cases",
        filters=("police_area", "age_band"),
    )
)

HEARINGS = register(
    Measure(
        id="hearings",
        title="Hearings listed and their outcomes",
        definition=(
            "Every court hearing listed, counted once, by the month it was listed to take "
            "place, the court, and what the court recorded when it resulted the hearing: a "
            "verdict (convicted, acquitted, dismissed, withdrawn), adjourned or sent to a "
            "further hearing (including cases sent to the Crown Court and trials relisted), "
            "sentenced (a sentencing hearing), or not yet heard (listed, with no result yet)."
        ),
        dimensions=("month", "court", "outcome"),
        counts=("hearings",),
        columns={
            "month": (
                "The month the hearing was listed to take place, as its first day (YYYY-MM-DD)"
            ),
            "court": "The court, by its name (or its code where the name is not known)",
            "outcome": (
                "'convicted', 'acquitted', 'dismissed', 'withdrawn', 'adjourned or sent to a "
                "further hearing', 'sentenced', 'concluded without a verdict' or 'not yet heard'"
            ),
            "hearings": "Hearings listed",
        },
        chart_by="month",
        chart_value="hearings",
        filters=("court", "month"),
    )
)

ATTRITION = register(
    Measure(
        id="attrition",
        title="Cases where the victim withdrew support",
        definition=(
            "Recorded crimes with a victim that reached a police charging decision, and how "
            "many of them ended because the victim did not support further action (the Home "
            "Office outcome 16: evidential difficulties, victim does not support action; and "
            "outcome 14 where the data gives the outcome code). A crime is counted once, in the "
            "year of its first charging decision, and as withdrawn if any suspect's decision "
            "gave that reason. Only the stage before charge is shown: after a charge, the "
            "prosecution's records give the reason a case was dropped (such as insufficient "
            "evidence or a witness not attending) but do not say whether the victim withdrew, "
            "so the data cannot show attrition after charge."
        ),
        dimensions=("stage", "police_area", "year"),
        counts=("cases", "withdrawn"),
        statistics=("withdrawn_rate",),
        basis="cases",
        rates=("withdrawn_rate",),
        columns={
            "stage": "'pre-charge': before a charge was decided",
            "police_area": POLICE_AREA,
            "year": "The year of the crime's first charging decision",
            "cases": "Recorded crimes with a victim that had a charging decision in the year",
            "withdrawn": "Of those, crimes where the victim did not support further action",
            "withdrawn_rate": "Withdrawn as a share of cases (0 to 1)",
        },
        chart_by="year",
        chart_value="withdrawn_rate",
        filters=("police_area", "year"),
    )
)
