-- Each account's last touch (the latest of its timeline entries other than system
-- events), kept as entries arrive, so a whole-book recompute reads one row an account
-- instead of every call, meeting, email and note it ever had (the engagement measure
-- reads only the latest; a book in use for years holds dozens an account, growing).
--
-- Kept by the triggers below in the same transaction as the entry, so a reader's
-- snapshot holds the entries and their summary as of one moment. `at` is the entry's
-- stored text, the greatest as text (as the whole read, ordered by it, ends with); NULL
-- when an account's last touch was removed.
CREATE TABLE last_touch (
    -- accounts.rowid
    account INTEGER PRIMARY KEY,
    at      TEXT
);

INSERT INTO last_touch (account, at)
SELECT a.rowid, MAX(t.occurred_at)
FROM timeline_entries t JOIN accounts a ON a.id = t.account_id
WHERE t.kind <> 'system'
GROUP BY a.rowid;

-- A new touch can only move the last one later.
CREATE TRIGGER last_touch_added AFTER INSERT ON timeline_entries WHEN new.kind <> 'system' BEGIN
    INSERT INTO last_touch (account, at)
    SELECT rowid, new.occurred_at FROM accounts WHERE id = new.account_id
    ON CONFLICT(account) DO UPDATE SET at = MAX(COALESCE(at, ''), excluded.at);
END;

-- A changed or removed entry may have been the last: read the account's again (one
-- seek into timeline_account from its end).
CREATE TRIGGER last_touch_changed AFTER UPDATE OF account_id, kind, occurred_at ON timeline_entries BEGIN
    INSERT OR REPLACE INTO last_touch (account, at)
    SELECT a.rowid, (SELECT MAX(t.occurred_at) FROM timeline_entries t WHERE t.account_id = a.id AND t.kind <> 'system')
    FROM accounts a WHERE a.id IN (old.account_id, new.account_id);
END;

CREATE TRIGGER last_touch_removed AFTER DELETE ON timeline_entries WHEN old.kind <> 'system' BEGIN
    INSERT OR REPLACE INTO last_touch (account, at)
    SELECT a.rowid, (SELECT MAX(t.occurred_at) FROM timeline_entries t WHERE t.account_id = a.id AND t.kind <> 'system')
    FROM accounts a WHERE a.id = old.account_id;
END;

CREATE TRIGGER last_touch_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM last_touch WHERE account = old.rowid;
END;
