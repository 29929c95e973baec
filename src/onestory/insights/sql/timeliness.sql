-- Timeliness: calendar days from offence to charge, charge to first hearing, and first hearing
-- to completion, for each charged defendant (one suspect of one case, known by the ASN the
-- charge carries). Dates are the local dates the events state, so a day is a calendar day in
-- England and Wales. The offence group is that of the case's main (first) offence, mapped as
-- in onestory.synth.offences (the ONS offence groups of police recorded crime).
WITH parsed AS MATERIALIZED (
    -- One pass over the events, parsing each envelope once for every path wanted from it
    -- (json_extract_string with a list of paths): reading and parsing the envelopes, not
    -- joining, is what costs time over millions of events.
    SELECT
        type,
        case_urn,
        asserted_by,
        occurred_at,
        id,
        json_extract_string(envelope, [
            '$.payload.case.offences[0].committedFrom',
            '$.payload.case.offences[0].code',
            '$.payload.decision.charges[0].asn',
            '$.payload.decision.decidedAt',
            '$.payload.decision.decision',
            '$.caseReferences',
            '$.payload.hearing.hearingId',
            '$.payload.hearing.startsAt',
            '$.payload.outcome.hearingId',
            '$.payload.outcome.resultedAt',
            '$.payload.outcome.offences[0].verdict',
            '$.payload.sentence.imposedAt'
        ]) AS j
    FROM events
    WHERE type IN (
        'police.crime.recorded',
        'police.charge.decided',
        'court.hearing.listed',
        'court.hearing.resulted',
        'court.sentence.imposed'
    )
),
crimes AS (
    SELECT
        case_urn AS urn,
        CAST(left(j[1], 10) AS DATE) AS offence_on,
        j[2] AS offence_code,
        asserted_by AS force_code
    FROM parsed
    WHERE type = 'police.crime.recorded'
    QUALIFY row_number() OVER (PARTITION BY case_urn ORDER BY occurred_at, id) = 1
),
charged AS (
    SELECT j[3] AS asn, min(case_urn) AS urn, min(CAST(left(j[4], 10) AS DATE)) AS charged_on
    FROM parsed
    WHERE type = 'police.charge.decided' AND j[5] = 'charge'
    GROUP BY 1
),
court AS (
    -- Court events of a defendant, by the ASN among their case references.
    SELECT
        type,
        list_filter(
            from_json(j[6], '[{"type":"VARCHAR","value":"VARCHAR"}]'), lambda r: r.type = 'ASN'
        )[1].value AS asn,
        j[7] AS listed_id,
        CAST(left(j[8], 10) AS DATE) AS starts_on,
        j[9] AS resulted_id,
        CAST(left(j[10], 10) AS DATE) AS resulted_on,
        j[11] AS verdict,
        CAST(left(j[12], 10) AS DATE) AS sentenced_on
    FROM parsed
    WHERE type IN ('court.hearing.listed', 'court.hearing.resulted', 'court.sentence.imposed')
),
listed AS (
    SELECT listed_id AS hearing_id, any_value(asn) AS asn, min(starts_on) AS starts_on
    FROM court
    WHERE type = 'court.hearing.listed'
    GROUP BY 1
),
resulted AS (
    SELECT resulted_id AS hearing_id, min(resulted_on) AS resulted_on, min(verdict) AS verdict
    FROM court
    WHERE type = 'court.hearing.resulted'
    GROUP BY 1
),
first_hearings AS (
    -- The first hearing that has taken place (been resulted), not one only listed.
    SELECT listed.asn, min(listed.starts_on) AS first_on
    FROM listed JOIN resulted USING (hearing_id)
    GROUP BY 1
),
ended AS (
    -- Completion: the sentence, or a verdict that ends the case without one.
    SELECT asn, min(on_day) AS completed_on
    FROM (
        SELECT asn, sentenced_on AS on_day
        FROM court
        WHERE type = 'court.sentence.imposed'
        UNION ALL
        SELECT listed.asn, resulted.resulted_on
        FROM listed JOIN resulted USING (hearing_id)
        WHERE resulted.verdict IN ('acquitted', 'dismissed', 'withdrawn')
    ) AS completions
    GROUP BY 1
),
defendants AS (
    SELECT
        charged.asn,
        charged.charged_on,
        crimes.offence_on,
        first_hearings.first_on,
        ended.completed_on,
        CASE
            WHEN crimes.offence_code IN ('CJ88116', 'CJ88001', 'OF61102', 'OF61131', 'OF61016',
                'OF61014', 'CJ88160', 'SC15004', 'SC15005', 'PH97004', 'PH97011', 'SE20002',
                'FL96001', 'CA03005')
                THEN 'violence against the person'
            WHEN crimes.offence_code IN ('SX03007', 'SX03002') THEN 'sexual offences'
            WHEN crimes.offence_code IN ('TH68023') THEN 'robbery'
            WHEN crimes.offence_code IN ('TH68010', 'TH68001', 'TH68020', 'TH68007', 'TH68013',
                'TH68006', 'TH68050', 'TH68036', 'TH68037', 'TH68073')
                THEN 'theft offences'
            WHEN crimes.offence_code IN ('FA06001') THEN 'fraud'
            WHEN crimes.offence_code IN ('CD71039', 'CD71015') THEN 'criminal damage and arson'
            WHEN crimes.offence_code IN ('MD71530', 'MD71210', 'MD71230', 'MD71526')
                THEN 'drug offences'
            WHEN crimes.offence_code IN ('CJ88144', 'PC53001') THEN 'possession of weapons'
            WHEN crimes.offence_code IN ('PU86003', 'PU86004', 'PU86116', 'CJ67002')
                THEN 'public order offences'
            WHEN crimes.offence_code IN ('RT88007', 'RT88584', 'RT88333', 'RT88026')
                THEN 'summary motoring'
            WHEN crimes.offence_code IN ('BA76001') THEN 'miscellaneous crimes against society'
            ELSE 'other offences'
        END AS offence_group,
        coalesce(forces.name, crimes.force_code, 'unknown') AS police_area
    FROM charged
    LEFT JOIN crimes USING (urn)
    LEFT JOIN organisations AS forces ON forces.code = crimes.force_code
    LEFT JOIN first_hearings USING (asn)
    LEFT JOIN ended USING (asn)
),
intervals AS (
    SELECT 'offence to charge' AS stage, offence_group, police_area,
        date_diff('day', offence_on, charged_on) AS days
    FROM defendants WHERE offence_on IS NOT NULL
    UNION ALL
    SELECT 'charge to first hearing', offence_group, police_area,
        date_diff('day', charged_on, first_on)
    FROM defendants WHERE first_on IS NOT NULL
    UNION ALL
    SELECT 'first hearing to completion', offence_group, police_area,
        date_diff('day', first_on, completed_on)
    FROM defendants WHERE first_on IS NOT NULL AND completed_on IS NOT NULL
)
SELECT
    stage,
    offence_group,
    police_area,
    count(*) AS cases,
    round(quantile_cont(days, 0.5), 1) AS median_days,
    round(quantile_cont(days, 0.9), 1) AS p90_days
FROM intervals
GROUP BY stage, offence_group, police_area
ORDER BY
    CASE stage WHEN 'offence to charge' THEN 1 WHEN 'charge to first hearing' THEN 2 ELSE 3 END,
    offence_group,
    police_area
