-- Score history older than today folded into one delta-encoded series per account and
-- calendar quarter (health/history/packed.rs): a history row costs ~73-84 bytes, repeating
-- its keys, a header and every measure's numbers, while from one day to the next most
-- measures do not move; a sealed daily snapshot costs ~12 bytes, a weekly one ~24.
-- A day's scores are still written as rows (`health_history`); each account's rows from
-- before today are sealed here once a week (health/history.rs `seal`). Rows from before
-- this migration stay rows, readable as before, until their account is sealed.
--
-- Keyed by one integer, `accounts.rowid * 65536 + quarter` (quarter: year * 4 + the
-- quarter's index), so an account's series are one key range and the table is a rowid
-- b-tree: keyed by (account, quarter) WITHOUT ROWID, every interior page held whole
-- records and a series past ~1 KB (a quarter of daily scores) spilled into a mostly empty
-- overflow page (45 of 196 MB after 100 days of daily use at 100K accounts).
CREATE TABLE health_history_packed (
    key    INTEGER PRIMARY KEY,
    series BLOB NOT NULL
);

DROP TRIGGER health_history_account_gone;
CREATE TRIGGER health_history_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM health_history
    WHERE epoch_day IN (SELECT epoch_day FROM history_days) AND account = old.rowid;
    DELETE FROM health_history_packed
    WHERE key BETWEEN old.rowid * 65536 AND old.rowid * 65536 + 65535;
END;
