-- Prioritization: the ranked worklist, risk categories with their owning executives, and
-- the tech-touch lane.

-- Churn reasons a risk maps to; each has an executive accountable for it.
CREATE TABLE risk_categories (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
    owner_id    TEXT REFERENCES users(id) ON DELETE SET NULL,
    position    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- An account's place in the worklist, kept current as its inputs change (recompute,
-- rule runs, CTA edits, a change of weights), so the worklist reads one index.
CREATE TABLE account_priority (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    computed_at  TEXT NOT NULL,
    -- Open risk: Medium or High severity, or a live risk or escalation CTA.
    at_risk      INTEGER NOT NULL CHECK (at_risk IN (0, 1)),
    -- 'csm' surfaces to a person; 'digital' stays in the tech-touch lane.
    lane         TEXT NOT NULL CHECK (lane IN ('csm', 'digital')),
    score        REAL NOT NULL,
    -- The live risk CTAs' category and matrix cell, and whether any is flagged.
    category     TEXT,
    flagged      INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    open_ctas    INTEGER NOT NULL DEFAULT 0,
    -- Copies of what the worklist filters on, so a filtered page and its count read this
    -- table's indexes alone (refreshed with the score).
    owner_id        TEXT,
    segment         TEXT NOT NULL,
    renewal_date    TEXT NOT NULL,
    severity_level  TEXT,
    -- And what the dashboards group by, so they read this one narrow table.
    arr_base_minor  INTEGER NOT NULL,
    contract_start  TEXT NOT NULL,
    churned         INTEGER NOT NULL DEFAULT 0 CHECK (churned IN (0, 1))
);
-- Ranked order with a stable tie-break, so a first page stops after its rows.
CREATE INDEX account_priority_rank ON account_priority(at_risk, lane, score DESC, account_id);
CREATE INDEX account_priority_all_lanes ON account_priority(at_risk, score DESC, account_id);
-- Why each account ranks where it does (JSON: every factor with its input and effect),
-- apart from the narrow table the worklist and dashboards scan.
CREATE TABLE priority_explanations (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    explanation  TEXT NOT NULL
);
CREATE INDEX account_priority_owner ON account_priority(owner_id, at_risk, lane, score DESC, account_id);
-- The dashboards read these covering indexes alone, never the table's rows.
CREATE INDEX account_priority_by_severity ON account_priority(at_risk, severity_level, arr_base_minor);
CREATE INDEX account_priority_by_category ON account_priority(at_risk, category, arr_base_minor);
CREATE INDEX account_priority_by_segment ON account_priority(at_risk, segment, arr_base_minor);
CREATE INDEX account_priority_by_owner ON account_priority(at_risk, owner_id, arr_base_minor);
CREATE INDEX account_priority_attrition ON account_priority(segment, churned, at_risk, arr_base_minor);
CREATE INDEX account_priority_tenure ON account_priority(contract_start, churned, arr_base_minor);
