-- Usage weeks keyed by the account's row number (as history is, migration 23) instead of
-- its 36-character id: an account has a row a week (2.5M rows for 100K accounts over six
-- months), the id was ~40 of each row's ~65 bytes, and a whole-book recompute reads every
-- row. The account's usage goes with it (the trigger below, as the foreign key's cascade
-- did).
CREATE TABLE usage_weekly_keyed (
    -- accounts.rowid
    account                 INTEGER NOT NULL,
    week_start              TEXT NOT NULL,
    active_users            INTEGER NOT NULL CHECK (active_users >= 0),
    licensed_seats          INTEGER NOT NULL CHECK (licensed_seats >= 0),
    logins                  INTEGER NOT NULL CHECK (logins >= 0),
    key_feature_adoption    INTEGER NOT NULL CHECK (key_feature_adoption BETWEEN 0 AND 100),
    PRIMARY KEY (account, week_start)
) WITHOUT ROWID;

INSERT INTO usage_weekly_keyed (account, week_start, active_users, licensed_seats, logins, key_feature_adoption)
SELECT a.rowid, u.week_start, u.active_users, u.licensed_seats, u.logins, u.key_feature_adoption
FROM usage_weekly u JOIN accounts a ON a.id = u.account_id
ORDER BY a.rowid, u.week_start;

DROP TABLE usage_weekly;
ALTER TABLE usage_weekly_keyed RENAME TO usage_weekly;

CREATE TRIGGER usage_weekly_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM usage_weekly WHERE account = old.rowid;
END;
