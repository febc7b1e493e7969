-- History keyed by the account's row number instead of its 36-character id: the id was
-- ~40 of a history row's ~130 bytes, in every one of ~100K rows a day. `account` is
-- `accounts.rowid` (which the accounts search index already relies on); a row number is
-- not reused while its account exists, and an account's history goes with it (the
-- trigger below, as the foreign key's cascade did).
--
-- `history_days` lists the days history holds, so one account's rows are found by a
-- seek per day (as before, without the recursive walk over the table) and its deletion
-- costs ~200 seeks instead of a scan of every row.
CREATE TABLE history_days (
    day TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;

INSERT INTO history_days (day) SELECT DISTINCT day FROM health_history;

CREATE TABLE health_history_keyed (
    day               TEXT NOT NULL,
    -- accounts.rowid
    account           INTEGER NOT NULL,
    scorecard         INTEGER NOT NULL,
    scorecard_version INTEGER NOT NULL,
    score             REAL,
    band              TEXT,
    -- health/history.rs `pack` (rows written before it hold the text form)
    measures          BLOB NOT NULL,
    PRIMARY KEY (day, account)
) WITHOUT ROWID;

INSERT INTO health_history_keyed (day, account, scorecard, scorecard_version, score, band, measures)
SELECT h.day, a.rowid, h.scorecard, h.scorecard_version, h.score, h.band, h.measures
FROM health_history h JOIN accounts a ON a.id = h.account_id
ORDER BY h.day, a.rowid;

DROP TABLE health_history;
ALTER TABLE health_history_keyed RENAME TO health_history;

CREATE TRIGGER health_history_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM health_history
    WHERE day IN (SELECT day FROM history_days) AND account = old.rowid;
END;
