-- Usage weeks keyed by the week's Monday as a day number (days since 1970-01-01) instead
-- of its 10-character text: ~8 of a row's ~24 bytes in 2.5M rows at 100K accounts (six
-- months of weeks), and a whole-book recompute reads each back as a number instead of
-- parsing a date. `week` is store/reader.rs `epoch_day` of the Monday.
CREATE TABLE usage_weekly_numbered (
    -- accounts.rowid
    account                 INTEGER NOT NULL,
    week                    INTEGER NOT NULL,
    active_users            INTEGER NOT NULL CHECK (active_users >= 0),
    licensed_seats          INTEGER NOT NULL CHECK (licensed_seats >= 0),
    logins                  INTEGER NOT NULL CHECK (logins >= 0),
    key_feature_adoption    INTEGER NOT NULL CHECK (key_feature_adoption BETWEEN 0 AND 100),
    PRIMARY KEY (account, week)
) WITHOUT ROWID;

INSERT INTO usage_weekly_numbered (account, week, active_users, licensed_seats, logins, key_feature_adoption)
SELECT account, CAST(julianday(week_start) - 2440587.5 AS INTEGER), active_users, licensed_seats, logins, key_feature_adoption
FROM usage_weekly
ORDER BY 1, 2;

-- Takes its own triggers (migration 27) with it; they are made again below, as is the
-- account's (migration 26), which would name a table missing during the rename.
DROP TRIGGER usage_weekly_account_gone;
DROP TABLE usage_weekly;
ALTER TABLE usage_weekly_numbered RENAME TO usage_weekly;

CREATE TRIGGER usage_weekly_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM usage_weekly WHERE account = old.rowid;
END;

CREATE TRIGGER usage_weekly_added AFTER INSERT ON usage_weekly BEGIN
    DELETE FROM usage_summary WHERE account = new.account;
    UPDATE usage_epoch SET n = n + 1;
END;

CREATE TRIGGER usage_weekly_changed AFTER UPDATE ON usage_weekly BEGIN
    DELETE FROM usage_summary WHERE account IN (old.account, new.account);
    UPDATE usage_epoch SET n = n + 1;
END;

CREATE TRIGGER usage_weekly_removed AFTER DELETE ON usage_weekly BEGIN
    DELETE FROM usage_summary WHERE account = old.account;
    UPDATE usage_epoch SET n = n + 1;
END;
