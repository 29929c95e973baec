-- Hearings listed and their outcomes: every hearing listed (court.hearing.listed, one row per
-- hearing id), by the month it was listed to start in, the court, and what the court recorded
-- when it resulted the hearing (court.hearing.resulted). A listed hearing not yet resulted is
-- counted as 'not yet heard'.
WITH parsed AS MATERIALIZED (
    -- One pass over the events, each envelope parsed once for every path wanted from it.
    SELECT
        type,
        json_extract_string(envelope, [
            '$.payload.hearing.hearingId',
            '$.payload.hearing.startsAt',
            '$.payload.hearing.court',
            '$.payload.hearing.hearingType',
            '$.payload.outcome.hearingId',
            '$.payload.outcome.offences[0].verdict',
            '$.payload.outcome.nextHearingId'
        ]) AS j
    FROM events
    WHERE type IN ('court.hearing.listed', 'court.hearing.resulted')
),
listed AS (
    SELECT
        j[1] AS hearing_id,
        min(left(j[2], 7)) || '-01' AS month,
        min(j[3]) AS court_code,
        min(j[4]) AS hearing_type
    FROM parsed
    WHERE type = 'court.hearing.listed'
    GROUP BY 1
),
resulted AS (
    SELECT j[5] AS hearing_id, min(j[6]) AS verdict, bool_or(j[7] IS NOT NULL) AS adjourned
    FROM parsed
    WHERE type = 'court.hearing.resulted'
    GROUP BY 1
)
SELECT
    listed.month,
    coalesce(courts.name, listed.court_code, 'unknown') AS court,
    CASE
        WHEN resulted.hearing_id IS NULL THEN 'not yet heard'
        WHEN resulted.verdict IS NOT NULL THEN resulted.verdict
        WHEN resulted.adjourned THEN 'adjourned or sent to a further hearing'
        WHEN listed.hearing_type = 'sentence' THEN 'sentenced'
        ELSE 'concluded without a verdict'
    END AS outcome,
    count(*) AS hearings
FROM listed
LEFT JOIN resulted USING (hearing_id)
LEFT JOIN organisations AS courts ON courts.code = listed.court_code
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
