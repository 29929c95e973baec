-- Caseload: open cases by stage and age, as at the data's as-at date (the day of the newest
-- event, and never later than the newest arrival, so a future-dated event cannot move it).
-- A case here is one suspect of one recorded crime, known by the ASN given at arrest or charge;
-- crimes with no suspect identified, and suspects neither arrested nor yet decided, leave no
-- event to count and are not in this measure.
WITH as_at AS (
    SELECT CAST(timezone('UTC', least(max(occurred_at), max(received_at))) AS DATE) AS day
    FROM events
),
parsed AS MATERIALIZED (
    -- One pass over the events, each envelope parsed once for every path wanted from it.
    SELECT
        type,
        case_urn,
        asserted_by,
        occurred_at,
        id,
        json_extract_string(envelope, [
            '$.payload.case.reportedAt',
            '$.payload.asn',
            '$.payload.decision.charges[0].asn',
            '$.payload.decision.decision',
            '$.caseReferences',
            '$.payload.outcome.offences[0].verdict',
            '$.payload.prosecution.charges[0].asn',
            '$.payload.prosecution.status'
        ]) AS j
    FROM events
    WHERE type IN (
        'police.crime.recorded',
        'police.suspect.arrested',
        'police.charge.decided',
        'court.hearing.resulted',
        'court.sentence.imposed',
        'cps.charges.altered'
    )
),
crimes AS (
    SELECT
        case_urn AS urn,
        CAST(left(j[1], 10) AS DATE) AS reported_on,
        asserted_by AS force_code
    FROM parsed
    WHERE type = 'police.crime.recorded'
    QUALIFY row_number() OVER (PARTITION BY case_urn ORDER BY occurred_at, id) = 1
),
suspects AS (
    SELECT j[2] AS asn, min(case_urn) AS urn
    FROM parsed
    WHERE type = 'police.suspect.arrested'
    GROUP BY 1
),
referenced AS (
    -- The ASN among an event's case references (charging decisions and court events).
    SELECT
        type,
        case_urn,
        j,
        list_filter(
            from_json(j[5], '[{"type":"VARCHAR","value":"VARCHAR"}]'), lambda r: r.type = 'ASN'
        )[1].value AS asn
    FROM parsed
    WHERE type IN ('police.charge.decided', 'court.hearing.resulted', 'court.sentence.imposed')
),
decisions AS (
    SELECT j[3] AS charged_asn, asn, case_urn AS urn, j[4] AS decision
    FROM referenced
    WHERE type = 'police.charge.decided'
),
progress AS (
    -- What has happened to each defendant in court, as flags.
    SELECT
        asn,
        bool_or(type = 'court.hearing.resulted') AS heard,
        bool_or(j[6] = 'convicted') AS convicted,
        bool_or(
            type = 'court.sentence.imposed' OR j[6] IN ('acquitted', 'dismissed', 'withdrawn')
        ) AS completed
    FROM referenced
    WHERE type IN ('court.hearing.resulted', 'court.sentence.imposed')
    GROUP BY 1
),
discontinued AS (
    SELECT DISTINCT j[7] AS asn
    FROM parsed
    WHERE type = 'cps.charges.altered' AND j[8] = 'discontinued'
),
decided AS (
    SELECT coalesce(asn, charged_asn) AS asn, bool_or(decision = 'charge') AS charged
    FROM decisions
    WHERE coalesce(asn, charged_asn) IS NOT NULL
    GROUP BY 1
),
cases AS (
    SELECT asn, min(urn) AS urn
    FROM (
        SELECT asn, urn FROM suspects
        UNION ALL
        SELECT coalesce(asn, charged_asn), urn FROM decisions
        WHERE coalesce(asn, charged_asn) IS NOT NULL
    ) AS known
    GROUP BY 1
),
staged AS (
    SELECT
        cases.asn,
        cases.urn,
        CASE
            WHEN decided.asn IS NULL THEN 'under investigation'
            WHEN NOT decided.charged THEN NULL
            WHEN coalesce(progress.completed, FALSE) OR discontinued.asn IS NOT NULL THEN NULL
            WHEN coalesce(progress.convicted, FALSE) THEN 'convicted, awaiting sentence'
            WHEN coalesce(progress.heard, FALSE) THEN 'in court'
            ELSE 'charged, awaiting first hearing'
        END AS stage
    FROM cases
    LEFT JOIN decided USING (asn)
    LEFT JOIN progress USING (asn)
    LEFT JOIN discontinued USING (asn)
),
aged AS (
    SELECT
        staged.stage,
        date_diff('day', crimes.reported_on, as_at.day) AS days,
        coalesce(forces.name, crimes.force_code, 'unknown') AS police_area
    FROM staged
    CROSS JOIN as_at
    LEFT JOIN crimes USING (urn)
    LEFT JOIN organisations AS forces ON forces.code = crimes.force_code
    WHERE staged.stage IS NOT NULL
)
SELECT
    stage,
    CASE
        WHEN days IS NULL THEN 'unknown'
        WHEN days <= 91 THEN '0 to 3 months'
        WHEN days <= 182 THEN '3 to 6 months'
        WHEN days <= 365 THEN '6 to 12 months'
        ELSE '12 months or more'
    END AS age_band,
    police_area,
    count(*) AS cases
FROM aged
GROUP BY 1, 2, 3
ORDER BY
    CASE stage
        WHEN 'under investigation' THEN 1
        WHEN 'charged, awaiting first hearing' THEN 2
        WHEN 'in court' THEN 3
        ELSE 4
    END,
    CASE age_band
        WHEN '0 to 3 months' THEN 1
        WHEN '3 to 6 months' THEN 2
        WHEN '6 to 12 months' THEN 3
        WHEN '12 months or more' THEN 4
        ELSE 5
    END,
    police_area
