-- The current score and the daily state keyed by the account's row number (as history,
-- usage and the last touch are) instead of its 36-character id. A next day rewrites the
-- state of every account and the current row of about half of them: each write sought a
-- text key whose first ~14 characters every UUIDv7 shares, and each row carried the id
-- twice (the row and the primary key's index). Neither table syncs, so no other device
-- sees the change. An account's rows go with it (the triggers below, as the foreign key's
-- cascade did).
CREATE TABLE account_health_keyed (
    -- accounts.rowid
    account             INTEGER PRIMARY KEY,
    computed_at         TEXT NOT NULL,
    scorecard_id        TEXT NOT NULL,
    score               REAL,
    band                TEXT,
    band_color          TEXT,
    severity_score      REAL NOT NULL,
    severity_level      TEXT NOT NULL CHECK (severity_level IN ('high', 'medium', 'low')),
    severity            TEXT NOT NULL,
    measures_with_data  INTEGER,
    measures_total      INTEGER,
    -- Each measure's numbers, exactly (health/history.rs `encode_exact`).
    scores              TEXT
);

INSERT INTO account_health_keyed (account, computed_at, scorecard_id, score, band, band_color, severity_score,
    severity_level, severity, measures_with_data, measures_total, scores)
SELECT a.rowid, h.computed_at, h.scorecard_id, h.score, h.band, h.band_color, h.severity_score,
    h.severity_level, h.severity, h.measures_with_data, h.measures_total, h.scores
FROM account_health h JOIN accounts a ON a.id = h.account_id
ORDER BY a.rowid;

DROP TABLE account_health;
ALTER TABLE account_health_keyed RENAME TO account_health;
CREATE INDEX account_health_score ON account_health(score);
CREATE INDEX account_health_severity ON account_health(severity_score);

CREATE TABLE health_state_keyed (
    -- accounts.rowid
    account     INTEGER PRIMARY KEY,
    -- health/history.rs `encode_recent` (rows written before it hold the text form)
    recent      BLOB NOT NULL,
    digest      INTEGER NOT NULL,
    -- The score's change over 7, 30 and 90 days, from the recent series.
    trend_7     REAL,
    trend_30    REAL,
    trend_90    REAL
);

INSERT INTO health_state_keyed (account, recent, digest, trend_7, trend_30, trend_90)
SELECT a.rowid, s.recent, s.digest, s.trend_7, s.trend_30, s.trend_90
FROM health_state s JOIN accounts a ON a.id = s.account_id
ORDER BY a.rowid;

DROP TABLE health_state;
ALTER TABLE health_state_keyed RENAME TO health_state;

CREATE TRIGGER health_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM account_health WHERE account = old.rowid;
    DELETE FROM health_state WHERE account = old.rowid;
END;
