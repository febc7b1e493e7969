-- Dashboards read daily aggregates instead of scanning every snapshot: one row per
-- snapshot day, written when that day's snapshots are.
CREATE TABLE risk_daily (
    day             TEXT PRIMARY KEY NOT NULL,
    -- Accounts scoring under 50 that day, and their ARR (base currency, minor units).
    accounts        INTEGER NOT NULL,
    arr_base_minor  INTEGER NOT NULL,
    scored          INTEGER NOT NULL
);
CREATE INDEX ctas_churned ON ctas(account_id) WHERE outcome = 'churned';
CREATE INDEX health_snapshots_day ON health_snapshots(day) WHERE kind = 'daily';
