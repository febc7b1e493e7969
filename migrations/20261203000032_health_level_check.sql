-- The current row's severity check as comparisons instead of an IN list. SQLite 3.40
-- builds a temporary b-tree for a CHECK's IN list of three or more values on every
-- execution of a statement that writes the column: a next day upserts ~50K current rows
-- one statement each, and that b-tree was about half of each upsert's work. The check
-- refuses exactly what it refused (store/tests.rs holds both).
DROP TRIGGER health_account_gone;

CREATE TABLE account_health_checked (
    -- accounts.rowid
    account             INTEGER PRIMARY KEY,
    computed_at         TEXT NOT NULL,
    scorecard_id        TEXT NOT NULL,
    score               REAL,
    band                TEXT,
    band_color          TEXT,
    severity_score      REAL NOT NULL,
    severity_level      TEXT NOT NULL
        CHECK (severity_level = 'high' OR severity_level = 'medium' OR severity_level = 'low'),
    severity            TEXT NOT NULL,
    measures_with_data  INTEGER,
    measures_total      INTEGER,
    -- Each measure's numbers, exactly: health/history.rs `pack_exact`'s bytes (declared
    -- TEXT as before; older rows hold the text form, read and rewritten once).
    scores              TEXT
);

INSERT INTO account_health_checked (account, computed_at, scorecard_id, score, band, band_color,
    severity_score, severity_level, severity, measures_with_data, measures_total, scores)
SELECT account, computed_at, scorecard_id, score, band, band_color,
    severity_score, severity_level, severity, measures_with_data, measures_total, scores
FROM account_health ORDER BY account;

DROP TABLE account_health;
ALTER TABLE account_health_checked RENAME TO account_health;
CREATE INDEX account_health_score ON account_health(score);
CREATE INDEX account_health_severity ON account_health(severity_score);

CREATE TRIGGER health_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM account_health WHERE account = old.rowid;
    DELETE FROM health_state WHERE account = old.rowid;
END;
