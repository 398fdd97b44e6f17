-- Merge one search's company rows into {schema}.companies, with lineage and quarantine.
-- LeadStore runs these statements in order inside ONE explicit transaction, after the search's frames were
-- written to Parquet files read through the temp view staged_rows. Bound parameters: $task_id, $seen_at, $mode.

-- name: lineage_clear
DELETE FROM {schema}.search_results WHERE task_id = $task_id;

-- name: lineage
INSERT INTO {schema}.search_results (task_id, position, mode, entity_key, raw, loaded_at)
SELECT $task_id, position, $mode, company_key, raw, $seen_at FROM staged_rows;

-- name: rejected_clear
DELETE FROM {schema}.rejected_rows WHERE task_id = $task_id;

-- name: rejected
INSERT INTO {schema}.rejected_rows (task_id, position, mode, reason, raw, rejected_at)
SELECT $task_id, position, $mode, coalesce(reject_reason, 'no usable key'), raw, $seen_at
FROM staged_rows WHERE company_key IS NULL;

-- name: dedup
CREATE OR REPLACE TEMP TABLE batch AS
SELECT
    * EXCLUDE (raw, reject_reason),
    md5(list_value(company_id, company_name, website_domain, linkedin_url, industry, employees_count::VARCHAR,
                   hq_city, hq_country, description, extra)::VARCHAR) AS attributes_hash
FROM staged_rows
WHERE company_key IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY company_key ORDER BY position DESC) = 1;

-- name: classify
-- What the merge does with each deduplicated row, decided once against the table as it was: insert a new key,
-- update changed attributes, count a sighting of unchanged ones, or only count a search older than the table.
CREATE OR REPLACE TEMP TABLE batch_action AS
SELECT
    b.company_key,
    CASE
        WHEN c.company_key IS NULL THEN 'insert'
        WHEN c.last_seen_at > $seen_at THEN 'older'
        WHEN c.attributes_hash = b.attributes_hash THEN 'seen'
        ELSE 'update'
    END AS action
FROM batch AS b
LEFT JOIN {schema}.companies AS c ON c.company_key = b.company_key;

-- name: counts
SELECT
    count(*) FILTER (WHERE action = 'insert') AS inserted,
    count(*) FILTER (WHERE action = 'update') AS updated,
    count(*) FILTER (WHERE action IN ('seen', 'older')) AS unchanged
FROM batch_action;

-- name: insert
-- New keys: a plain INSERT streams the batch (a semi-join on the narrow action table), in bounded memory.
INSERT INTO {schema}.companies (
    company_key, company_id, company_name, website_domain, linkedin_url, industry, employees_count, hq_city,
    hq_country, description, extra, attributes_hash, first_seen_at, last_seen_at, times_seen, first_task_id,
    last_task_id, updated_at
)
SELECT
    company_key, company_id, company_name, website_domain, linkedin_url, industry,
    employees_count, hq_city, hq_country, description, extra, attributes_hash, $seen_at, $seen_at,
    1, $task_id, $task_id, $seen_at
FROM batch
WHERE company_key IN (SELECT company_key FROM batch_action WHERE action = 'insert');

-- name: merge
-- Changed attributes are replaced: the latest search wins (an older search is 'older' above, never merged here).
MERGE INTO {schema}.companies AS c
USING (SELECT * FROM batch WHERE company_key IN (SELECT company_key FROM batch_action WHERE action = 'update')) AS b
ON c.company_key = b.company_key
WHEN MATCHED THEN UPDATE SET
    company_id = b.company_id,
    company_name = b.company_name,
    website_domain = b.website_domain,
    linkedin_url = b.linkedin_url,
    industry = b.industry,
    employees_count = b.employees_count,
    hq_city = b.hq_city,
    hq_country = b.hq_country,
    description = b.description,
    extra = b.extra,
    updated_at = CASE WHEN c.attributes_hash <> b.attributes_hash THEN $seen_at ELSE c.updated_at END,
    attributes_hash = b.attributes_hash,
    last_seen_at = $seen_at,
    last_task_id = $task_id,
    times_seen = c.times_seen + 1;

-- name: sightings
-- Unchanged rows only count the sighting (three narrow columns: a re-run of a large search stays cheap); rows
-- from a search older than the table keep the newer attributes and only move first_seen_at back.
MERGE INTO {schema}.companies AS c
USING (SELECT company_key, action FROM batch_action WHERE action IN ('seen', 'older')) AS s
ON c.company_key = s.company_key
WHEN MATCHED AND s.action = 'seen' THEN UPDATE SET
    last_seen_at = $seen_at,
    last_task_id = $task_id,
    times_seen = c.times_seen + 1
WHEN MATCHED THEN UPDATE SET
    first_seen_at = least(c.first_seen_at, $seen_at),
    times_seen = c.times_seen + 1;
