-- The dashboard's at-risk slices (by severity, category, segment and owner) read only
-- at-risk ranks (dashboard.rs `slice_sql`: `WHERE at_risk = 1`), so their indexes hold
-- only those: about a quarter of a book's ranks, and a rank that is not at risk costs no
-- entry to write. At 100K accounts the four were 12.9 MB, every rank in each.
DROP INDEX account_priority_by_severity;
DROP INDEX account_priority_by_category;
DROP INDEX account_priority_by_segment;
DROP INDEX account_priority_by_owner;
CREATE INDEX account_priority_by_severity ON account_priority(severity_level, arr_base_minor) WHERE at_risk = 1;
CREATE INDEX account_priority_by_category ON account_priority(category, arr_base_minor) WHERE at_risk = 1;
CREATE INDEX account_priority_by_segment ON account_priority(segment, arr_base_minor) WHERE at_risk = 1;
CREATE INDEX account_priority_by_owner ON account_priority(owner_id, arr_base_minor) WHERE at_risk = 1;
