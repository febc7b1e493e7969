-- Score history older than today folded into one delta-encoded series per account and
-- calendar quarter (health/history/packed.rs): a history row costs ~73-84 bytes, repeating
-- its keys, a header and every measure's numbers, while from one day to the next most
-- measures do not move; a sealed daily snapshot costs ~12 bytes, a weekly one ~24.
-- A day's scores are still written as rows (`health_history`); each account's rows from
-- before today are sealed here once a week (health/history.rs `seal`). Rows from before
-- this migration stay rows, readable as before, until their account is sealed.
CREATE TABLE health_history_packed (
    -- accounts.rowid
    account INTEGER NOT NULL,
    -- year * 4 + the quarter's index (0-3)
    quarter INTEGER NOT NULL,
    series  BLOB NOT NULL,
    PRIMARY KEY (account, quarter)
) WITHOUT ROWID;

DROP TRIGGER health_history_account_gone;
CREATE TRIGGER health_history_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM health_history
    WHERE epoch_day IN (SELECT epoch_day FROM history_days) AND account = old.rowid;
    DELETE FROM health_history_packed WHERE account = old.rowid;
END;
