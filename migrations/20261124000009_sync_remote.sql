-- Accounts that arrived by sync from another device. Their usage, tickets and NPS live on
-- the device that owns them, so this device neither scores them nor runs rules over them:
-- a manager's laptop holding the organisation's escalations must not open CTAs (or score
-- "no usage") for accounts whose data it never sees.
CREATE TABLE sync_remote (
    account_id  TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TRIGGER sync_remote_account_arrives AFTER INSERT ON accounts
WHEN (SELECT applying = 1 FROM sync_clock) BEGIN
    INSERT OR IGNORE INTO sync_remote (account_id) VALUES (new.id);
END;
