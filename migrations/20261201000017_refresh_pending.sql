-- Derived work owed after a data change: the accounts whose re-score, stage, signals,
-- rules, escalation and priority are not yet brought up to date. A change writes its
-- accounts here in its own transaction; the refresh clears them when it is done; a row
-- left by a crash is finished on the next start. '*' stands for the whole book.
CREATE TABLE refresh_pending (
    account_id  TEXT PRIMARY KEY NOT NULL,
    since       TEXT NOT NULL,
    -- The day the work is for ("today" of the run that owes it, which `--as-of` moves).
    day         TEXT NOT NULL
) WITHOUT ROWID;
