"""Learning in custody and what the data records after release.

The insights issue asks whether learning completed in custody goes with better outcomes after
release. This measure is the set-wise, aggregated form of what ``passport.learning`` gives per
person: SQL over the snapshot, with people as the person index links them. An event's person is
found through the identifiers it carries (PNC ID, prison number, ULN...) as the linked agency
records hold them, so a release (prison event), a qualification (education record and its
passport credential) and a later arrest (police event) meet in one person.

Of the outcomes the issue names, only further offending is in the data. Employment after release
is not recorded by any agency feed, so the measure has no employment column rather than one that
would always read zero.
"""

from __future__ import annotations

from onestory.insights.engine import Measure, register

LEARNING_OUTCOMES = register(
    Measure(
        id="learning-outcomes",
        title="Learning in custody and further offending after release",
        definition=(
            "People released from prison, by the year of release and whether they had "
            "completed a qualification in custody, and how many were suspects in a crime "
            "committed within 12 months of release. A release is a prison's record that the "
            "person left custody (not a transfer between prisons); a person counts once a year, "
            "at their first release that year. Only releases at least 12 months before the day "
            "the data runs to are counted, so everyone counted was followed for a full year. "
            "'Completed a qualification in custody' means a skills passport credential, not "
            "revoked, for a course recorded by a prison education provider and awarded on or "
            "before the release. Further offending means the police arrested the person, or "
            "made a charging decision about them, for a crime committed after the release and "
            "within 12 months of it: a suspect, not necessarily convicted. People are found "
            "through OneStory's person index, so a record it could not link is missed. "
            "Employment after release is not recorded in the data and is not shown."
        ),
        dimensions=("release_year", "learning"),
        counts=("people_released", "further_offending_12m"),
        columns={
            "release_year": "The year of release",
            "learning": "'completed a qualification in custody' or 'none'",
            "people_released": "People released in the year (each once)",
            "further_offending_12m": (
                "Of those, people who were suspects (arrested or given a charging decision) in "
                "a crime committed within 12 months after release"
            ),
        },
        chart_by="release_year",
        chart_value="people_released",
        filters=("learning",),
        public=True,
        notes=(
            "Employment after release is not in any agency's data, so it is not shown.",
            "Groups are small; disclosure control suppresses any count under the threshold.",
        ),
    )
)
