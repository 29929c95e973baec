-- Victims' Code compliance: duties started, met on time, met late, overdue and pending, by duty,
-- owing organisation, police area, month started and rights (enhanced or standard).
-- Portable: the same text runs on DuckDB and Spark SQL (plain columns, CASE, COUNT, SUM,
-- date_trunc on a date cast back to a date), so keep it to that subset.
SELECT
  duty,
  owner_code,
  police_area,
  CAST(date_trunc('month', started_on) AS DATE) AS month,
  CASE WHEN enhanced THEN 'enhanced' ELSE 'standard' END AS rights,
  COUNT(*) AS started,
  CAST(SUM(CASE WHEN outcome = 'on_time' THEN 1 ELSE 0 END) AS BIGINT) AS met_on_time,
  CAST(SUM(CASE WHEN outcome = 'late' THEN 1 ELSE 0 END) AS BIGINT) AS met_late,
  CAST(SUM(CASE WHEN outcome = 'overdue' THEN 1 ELSE 0 END) AS BIGINT) AS overdue,
  CAST(SUM(CASE WHEN outcome = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
  CAST(SUM(CASE WHEN outcome = 'on_time' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS on_time_rate
FROM duties
GROUP BY
  duty,
  owner_code,
  police_area,
  CAST(date_trunc('month', started_on) AS DATE),
  CASE WHEN enhanced THEN 'enhanced' ELSE 'standard' END
ORDER BY duty, owner_code NULLS LAST, police_area NULLS LAST, month, rights
