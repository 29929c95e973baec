-- Data quality, by agency extract (the layout an agency's file or API feed arrives in, such as
-- police-suspects or prison-custody: what the agency fixes) and check, in one long table so each
-- agency can see its own rows and fix them:
-- - 'quarantined': open quarantined rows by the field (or, for a row that could not be read at
--   all, the reason) a problem names; records = rows received (stored records plus open
--   quarantined rows), affected = quarantined rows with that problem.
-- - 'linked to a person': stored records the person index has linked to a person.
-- - 'identifier completeness': stored records holding each identifier.
WITH stored AS (
    SELECT coalesce(layout, kind, agency) AS source, * EXCLUDE (agency)
    FROM agency_records
),
open_rows AS (
    SELECT id, coalesce(layout, agency) AS source, problems
    FROM quarantined_rows
    WHERE status = 'open'
),
received AS (
    SELECT source, sum(n) AS records
    FROM (
        SELECT source, count(*) AS n FROM stored GROUP BY 1
        UNION ALL
        SELECT source, count(*) FROM open_rows GROUP BY 1
    ) AS counted
    GROUP BY 1
),
problems AS (
    SELECT
        open_rows.id,
        open_rows.source,
        problem.field AS field,
        problem.problem AS problem
    FROM open_rows,
        unnest(from_json(open_rows.problems,
            '[{"field":"VARCHAR","problem":"VARCHAR","fix":"VARCHAR"}]')) AS t(problem)
),
quarantined AS (
    SELECT
        source,
        'quarantined' AS check_name,
        CASE
            WHEN field IS NOT NULL AND field <> '' THEN regexp_extract(field, '([^/]+)$', 1)
            WHEN problem LIKE '%is not UTF-8%' THEN 'row is not UTF-8'
            WHEN problem LIKE '%values but the header has%' THEN 'row has too many or too few values'
            ELSE 'row could not be read'
        END AS detail,
        id
    FROM problems
),
completeness AS (
    SELECT
        stored.source,
        identifiers.detail,
        count(*) AS records,
        count(*) FILTER (WHERE CASE identifiers.detail
            WHEN 'PNC ID' THEN has_pnc
            WHEN 'CRO number' THEN has_cro
            WHEN 'prison number' THEN has_prison_number
            WHEN 'probation CRN' THEN has_crn
            WHEN 'ULN' THEN has_uln
            WHEN 'National Insurance number' THEN has_nino
            WHEN 'date of birth' THEN has_date_of_birth
            WHEN 'postcode' THEN has_postcode
        END) AS affected
    FROM stored
    CROSS JOIN (
        VALUES ('PNC ID'), ('CRO number'), ('prison number'), ('probation CRN'), ('ULN'),
            ('National Insurance number'), ('date of birth'), ('postcode')
    ) AS identifiers(detail)
    GROUP BY 1, 2
),
checks AS (
    SELECT q.source, q.check_name, q.detail, received.records, count(DISTINCT q.id) AS affected
    FROM quarantined AS q
    JOIN received USING (source)
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT source, 'linked to a person', 'records with a person', count(*),
        count(person_id)
    FROM stored
    GROUP BY 1
    UNION ALL
    SELECT source, 'identifier completeness', detail, records, affected
    FROM completeness
)
SELECT
    source AS agency,
    check_name AS "check",
    detail,
    CAST(records AS BIGINT) AS records,
    CAST(affected AS BIGINT) AS affected,
    round(affected / records, 4) AS rate
FROM checks
ORDER BY
    source,
    CASE check_name WHEN 'quarantined' THEN 1 WHEN 'linked to a person' THEN 2 ELSE 3 END,
    detail
