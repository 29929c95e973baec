-- Attrition: recorded crimes with a victim where the victim withdrew support, by stage, police
-- area and year. Pre-charge: a charging decision of no further action whose reason is that the
-- victim does not support action (Home Office outcome 16; outcome 14, suspect not identified,
-- where a payload carries the outcome code). A crime is counted once, in the year of its first
-- charging decision. Post-charge withdrawal is not shown: the CPS events give a reason for
-- discontinuing but do not record whether the victim withdrew.
WITH parsed AS MATERIALIZED (
    -- One pass over the events, each envelope parsed once for every path wanted from it.
    SELECT
        type,
        case_urn,
        asserted_by,
        occurred_at,
        id,
        json_extract_string(envelope, [
            '$.payload.victims',
            '$.payload.decision.decidedAt',
            '$.payload.decision.reason',
            '$.payload.decision.outcomeCode'
        ]) AS j
    FROM events
    WHERE type IN ('police.crime.recorded', 'police.charge.decided')
),
crimes AS (
    SELECT case_urn AS urn, asserted_by AS force_code
    FROM parsed
    WHERE type = 'police.crime.recorded' AND coalesce(json_array_length(j[1]), 0) > 0
    QUALIFY row_number() OVER (PARTITION BY case_urn ORDER BY occurred_at, id) = 1
),
decisions AS (
    SELECT
        case_urn AS urn,
        min(left(j[2], 4)) AS year,
        bool_or(j[3] = 'victim does not support action' OR j[4] IN ('14', '16')) AS withdrawn
    FROM parsed
    WHERE type = 'police.charge.decided'
    GROUP BY 1
)
SELECT
    'pre-charge' AS stage,
    coalesce(forces.name, crimes.force_code, 'unknown') AS police_area,
    decisions.year,
    count(*) AS cases,
    count(*) FILTER (WHERE decisions.withdrawn) AS withdrawn,
    round(count(*) FILTER (WHERE decisions.withdrawn) / count(*), 4) AS withdrawn_rate
FROM crimes
JOIN decisions USING (urn)
LEFT JOIN organisations AS forces ON forces.code = crimes.force_code
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
