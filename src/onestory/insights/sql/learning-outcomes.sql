-- Learning in custody and further offending after release, per release year and group.
-- People are the person index's: an event's person is found through its identifiers (PNC ID,
-- prison number, ULN...) as the linked agency records hold them, so events and records about
-- the same person meet even when they carry different identifiers.
-- A release is a prison.prisoner.released event other than a transfer between prisons; each
-- person counts once a year, at their first release that year, and only once twelve months have
-- passed by the data's as-at date (the newest event's day), so every release is followed for a
-- full year. Learning: a passport credential (not revoked) for a course recorded with a prison
-- number (taken in custody) awarded on or before the release. Further offending: the person is
-- the suspect (arrested or given a charging decision) for a crime committed after the release
-- and within twelve months of it. Employment is not in the data, so it is not shown.
WITH as_at AS (
    SELECT CAST(timezone('UTC', least(max(occurred_at), max(received_at))) AS DATE) AS day
    FROM events
),
identifiers AS (
    SELECT held.id.type AS id_type, held.id.value AS value, min(held.person_id) AS person_id
    FROM (
        SELECT
            person_id,
            unnest(from_json(json_extract(body, '$.person.identifiers'),
                '[{"type":"VARCHAR","value":"VARCHAR"}]')) AS id
        FROM agency_records
        WHERE person_id IS NOT NULL
    ) AS held
    GROUP BY 1, 2
),
event_people AS (
    SELECT refs.event_id, min(identifiers.person_id) AS person_id
    FROM event_person_refs AS refs
    JOIN identifiers ON identifiers.id_type = refs.id_type AND identifiers.value = refs.value
    GROUP BY 1
),
parsed AS MATERIALIZED (
    -- One pass over the events, each envelope parsed once for every path wanted from it.
    SELECT
        id,
        type,
        case_urn,
        occurred_at,
        json_extract_string(envelope, [
            '$.payload.releasedAt',
            '$.payload.releaseType',
            '$.payload.case.offences[0].committedFrom'
        ]) AS j
    FROM events
    WHERE type IN (
        'prison.prisoner.released',
        'police.crime.recorded',
        'police.suspect.arrested',
        'police.charge.decided'
    )
),
releases AS (
    SELECT event_people.person_id, min(CAST(left(parsed.j[1], 10) AS DATE)) AS released_on
    FROM parsed
    JOIN event_people ON event_people.event_id = parsed.id
    WHERE parsed.type = 'prison.prisoner.released' AND coalesce(parsed.j[2], '') <> 'transfer'
    GROUP BY event_people.person_id, left(parsed.j[1], 4)
),
followed AS (
    SELECT releases.*
    FROM releases CROSS JOIN as_at
    WHERE releases.released_on + INTERVAL 365 DAY <= as_at.day
),
qualifications AS (
    SELECT records.person_id, credentials.awarded_on
    FROM passport_credentials AS credentials
    JOIN agency_records AS records ON records.id = credentials.record_id
    WHERE credentials.revoked_at IS NULL
        AND records.person_id IS NOT NULL
        AND coalesce(json_extract_string(records.body, '$.record.prisonNumber'), '') <> ''
),
crimes AS (
    SELECT case_urn AS urn, CAST(left(j[3], 10) AS DATE) AS offence_on
    FROM parsed
    WHERE type = 'police.crime.recorded'
    QUALIFY row_number() OVER (PARTITION BY case_urn ORDER BY occurred_at, id) = 1
),
suspected AS (
    SELECT DISTINCT event_people.person_id, crimes.offence_on
    FROM parsed
    JOIN event_people ON event_people.event_id = parsed.id
    JOIN crimes ON crimes.urn = parsed.case_urn
    WHERE parsed.type IN ('police.suspect.arrested', 'police.charge.decided')
),
outcomes AS (
    SELECT
        CAST(year(followed.released_on) AS VARCHAR) AS release_year,
        CASE
            WHEN EXISTS (
                SELECT 1 FROM qualifications AS q
                WHERE q.person_id = followed.person_id AND q.awarded_on <= followed.released_on
            ) THEN 'completed a qualification in custody'
            ELSE 'none'
        END AS learning,
        EXISTS (
            SELECT 1 FROM suspected AS s
            WHERE s.person_id = followed.person_id
                AND s.offence_on > followed.released_on
                AND s.offence_on <= followed.released_on + INTERVAL 365 DAY
        ) AS reoffended
    FROM followed
)
SELECT
    release_year,
    learning,
    count(*) AS people_released,
    count(*) FILTER (WHERE reoffended) AS further_offending_12m
FROM outcomes
GROUP BY 1, 2
ORDER BY 1, 2
