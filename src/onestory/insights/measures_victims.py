"""Measures of how the Victims' Code is delivered, from the ``duties`` table (``insights.duties``).

The Victims and Prisoners Act 2024 (ss6-12) asks each criminal-justice body to collect how it
delivers the Code and the Secretary of State to publish compliance so the public can judge each
body: this measure is that figure, by duty, body, police area and month, for victims with
enhanced and with standard rights.
"""

from __future__ import annotations

from onestory.insights.engine import Measure, register

COMPLIANCE = register(
    Measure(
        id="victims-code-compliance",
        title="Victims' Code compliance",
        definition=(
            "Duties the Code of Practice for Victims of Crime places on an organisation to do "
            "something for a victim within a time limit (for example, to tell the victim within "
            "5 working days that a suspect was charged, or 1 working day for victims entitled to "
            "enhanced rights), and whether each was met on time. A duty starts when the event "
            "behind it happens, such as an arrest, a charging decision or a hearing being listed, "
            "and is counted once for each victim of the case. It is met when the organisation "
            "records that it told the victim about that event. Time limits count working days in "
            "England and Wales (not weekends or bank holidays) and end at the end of the last "
            "day. Duties with a limit agreed with the victim are not counted. Duties from "
            "victims' own stories (Tell us once) are included. Overdue and pending are judged at "
            "the moment the data was taken."
        ),
        dimensions=("duty", "owner_code", "police_area", "month", "rights"),
        counts=("started", "met_on_time", "met_late", "overdue", "pending"),
        statistics=("on_time_rate",),
        basis="started",
        rates=("on_time_rate",),
        columns={
            "duty": (
                "The Victims' Code duty, by its id in OneStory's rules files: R6.1 tell the "
                "victim of an arrest, interview, bail or release; R6.3 of a charge, caution or no "
                "further action; R6.4 of a charge dropped or changed or the case stopped; R8.1 "
                "tell the Witness Care Unit a hearing's outcome; R8.2 tell the victim when and "
                "where a hearing is; R9.1 tell the victim the case's outcome; R9.2 tell the "
                "victim the sentence; R11.1 refer the victim to the Victim Contact Scheme; R11.2 "
                "the scheme contacts the victim"
            ),
            "owner_code": (
                "The code of the organisation that owes the duty (see the organisations list); "
                "empty where no organisation of the right kind is known for the area"
            ),
            "police_area": (
                "The police force area of the case, by its two-digit force code; empty where it "
                "is not known"
            ),
            "month": "The month the duty started, as its first day (YYYY-MM-DD)",
            "rights": (
                "'enhanced' for victims entitled to enhanced rights (victims of the most serious "
                "crime, persistently targeted or vulnerable or intimidated victims, including "
                "everyone under 18), otherwise 'standard'"
            ),
            "started": "Duties that started in the month: the total of the four columns after it",
            "met_on_time": "Duties met by the end of the last working day allowed",
            "met_late": "Duties met, but after the time limit",
            "overdue": "Duties not met, whose time limit had passed when the data was taken",
            "pending": "Duties not yet met, whose time limit had not yet passed",
            "on_time_rate": (
                "Duties met on time as a share of duties started (0 to 1); pending duties count "
                "as not yet met on time"
            ),
        },
        portable=True,
        chart_by="duty",
        chart_value="on_time_rate",
        filters=("police_area", "month"),
        notes=(
            "The police's duty to tell a victim the crime will not be investigated (R6.2) is not "
            "counted: no agency feed records that decision as an event yet.",
            "Duties whose completion no feed records (a victim contacted by the Victim Contact "
            "Scheme, R11.2) show as overdue: the data cannot show them met.",
            "The court's duty to tell the Witness Care Unit a hearing's outcome (R8.1) is met "
            "when OneStory received the court's record, since OneStory tells the unit; records "
            "loaded long after the hearing therefore show it met late.",
            "Duties from Tell us once stories and from agencies' events are both counted, so a "
            "victim who told their story through OneStory may be counted twice for one duty.",
        ),
    )
)
