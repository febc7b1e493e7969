-- The worklist with the tech-touch lane included merges the two lanes, each read in rank
-- order from account_priority_rank (worklist.rs, proved by its query plan in
-- priority/tests.rs), so the cross-lane score index is no longer kept. Every score that
-- moves, ~95K a day at 100K accounts, rewrote an entry in it.
DROP INDEX IF EXISTS account_priority_all_lanes;
