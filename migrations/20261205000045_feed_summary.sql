-- What a whole-book recompute reads of an account's tickets, NPS responses and contacts,
-- kept packed in one row (health/feed_summary.rs), so a next day reads one row an account
-- instead of ~7 rows of three tables, each reached through an index (a third of a next
-- day's reading at 100K accounts): the tickets a measure or signal reads (open, or opened
-- in the judged window of the day it was made), the last two NPS responses, the sponsors
-- and champions, and whether the account has tickets or contacts left out.
--
-- As the usage summary (migration 27): any write to the three feeds drops the account's
-- row (the triggers below), and the next whole-book recompute reads the account's feeds
-- and writes a new one. A row holds on any later day than it was made (its tickets are
-- narrowed again by that day's window), never an earlier one.
CREATE TABLE feed_summary (
    -- accounts.rowid
    account  INTEGER PRIMARY KEY,
    -- The day (days since 1970-01-01) whose judged window it holds.
    made_on  INTEGER NOT NULL,
    packed   BLOB NOT NULL
);

-- Counts writes to the feeds, so a recompute that read an account's feeds before a write
-- does not keep a summary of what it read.
CREATE TABLE feed_epoch (n INTEGER NOT NULL);
INSERT INTO feed_epoch (n) VALUES (0);

CREATE TRIGGER feed_summary_ticket_added AFTER INSERT ON tickets BEGIN
    DELETE FROM feed_summary WHERE account = new.account;
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_ticket_changed AFTER UPDATE ON tickets BEGIN
    DELETE FROM feed_summary WHERE account IN (old.account, new.account);
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_ticket_removed AFTER DELETE ON tickets BEGIN
    DELETE FROM feed_summary WHERE account = old.account;
    UPDATE feed_epoch SET n = n + 1;
END;

CREATE TRIGGER feed_summary_nps_added AFTER INSERT ON nps_responses BEGIN
    DELETE FROM feed_summary WHERE account = new.account;
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_nps_changed AFTER UPDATE ON nps_responses BEGIN
    DELETE FROM feed_summary WHERE account IN (old.account, new.account);
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_nps_removed AFTER DELETE ON nps_responses BEGIN
    DELETE FROM feed_summary WHERE account = old.account;
    UPDATE feed_epoch SET n = n + 1;
END;

CREATE TRIGGER feed_summary_contact_added AFTER INSERT ON contacts BEGIN
    DELETE FROM feed_summary WHERE account = new.account;
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_contact_changed AFTER UPDATE ON contacts BEGIN
    DELETE FROM feed_summary WHERE account IN (old.account, new.account);
    UPDATE feed_epoch SET n = n + 1;
END;
CREATE TRIGGER feed_summary_contact_removed AFTER DELETE ON contacts BEGIN
    DELETE FROM feed_summary WHERE account = old.account;
    UPDATE feed_epoch SET n = n + 1;
END;

CREATE TRIGGER feed_summary_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM feed_summary WHERE account = old.rowid;
    UPDATE feed_epoch SET n = n + 1;
END;
