-- What a recompute rewrites for every account every day, apart from what moves only with
-- the account's data. The recent series, its fingerprint and the trends it gives move
-- daily (the trend windows slide), so they live in `health_state`; each measure's exact
-- numbers move only when a measure does, so they join the current score in
-- `account_health`. At 100K accounts a next day then rewrites ~100 bytes of state an
-- account and the current rows of the ~half whose score, band or severity moved, instead
-- of ~330 bytes of state an account and the ~87 % of current rows their trends moved.
ALTER TABLE account_health ADD COLUMN scores TEXT;
UPDATE account_health
SET scores = (SELECT s.scores FROM health_state s WHERE s.account_id = account_health.account_id);

CREATE TABLE health_state_daily (
    account_id  TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- health/history.rs `encode_recent` (rows written before it hold the text form)
    recent      BLOB NOT NULL,
    digest      INTEGER NOT NULL,
    -- The score's change over 7, 30 and 90 days, from the recent series.
    trend_7     REAL,
    trend_30    REAL,
    trend_90    REAL
) WITHOUT ROWID;

INSERT INTO health_state_daily (account_id, recent, digest, trend_7, trend_30, trend_90)
SELECT s.account_id, s.recent, s.digest, h.trend_7, h.trend_30, h.trend_90
FROM health_state s LEFT JOIN account_health h ON h.account_id = s.account_id
ORDER BY s.account_id;

DROP TABLE health_state;
ALTER TABLE health_state_daily RENAME TO health_state;

ALTER TABLE account_health DROP COLUMN trend_7;
ALTER TABLE account_health DROP COLUMN trend_30;
ALTER TABLE account_health DROP COLUMN trend_90;
