-- Score history clustered by day (issue 16). Keyed by (account, day), each day's 100K
-- new rows landed on ~100K different pages (every page of the table dirtied, written and
-- checkpointed daily) and a second index by day was needed for the dashboards. Keyed by
-- (day, account), a day's rows are an append and the dashboards' day scans are the table
-- itself. One account's series seeks each stored day (health/history.rs `DAYS`): with the
-- default retention about 200 seeks.
--
-- The scorecard is a small number (`history_scorecards`) instead of its 36-character id.

CREATE TABLE history_scorecards (
    n            INTEGER PRIMARY KEY,
    scorecard_id TEXT NOT NULL UNIQUE
);
INSERT INTO history_scorecards (scorecard_id)
SELECT DISTINCT scorecard_id FROM health_history ORDER BY scorecard_id;

CREATE TABLE health_history_by_day (
    day               TEXT NOT NULL,
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    scorecard         INTEGER NOT NULL,
    scorecard_version INTEGER NOT NULL,
    score             REAL,
    band              TEXT,
    -- `su:0.41:82:12.35;ot:3:60:5.4;…` (see health/history.rs)
    measures          TEXT NOT NULL,
    PRIMARY KEY (day, account_id)
) WITHOUT ROWID;

INSERT INTO health_history_by_day (day, account_id, scorecard, scorecard_version, score, band, measures)
SELECT h.day, h.account_id, c.n, h.scorecard_version, h.score, h.band, h.measures
FROM health_history h JOIN history_scorecards c ON c.scorecard_id = h.scorecard_id
ORDER BY h.day, h.account_id;

DROP INDEX health_history_day;
DROP TABLE health_history;
ALTER TABLE health_history_by_day RENAME TO health_history;
