-- Merge one search's company rows into {schema}.companies, with lineage and quarantine.
-- LeadStore runs these statements in order inside ONE explicit transaction, after the search's frames were
-- appended to the connection-local temp view staged_rows (a Parquet file of the batches). Bound parameters: $task_id, $seen_at, $mode.

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

-- name: counts
SELECT
    count(*) FILTER (WHERE c.company_key IS NULL) AS inserted,
    count(*) FILTER (WHERE c.company_key IS NOT NULL AND c.attributes_hash <> b.attributes_hash
                     AND c.last_seen_at <= $seen_at) AS updated,
    count(*) FILTER (WHERE c.company_key IS NOT NULL AND (c.attributes_hash = b.attributes_hash
                     OR c.last_seen_at > $seen_at)) AS unchanged
FROM batch AS b
LEFT JOIN {schema}.companies AS c ON c.company_key = b.company_key;

-- name: merge
MERGE INTO {schema}.companies AS c
USING batch AS b
ON c.company_key = b.company_key
WHEN MATCHED AND c.last_seen_at <= $seen_at THEN UPDATE SET
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
    times_seen = c.times_seen + 1
WHEN MATCHED THEN UPDATE SET
    first_seen_at = least(c.first_seen_at, $seen_at),
    times_seen = c.times_seen + 1
WHEN NOT MATCHED THEN INSERT (
    company_key, company_id, company_name, website_domain, linkedin_url, industry, employees_count, hq_city,
    hq_country, description, extra, attributes_hash, first_seen_at, last_seen_at, times_seen, first_task_id,
    last_task_id, updated_at
) VALUES (
    b.company_key, b.company_id, b.company_name, b.website_domain, b.linkedin_url, b.industry,
    b.employees_count, b.hq_city, b.hq_country, b.description, b.extra, b.attributes_hash, $seen_at, $seen_at,
    1, $task_id, $task_id, $seen_at
);
