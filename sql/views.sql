-- Views over the lead tables, created by LeadStore on open. Query them like tables, e.g.
--   SELECT * FROM sixtyfour.job_changes ORDER BY changed_at DESC;

-- People whose title or company changed between two searches: one row per change.
CREATE OR REPLACE VIEW {schema}.job_changes AS
WITH versions AS (
    SELECT
        h.*,
        lag(h.title) OVER w AS previous_title,
        lag(h.company_name) OVER w AS previous_company,
        lag(h.company_id) OVER w AS previous_company_id,
        row_number() OVER w AS version
    FROM {schema}.people_history AS h
    WINDOW w AS (PARTITION BY h.lead_key ORDER BY h.valid_from)
)
SELECT
    v.lead_key,
    p.full_name,
    p.linkedin_url,
    v.previous_title,
    v.previous_company,
    v.title AS new_title,
    v.company_name AS new_company,
    v.valid_from AS changed_at,
    v.task_id
FROM versions AS v
JOIN {schema}.people AS p ON p.lead_key = v.lead_key
WHERE v.version > 1
  AND (v.title IS DISTINCT FROM v.previous_title
       OR v.company_name IS DISTINCT FROM v.previous_company
       OR v.company_id IS DISTINCT FROM v.previous_company_id);

-- How many known leads work at each company (by LinkedIn company id, else domain, else name).
CREATE OR REPLACE VIEW {schema}.leads_by_company AS
SELECT
    coalesce(company_id, company_domain, lower(company_name)) AS company_ref,
    arg_max(company_name, last_seen_at) AS company_name,
    count(*) AS leads,
    count(*) FILTER (WHERE seniority IN ('CXO', 'VP', 'Director', 'Head', 'Owner / Founder', 'Partner')) AS senior_leads,
    max(last_seen_at) AS last_seen_at
FROM {schema}.people
WHERE coalesce(company_id, company_domain, company_name) IS NOT NULL
GROUP BY 1;

-- People first seen in the latest merged search of each search spec (or query when no spec name was given).
CREATE OR REPLACE VIEW {schema}.new_leads AS
WITH latest AS (
    SELECT coalesce(spec_name, query) AS spec, task_id, merged_at
    FROM {schema}.searches
    WHERE mode = 'people'
    QUALIFY row_number() OVER (PARTITION BY coalesce(spec_name, query) ORDER BY merged_at DESC, task_id) = 1
)
SELECT l.spec, l.merged_at AS search_merged_at, p.*
FROM latest AS l
JOIN {schema}.people AS p ON p.first_task_id = l.task_id;
