-- The usage summary carries the account's last 12 weeks themselves (health/usage_weeks.rs
-- `pack`, ~70 bytes), so a whole-book recompute reads one summary row an account instead
-- of the 12 weekly rows it was pointed at (1.2M rows at 100K accounts, the largest read
-- of a next day). A usage write still drops the account's summary (migration 27's
-- triggers), so the weeks it holds are the account's last for as long as it stands.
--
-- Summaries made before hold no weeks: they go, and the next whole-book recompute reads
-- each account's usage once and writes them again, as the first one after migration 27
-- did.
DELETE FROM usage_summary;
ALTER TABLE usage_summary DROP COLUMN recent_from;
-- health/usage_weeks.rs `pack`
ALTER TABLE usage_summary ADD COLUMN recent BLOB NOT NULL DEFAULT x'';
