-- Merge one search's people rows into {schema}.people, with lineage, quarantine and SCD2 history.
-- LeadStore runs these statements in order inside ONE explicit transaction (BEGIN ... COMMIT), after the
-- search's frames were written to a Parquet file read through the temp view staged_rows.
-- Bound parameters: $task_id, $seen_at (TIMESTAMPTZ of the search), $mode.

-- name: lineage_clear
DELETE FROM {schema}.search_results WHERE task_id = $task_id;

-- name: lineage
INSERT INTO {schema}.search_results (task_id, position, mode, entity_key, raw, loaded_at)
SELECT $task_id, position, $mode, lead_key, raw, $seen_at FROM staged_rows;

-- name: rejected_clear
DELETE FROM {schema}.rejected_rows WHERE task_id = $task_id;

-- name: rejected
INSERT INTO {schema}.rejected_rows (task_id, position, mode, reason, raw, rejected_at)
SELECT $task_id, position, $mode, coalesce(reject_reason, 'no usable key'), raw, $seen_at
FROM staged_rows WHERE lead_key IS NULL;

-- name: dedup
-- The same person can appear many times in one search: keep the last occurrence (highest position), so the
-- MERGE below never sees a duplicate source key.
CREATE OR REPLACE TEMP TABLE batch AS
SELECT
    * EXCLUDE (raw, reject_reason),
    md5(list_value(public_id, linkedin_url, full_name, first_name, last_name, headline, title, company_name,
                   company_id, company_domain, company_linkedin_url, location, seniority, job_function,
                   extra)::VARCHAR) AS attributes_hash,
    md5(list_value(title, company_name, company_id, location, seniority)::VARCHAR) AS tracked_hash
FROM staged_rows
WHERE lead_key IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY lead_key ORDER BY position DESC) = 1;

-- name: classify
-- What the merge does with each deduplicated row, decided once against the table as it was: insert a new key,
-- update changed attributes, count a sighting of unchanged ones, or only count a search older than the table.
CREATE OR REPLACE TEMP TABLE batch_action AS
SELECT
    b.lead_key,
    CASE
        WHEN p.lead_key IS NULL THEN 'insert'
        WHEN p.last_seen_at > $seen_at THEN 'older'
        WHEN p.attributes_hash = b.attributes_hash THEN 'seen'
        ELSE 'update'
    END AS action
FROM batch AS b
LEFT JOIN {schema}.people AS p ON p.lead_key = b.lead_key;

-- name: counts
SELECT
    count(*) FILTER (WHERE action = 'insert') AS inserted,
    count(*) FILTER (WHERE action = 'update') AS updated,
    count(*) FILTER (WHERE action IN ('seen', 'older')) AS unchanged
FROM batch_action;

-- name: history_close
-- A changed title / company / location / seniority ends the current version...
UPDATE {schema}.people_history AS h
SET valid_to = $seen_at
FROM batch AS b
WHERE h.lead_key = b.lead_key
  AND h.valid_to IS NULL
  AND h.tracked_hash <> b.tracked_hash
  AND h.valid_from <= $seen_at;

-- name: history_open
-- ...and opens a new one; a person seen for the first time gets their first version.
INSERT INTO {schema}.people_history
    (lead_key, title, company_name, company_id, location, seniority, tracked_hash, valid_from, valid_to, task_id)
SELECT b.lead_key, b.title, b.company_name, b.company_id, b.location, b.seniority, b.tracked_hash,
       $seen_at, NULL, $task_id
FROM batch AS b
WHERE NOT EXISTS (
    SELECT 1 FROM {schema}.people_history AS h WHERE h.lead_key = b.lead_key AND h.valid_to IS NULL
);

-- name: insert
-- New keys: a plain INSERT streams the batch (a semi-join on the narrow action table), in bounded memory.
INSERT INTO {schema}.people (
    lead_key, public_id, linkedin_url, full_name, first_name, last_name, headline, title, company_name,
    company_id, company_domain, company_linkedin_url, location, seniority, job_function, extra,
    attributes_hash, first_seen_at, last_seen_at, times_seen, first_task_id, last_task_id, updated_at
)
SELECT
    lead_key, public_id, linkedin_url, full_name, first_name, last_name, headline, title,
    company_name, company_id, company_domain, company_linkedin_url, location, seniority,
    job_function, extra, attributes_hash, $seen_at, $seen_at, 1, $task_id, $task_id, $seen_at
FROM batch
WHERE lead_key IN (SELECT lead_key FROM batch_action WHERE action = 'insert');

-- name: merge
-- Changed attributes are replaced: the latest search wins (an older search is 'older' above, never merged here).
MERGE INTO {schema}.people AS p
USING (SELECT * FROM batch WHERE lead_key IN (SELECT lead_key FROM batch_action WHERE action = 'update')) AS b
ON p.lead_key = b.lead_key
WHEN MATCHED THEN UPDATE SET
    public_id = b.public_id,
    linkedin_url = b.linkedin_url,
    full_name = b.full_name,
    first_name = b.first_name,
    last_name = b.last_name,
    headline = b.headline,
    title = b.title,
    company_name = b.company_name,
    company_id = b.company_id,
    company_domain = b.company_domain,
    company_linkedin_url = b.company_linkedin_url,
    location = b.location,
    seniority = b.seniority,
    job_function = b.job_function,
    extra = b.extra,
    updated_at = CASE WHEN p.attributes_hash <> b.attributes_hash THEN $seen_at ELSE p.updated_at END,
    attributes_hash = b.attributes_hash,
    last_seen_at = $seen_at,
    last_task_id = $task_id,
    times_seen = p.times_seen + 1;

-- name: sightings
-- Unchanged rows only count the sighting (three narrow columns: a re-run of a large search stays cheap); rows
-- from a search older than the table keep the newer attributes and only move first_seen_at back.
MERGE INTO {schema}.people AS p
USING (SELECT lead_key, action FROM batch_action WHERE action IN ('seen', 'older')) AS s
ON p.lead_key = s.lead_key
WHEN MATCHED AND s.action = 'seen' THEN UPDATE SET
    last_seen_at = $seen_at,
    last_task_id = $task_id,
    times_seen = p.times_seen + 1
WHEN MATCHED THEN UPDATE SET
    first_seen_at = least(p.first_seen_at, $seen_at),
    times_seen = p.times_seen + 1;
