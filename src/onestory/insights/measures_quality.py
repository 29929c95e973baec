"""Data quality, for agencies to see and fix their own data.

One long table (agency extract, check, detail) so every kind of problem is a row an agency can
filter to: rows quarantined by the field or reason the ingest named, the share of records the
person index linked to a person, and how complete each identifier is. It is public: an agency's
data quality is about its systems, not about people, and publishing it is what gets it fixed.
"""

from __future__ import annotations

from onestory.insights.engine import Measure, register

DATA_QUALITY = register(
    Measure(
        id="data-quality",
        title="Data quality by agency",
        definition=(
            "How good each agency's data is when it reaches OneStory, for each agency extract "
            "(the file or feed layout an agency sends, such as police-suspects or "
            "prison-custody). Quarantined: rows held back because they could not be read or "
            "failed a check, by the field the problem is in (as the agency's layout names it) "
            "or, for a row that could not be read at all, the reason; counted against every "
            "row received (records stored plus rows still in quarantine). Rows that were fixed "
            "and taken in are no longer counted. Linked to a person: stored records that "
            "OneStory's person index linked to a person. Identifier completeness: stored "
            "records holding each identifier (PNC ID, CRO number, prison number, probation "
            "CRN, ULN, National Insurance number, date of birth, postcode); not every "
            "identifier belongs in every extract."
        ),
        dimensions=("agency", "check", "detail"),
        counts=("records", "affected"),
        statistics=("rate",),
        basis="records",
        rates=("rate",),
        totals=False,
        columns={
            "agency": "The agency extract (layout), such as police-suspects or court-cases",
            "check": "'quarantined', 'linked to a person' or 'identifier completeness'",
            "detail": (
                "For 'quarantined', the field with the problem or why the row could not be "
                "read; for 'linked to a person', 'records with a person'; for 'identifier "
                "completeness', the identifier"
            ),
            "records": (
                "Rows received (for 'quarantined') or records stored (for the other checks)"
            ),
            "affected": (
                "Rows quarantined with that problem, records linked to a person, or records "
                "holding the identifier"
            ),
            "rate": "Affected as a share of records (0 to 1)",
        },
        chart_by="detail",
        chart_value="rate",
        filters=("agency", "check"),
        public=True,
    )
)
