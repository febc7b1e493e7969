-- The worklist reads only at-risk ranks (worklist.rs `push_filters`: `WHERE p.at_risk =
-- 1`, on every page and count), so its two rank indexes hold only those, as the
-- dashboard's slices do since migration 39. A next day moves the score of ~25K ranks at
-- 100K accounts, ~14K of them not at risk before or after: each of those moved an entry in
-- both indexes for no screen.
DROP INDEX account_priority_rank;
DROP INDEX account_priority_owner;
CREATE INDEX account_priority_rank ON account_priority(lane, score DESC) WHERE at_risk = 1;
CREATE INDEX account_priority_owner ON account_priority(owner_id, lane, score DESC) WHERE at_risk = 1;
