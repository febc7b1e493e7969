-- An account's usage weeks as one row of packed numbers instead of a row a week: 2.5M
-- rows at 100K accounts after six months cost ~22 bytes each (55 MB), while a packed week
-- costs ~6 (store/usage_weeks.rs `pack_all`: per week the days since the previous week's
-- start, the first since 1970-01-01, then active users, seats, logins and key-feature
-- adoption, each a zigzag LEB128 integer). Every reader took an account's weeks whole or
-- its latest one; the latest week's numbers are kept beside the series for the readers
-- that want only them (rules, renewal triage, an import's adoption carry-over).
CREATE TABLE usage_packed (
    -- accounts.rowid
    account                 INTEGER PRIMARY KEY,
    weeks                   BLOB NOT NULL,
    latest_week             INTEGER NOT NULL,
    latest_active_users     INTEGER NOT NULL,
    latest_licensed_seats   INTEGER NOT NULL,
    latest_adoption         INTEGER NOT NULL
);

-- The same bytes `pack_all` writes, built here: a value v >= 0 is z = 2v in 7-bit groups,
-- low first, each but the last with its high bit set (values here are under 2^31).
WITH w AS (
    SELECT account, week,
        week - COALESCE(LAG(week) OVER (PARTITION BY account ORDER BY week), 0) AS gap,
        active_users, licensed_seats, logins, key_feature_adoption
    FROM usage_weekly
), z AS (
    SELECT account, week, 2 * gap AS a, 2 * active_users AS b, 2 * licensed_seats AS c,
        2 * logins AS d, 2 * key_feature_adoption AS e
    FROM w
), hex AS (
    SELECT account, week, (
        SELECT group_concat(
            CASE
                WHEN v < 128 THEN printf('%02x', v)
                WHEN v < 16384 THEN printf('%02x%02x', (v & 127) | 128, v >> 7)
                WHEN v < 2097152 THEN printf('%02x%02x%02x', (v & 127) | 128, ((v >> 7) & 127) | 128, v >> 14)
                WHEN v < 268435456 THEN printf('%02x%02x%02x%02x', (v & 127) | 128, ((v >> 7) & 127) | 128,
                    ((v >> 14) & 127) | 128, v >> 21)
                ELSE printf('%02x%02x%02x%02x%02x', (v & 127) | 128, ((v >> 7) & 127) | 128,
                    ((v >> 14) & 127) | 128, ((v >> 21) & 127) | 128, v >> 28)
            END, '' ORDER BY i)
        FROM (SELECT 1 AS i, z.a AS v UNION ALL SELECT 2, z.b UNION ALL SELECT 3, z.c
              UNION ALL SELECT 4, z.d UNION ALL SELECT 5, z.e)
    ) AS h
    FROM z
)
INSERT INTO usage_packed (account, weeks, latest_week, latest_active_users, latest_licensed_seats, latest_adoption)
SELECT account, unhex(group_concat(h, '' ORDER BY week)), MAX(week), 0, 0, 0
FROM hex GROUP BY account ORDER BY account;

UPDATE usage_packed SET
    latest_active_users = u.active_users,
    latest_licensed_seats = u.licensed_seats,
    latest_adoption = u.key_feature_adoption
FROM usage_weekly u
WHERE u.account = usage_packed.account AND u.week = usage_packed.latest_week;

DROP TRIGGER usage_weekly_account_gone;
DROP TRIGGER usage_weekly_added;
DROP TRIGGER usage_weekly_changed;
DROP TRIGGER usage_weekly_removed;
DROP TABLE usage_weekly;

CREATE TRIGGER usage_packed_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM usage_packed WHERE account = old.rowid;
END;

-- As migration 27's on the weekly rows: a usage write drops the account's summary.
CREATE TRIGGER usage_packed_added AFTER INSERT ON usage_packed BEGIN
    DELETE FROM usage_summary WHERE account = new.account;
    UPDATE usage_epoch SET n = n + 1;
END;

CREATE TRIGGER usage_packed_changed AFTER UPDATE ON usage_packed BEGIN
    DELETE FROM usage_summary WHERE account IN (old.account, new.account);
    UPDATE usage_epoch SET n = n + 1;
END;

CREATE TRIGGER usage_packed_removed AFTER DELETE ON usage_packed BEGIN
    DELETE FROM usage_summary WHERE account = old.account;
    UPDATE usage_epoch SET n = n + 1;
END;
