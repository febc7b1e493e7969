-- The tech-touch lane's 90-day trend kept as a daily aggregate, as the dashboard's is:
-- reading every lane account's scores of 90 days took 1.4 s at 100K accounts.
--
-- Whether an account was in the digital lane when its score of the day was written
-- (priority.rs `Lane`: the lane its rank puts it in). NULL in rows from before.
ALTER TABLE health_history ADD COLUMN digital INTEGER;

-- The digital lane's accounts under 50 and its accounts with a score that day. NULL where
-- some row of the day is from before the flag: the lane screen counts that day from the
-- history with today's lanes, and the next whole-book refresh keeps what it counted.
ALTER TABLE risk_daily ADD COLUMN lane_at_risk INTEGER;
ALTER TABLE risk_daily ADD COLUMN lane_scored INTEGER;
