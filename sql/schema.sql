-- dagster-sixtyfour lead warehouse: tables in schema {schema}.
-- Run by LeadStore on open (idempotent). {schema} is validated and quoted before it is substituted;
-- every value is bound as a parameter or passed as Arrow, never formatted into SQL.
-- No PRIMARY KEY / UNIQUE constraints on purpose: DuckDB's ART indexes must fit in memory and slow merges;
-- keys are kept unique by the deduplicating MERGE and verified by asset checks.

CREATE SCHEMA IF NOT EXISTS {schema};

-- One row per search task (deep search) that was merged.
CREATE TABLE IF NOT EXISTS {schema}.searches (
    task_id          VARCHAR NOT NULL,
    search_id        VARCHAR,
    client_search_id VARCHAR,
    spec_name        VARCHAR,
    query            VARCHAR,
    mode             VARCHAR NOT NULL,
    output_mode      VARCHAR,
    status           VARCHAR,
    run_id           VARCHAR,
    started_at       TIMESTAMPTZ,
    completed_at     TIMESTAMPTZ,
    merged_at        TIMESTAMPTZ NOT NULL,
    rows_fetched     BIGINT NOT NULL,
    inserted         BIGINT NOT NULL,
    updated          BIGINT NOT NULL,
    unchanged        BIGINT NOT NULL,
    rejected         BIGINT NOT NULL
);

-- Lineage: which search returned which lead, at which position; the raw row is kept for reprocessing.
CREATE TABLE IF NOT EXISTS {schema}.search_results (
    task_id    VARCHAR NOT NULL,
    position   BIGINT NOT NULL,
    mode       VARCHAR NOT NULL,
    entity_key VARCHAR,            -- lead_key or company_key; NULL when the row was rejected
    raw        VARCHAR NOT NULL,
    loaded_at  TIMESTAMPTZ NOT NULL
);

-- One row per person, keyed by lead_key (the normalized LinkedIn public id): latest attributes.
CREATE TABLE IF NOT EXISTS {schema}.people (
    lead_key             VARCHAR NOT NULL,
    public_id            VARCHAR,
    linkedin_url         VARCHAR,
    full_name            VARCHAR,
    first_name           VARCHAR,
    last_name            VARCHAR,
    headline             VARCHAR,
    title                VARCHAR,
    company_name         VARCHAR,
    company_id           VARCHAR,
    company_domain       VARCHAR,
    company_linkedin_url VARCHAR,
    location             VARCHAR,
    seniority            VARCHAR,
    job_function         VARCHAR,
    extra                VARCHAR,      -- JSON of every source key not mapped to a column
    attributes_hash      VARCHAR NOT NULL,
    first_seen_at        TIMESTAMPTZ NOT NULL,
    last_seen_at         TIMESTAMPTZ NOT NULL,
    times_seen           BIGINT NOT NULL,
    first_task_id        VARCHAR NOT NULL,
    last_task_id         VARCHAR NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One row per company, keyed by company_key ('li:<id>', 'domain:<domain>' or 'slug:<slug>').
CREATE TABLE IF NOT EXISTS {schema}.companies (
    company_key     VARCHAR NOT NULL,
    company_id      VARCHAR,
    company_name    VARCHAR,
    website_domain  VARCHAR,
    linkedin_url    VARCHAR,
    industry        VARCHAR,
    employees_count BIGINT,
    hq_city         VARCHAR,
    hq_country      VARCHAR,
    description     VARCHAR,
    extra           VARCHAR,
    attributes_hash VARCHAR NOT NULL,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    times_seen      BIGINT NOT NULL,
    first_task_id   VARCHAR NOT NULL,
    last_task_id    VARCHAR NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- SCD2 history of a person's tracked attributes: one row per version, the first included.
CREATE TABLE IF NOT EXISTS {schema}.people_history (
    lead_key     VARCHAR NOT NULL,
    title        VARCHAR,
    company_name VARCHAR,
    company_id   VARCHAR,
    location     VARCHAR,
    seniority    VARCHAR,
    tracked_hash VARCHAR NOT NULL,
    valid_from   TIMESTAMPTZ NOT NULL,
    valid_to     TIMESTAMPTZ,          -- NULL for the current version
    task_id      VARCHAR NOT NULL
);

-- Quarantine: one row per unusable input row (search task, position), with the reason.
CREATE TABLE IF NOT EXISTS {schema}.rejected_rows (
    task_id     VARCHAR NOT NULL,
    position    BIGINT NOT NULL,
    mode        VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    raw         VARCHAR NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL
);
