-- The usage summary without what usage_packed (migration 40) now holds: its recent weeks
-- are the tail of the account's packed weeks and its latest week is theirs (a usage write
-- drops the summary, so the two never disagree). Utilizations are 8-byte numbers instead
-- of JSON text (~19 bytes each): at 100K accounts the table was 24.6 MB, ~230 bytes a row.
--
-- Summaries are derived: they go, and the next whole-book recompute reads each account's
-- weeks once and writes them again, as the first one after migration 27 did.
DROP TABLE usage_summary;
CREATE TABLE usage_summary (
    -- accounts.rowid
    account          INTEGER PRIMARY KEY,
    -- The criteria it was made under (lifecycle.rs `StageCriteria`).
    adopt_seat_pct   REAL NOT NULL,
    adopt_weeks      INTEGER NOT NULL,
    -- The day the first qualifying run completed and its utilizations, then the last
    -- `adopt_weeks` utilizations (health/write.rs `shares`: each 8 bytes, little-endian).
    first_run_on     TEXT,
    first_run_shares BLOB NOT NULL,
    tail             BLOB NOT NULL,
    -- Whether any week had seats.
    any_seats        INTEGER NOT NULL
);
