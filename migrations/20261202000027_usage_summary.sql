-- What an account's whole usage history says about adoption, kept so a whole-book
-- recompute reads only the last 12 weeks the measures need: the first run of weeks that
-- met the adoption criteria, the latest utilizations, whether any week had seats. Without
-- it every run reads every week an account ever had (2.5M rows at 100K accounts after six
-- months, growing each week).
--
-- A row holds while the account's usage is unchanged: any write to its weeks deletes it
-- (the triggers below), and the next recompute reads the account's whole usage again and
-- writes a new one. It is only used when it was made under today's criteria and its
-- latest week had started by the run's day (health/facts.rs `Narrow::holds`).
CREATE TABLE usage_summary (
    -- accounts.rowid
    account          INTEGER PRIMARY KEY,
    -- The criteria it was made under (lifecycle.rs `StageCriteria`).
    adopt_seat_pct   REAL NOT NULL,
    adopt_weeks      INTEGER NOT NULL,
    -- The account's latest week, and the first of its last 12.
    latest_week      TEXT NOT NULL,
    recent_from      TEXT NOT NULL,
    -- The day the first qualifying run completed and its utilizations (JSON numbers).
    first_run_on     TEXT,
    first_run_shares TEXT NOT NULL,
    -- The last `adopt_weeks` utilizations (JSON numbers), and whether any week had seats.
    tail             TEXT NOT NULL,
    any_seats        INTEGER NOT NULL
);

-- Counts writes to usage, so a recompute that read an account's usage before a write does
-- not keep a summary of what it read.
CREATE TABLE usage_epoch (n INTEGER NOT NULL);
INSERT INTO usage_epoch (n) VALUES (0);

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

CREATE TRIGGER usage_summary_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM usage_summary WHERE account = old.rowid;
    UPDATE usage_epoch SET n = n + 1;
END;
