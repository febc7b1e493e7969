-- Score history keyed by the day's number (days since 1970-01-01, store/reader.rs
-- `epoch_day`) instead of its 10-character text: ~8 of a row's ~78 bytes (and the band
-- ~4 more, below). A book keeps
-- about 100 rows an account under the default retention (90 daily, then weekly), so at
-- 100K accounts that is ~80 MB of the key alone; the bench store's 2.8M rows save ~22 MB.
-- The column is renamed so that no query can go on comparing it with a date's text.
--
-- The band (a scorecard's band name, ~5 bytes) becomes a small number as the scorecard did
-- (migration 19): `band_n` is `history_bands.n`.
CREATE TABLE history_bands (
    n    INTEGER PRIMARY KEY,
    band TEXT NOT NULL UNIQUE
);
INSERT INTO history_bands (band)
SELECT DISTINCT band FROM health_history WHERE band IS NOT NULL ORDER BY band;

CREATE TABLE health_history_numbered (
    -- days since 1970-01-01
    epoch_day         INTEGER NOT NULL,
    -- accounts.rowid
    account           INTEGER NOT NULL,
    scorecard         INTEGER NOT NULL,
    scorecard_version INTEGER NOT NULL,
    score             REAL,
    -- history_bands.n
    band_n            INTEGER,
    -- health/history.rs `pack` (rows written before it hold the text form)
    measures          BLOB NOT NULL,
    PRIMARY KEY (epoch_day, account)
) WITHOUT ROWID;

INSERT INTO health_history_numbered (epoch_day, account, scorecard, scorecard_version, score, band_n, measures)
SELECT CAST(julianday(h.day) - 2440587.5 AS INTEGER), h.account, h.scorecard, h.scorecard_version, h.score, b.n, h.measures
FROM health_history h LEFT JOIN history_bands b ON b.band = h.band
ORDER BY h.day, h.account;

CREATE TABLE history_days_numbered (
    epoch_day INTEGER PRIMARY KEY NOT NULL
) WITHOUT ROWID;
INSERT INTO history_days_numbered (epoch_day)
SELECT CAST(julianday(day) - 2440587.5 AS INTEGER) FROM history_days ORDER BY day;

-- The account's trigger (migration 23) names both tables; it is made again below.
DROP TRIGGER health_history_account_gone;
DROP TABLE health_history;
DROP TABLE history_days;
ALTER TABLE health_history_numbered RENAME TO health_history;
ALTER TABLE history_days_numbered RENAME TO history_days;

CREATE TRIGGER health_history_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM health_history
    WHERE epoch_day IN (SELECT epoch_day FROM history_days) AND account = old.rowid;
END;
