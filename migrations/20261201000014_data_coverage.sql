-- No data is not healthy: how many of its scorecard's measures an account has data for,
-- for the Accounts table's coverage column (an account below the scorecard's share has no
-- score at all).
ALTER TABLE account_health ADD COLUMN measures_with_data INTEGER;
ALTER TABLE account_health ADD COLUMN measures_total INTEGER;
