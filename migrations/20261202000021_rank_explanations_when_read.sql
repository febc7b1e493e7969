-- A rank's explanation (each factor, its input and points, the lane and open-risk
-- reasons) is computed when read from the same inputs the rank was (priority.rs
-- `explained`), instead of ~650 bytes per account rewritten for ~95 % of accounts every
-- day (severity, and with it every factor's points, moves with the days to renewal).
-- The ranked numbers stay in `account_priority`.
DROP TABLE priority_explanations;
