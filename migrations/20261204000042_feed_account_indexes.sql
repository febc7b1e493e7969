-- An account's tickets and timeline entries are found by its row number alone: the
-- indexes no longer carry each row's 25-character time. An account holds a few of each
-- (2.7 tickets and 2.8 entries on average in the 100K bench book), so the readers that
-- order by time sort each account's few rows (SQLite's "temp b-tree for right part of
-- ORDER BY") instead of reading them in order from the index; the two indexes were 23.5
-- of the bench store's MB, ~43 bytes an entry.
DROP INDEX tickets_account;
CREATE INDEX tickets_account ON tickets(account);
DROP INDEX timeline_account;
CREATE INDEX timeline_account ON timeline_entries(account);
