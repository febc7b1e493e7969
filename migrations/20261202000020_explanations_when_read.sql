-- The current score's explanation (labels, raw values as a person reads them, evidence,
-- override comments) is built when read, from the account's data as scored that day
-- (health/explain.rs `rebuilt`), instead of ~1 KB packed per account rewritten on most
-- days: 109 MB and ~1 s of a next-day recompute at 100K accounts. The numbers a refresh
-- computed stay in `health_state.scores`, exactly, and a test holds the rebuilt
-- explanation to them.
DROP TABLE health_explanations;
