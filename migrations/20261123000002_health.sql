-- Health scorecards, their history, CSM overrides, risk signals and severity.

-- Shared configuration (signal thresholds, severity weights): one JSON document per key.
CREATE TABLE config (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- A scorecard's measures, weights, mappings and grading live in `definition` (JSON), so
-- editing one never needs a migration; `version` grows with every edit.
CREATE TABLE scorecards (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

-- A CSM's judgment on one measure of one account; it wins over the data until it expires.
CREATE TABLE measure_overrides (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    measure     TEXT NOT NULL,
    score       REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
    comment     TEXT NOT NULL CHECK (length(trim(comment)) > 0),
    author_id   TEXT REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_on  TEXT,
    removed_at  TEXT
);
CREATE INDEX measure_overrides_account ON measure_overrides(account_id, measure);

-- Snapshots are self-describing (measures as computed, with labels and weights), so a
-- later edit of the scorecard leaves past history readable.
CREATE TABLE health_snapshots (
    id              TEXT PRIMARY KEY NOT NULL,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day             TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('daily', 'on_demand')),
    computed_at     TEXT NOT NULL,
    scorecard_id    TEXT NOT NULL,
    scorecard_name  TEXT NOT NULL,
    scorecard_version INTEGER NOT NULL,
    score           REAL,
    band            TEXT,
    measures        TEXT NOT NULL
);
CREATE UNIQUE INDEX health_snapshots_daily ON health_snapshots(account_id, day) WHERE kind = 'daily';
CREATE INDEX health_snapshots_account ON health_snapshots(account_id, computed_at);

-- The latest health and severity of each account, for tables and sorting.
CREATE TABLE account_health (
    account_id      TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    computed_at     TEXT NOT NULL,
    scorecard_id    TEXT NOT NULL,
    score           REAL,
    band            TEXT,
    band_color      TEXT,
    trend_7         REAL,
    trend_30        REAL,
    trend_90        REAL,
    severity_score  REAL NOT NULL,
    severity_level  TEXT NOT NULL CHECK (severity_level IN ('high', 'medium', 'low')),
    severity        TEXT NOT NULL
);
CREATE INDEX account_health_score ON account_health(score);
CREATE INDEX account_health_severity ON account_health(severity_score);

CREATE TABLE signals (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('high', 'medium', 'low')),
    summary      TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    detected_at  TEXT NOT NULL,
    cleared_at   TEXT
);
-- At most one active signal of a kind per account.
CREATE UNIQUE INDEX signals_active ON signals(account_id, kind) WHERE cleared_at IS NULL;
CREATE INDEX signals_account ON signals(account_id, detected_at);
