-- Contacts, tickets, NPS responses and timeline entries keyed by the account's row number
-- (as usage and history are, migrations 23 and 26) instead of its 36-character id. Each
-- row held the id and so did its account index: ~70 of a row's bytes, in ~1M rows at
-- 100K accounts (~85 MB of the bench store's 958 MB), and a recompute's reads compared
-- text where an integer does. `account` is `accounts.rowid`; an account's rows go with it
-- (the trigger at the end, as the foreign keys' cascades did).
--
-- Order matters: NPS responses reference contacts, and dropping a referenced table with
-- foreign keys on deletes its rows first (setting every response's contact to NULL). The
-- new NPS table references the new contacts table, the old tables go, then the renames
-- (which carry the reference along).

CREATE TABLE contacts_keyed (
    id          TEXT PRIMARY KEY NOT NULL,
    -- accounts.rowid
    account     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    title       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL CHECK (role IN ('sponsor', 'champion', 'user', 'billing')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'left')),
    left_on     TEXT,
    created_at  TEXT NOT NULL,
    external_id TEXT,
    CHECK ((status = 'left') = (left_on IS NOT NULL))
);
-- Row numbers kept: an account's contacts read in the order they were added.
INSERT INTO contacts_keyed (rowid, id, account, name, email, title, role, status, left_on, created_at, external_id)
SELECT c.rowid, c.id, a.rowid, c.name, c.email, c.title, c.role, c.status, c.left_on, c.created_at, c.external_id
FROM contacts c JOIN accounts a ON a.id = c.account_id
ORDER BY c.rowid;

CREATE TABLE nps_keyed (
    id            TEXT PRIMARY KEY NOT NULL,
    -- accounts.rowid
    account       INTEGER NOT NULL,
    contact_id    TEXT REFERENCES contacts_keyed(id) ON DELETE SET NULL,
    score         INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment       TEXT NOT NULL DEFAULT '',
    responded_on  TEXT NOT NULL,
    external_id   TEXT
);
INSERT INTO nps_keyed (rowid, id, account, contact_id, score, comment, responded_on, external_id)
SELECT n.rowid, n.id, a.rowid, n.contact_id, n.score, n.comment, n.responded_on, n.external_id
FROM nps_responses n JOIN accounts a ON a.id = n.account_id
ORDER BY n.rowid;

DROP TABLE nps_responses;
DROP TABLE contacts;
ALTER TABLE contacts_keyed RENAME TO contacts;
ALTER TABLE nps_keyed RENAME TO nps_responses;
CREATE INDEX contacts_account ON contacts(account);
CREATE UNIQUE INDEX contacts_external ON contacts(external_id);
CREATE INDEX nps_account ON nps_responses(account, responded_on);
CREATE UNIQUE INDEX nps_external ON nps_responses(external_id);

CREATE TABLE tickets_keyed (
    id          TEXT PRIMARY KEY NOT NULL,
    -- accounts.rowid
    account     INTEGER NOT NULL,
    external_id TEXT,
    subject     TEXT NOT NULL,
    priority    TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    category    TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    resolved_at TEXT
);
INSERT INTO tickets_keyed (rowid, id, account, external_id, subject, priority, category, opened_at, resolved_at)
SELECT t.rowid, t.id, a.rowid, t.external_id, t.subject, t.priority, t.category, t.opened_at, t.resolved_at
FROM tickets t JOIN accounts a ON a.id = t.account_id
ORDER BY t.rowid;
DROP TABLE tickets;
ALTER TABLE tickets_keyed RENAME TO tickets;
CREATE INDEX tickets_account ON tickets(account, opened_at);
CREATE INDEX tickets_external ON tickets(external_id);

CREATE TABLE timeline_keyed (
    id           TEXT PRIMARY KEY NOT NULL,
    -- accounts.rowid
    account      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'note', 'risk_update', 'system')),
    occurred_at  TEXT NOT NULL,
    author_id    TEXT REFERENCES users(id),
    body         TEXT NOT NULL,
    cta_id       TEXT REFERENCES ctas(id) ON DELETE SET NULL
);
-- Row numbers kept: a day's entries list newest first by them.
INSERT INTO timeline_keyed (rowid, id, account, kind, occurred_at, author_id, body, cta_id)
SELECT t.rowid, t.id, a.rowid, t.kind, t.occurred_at, t.author_id, t.body, t.cta_id
FROM timeline_entries t JOIN accounts a ON a.id = t.account_id
ORDER BY t.rowid;
-- Takes the last-touch triggers (migration 28) with it; they are made again below.
DROP TABLE timeline_entries;
ALTER TABLE timeline_keyed RENAME TO timeline_entries;
CREATE INDEX timeline_account ON timeline_entries(account, occurred_at);
CREATE INDEX timeline_cta ON timeline_entries(cta_id) WHERE cta_id IS NOT NULL;

CREATE TRIGGER last_touch_added AFTER INSERT ON timeline_entries WHEN new.kind <> 'system' BEGIN
    INSERT INTO last_touch (account, at) VALUES (new.account, new.occurred_at)
    ON CONFLICT(account) DO UPDATE SET at = MAX(COALESCE(at, ''), excluded.at);
END;

-- A changed or removed entry may have been the last: read the account's again (one seek
-- into timeline_account from its end). An account already gone keeps no last touch.
CREATE TRIGGER last_touch_changed AFTER UPDATE OF account, kind, occurred_at ON timeline_entries BEGIN
    INSERT OR REPLACE INTO last_touch (account, at)
    SELECT a.rowid, (SELECT MAX(t.occurred_at) FROM timeline_entries t WHERE t.account = a.rowid AND t.kind <> 'system')
    FROM accounts a WHERE a.rowid IN (old.account, new.account);
END;

CREATE TRIGGER last_touch_removed AFTER DELETE ON timeline_entries WHEN old.kind <> 'system' BEGIN
    INSERT OR REPLACE INTO last_touch (account, at)
    SELECT a.rowid, (SELECT MAX(t.occurred_at) FROM timeline_entries t WHERE t.account = a.rowid AND t.kind <> 'system')
    FROM accounts a WHERE a.rowid = old.account;
END;

CREATE TRIGGER feeds_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM nps_responses WHERE account = old.rowid;
    DELETE FROM contacts WHERE account = old.rowid;
    DELETE FROM tickets WHERE account = old.rowid;
    DELETE FROM timeline_entries WHERE account = old.rowid;
END;
