-- The tech-touch lane's screen counts the lane's ranks by (at risk, category, severity)
-- with their ARR, and its playbooks' digital CTAs by playbook and outcome (lane.rs
-- `summary`). Each was a scan of the whole table: 100K ranks and every CTA of the book
-- (~60K), 30-60 ms apiece at 100K accounts, which held the screen over its 100 ms. Both
-- indexes hold only the lane's rows and every column their query reads (the lane's own
-- column too, so no row is fetched from the table behind them).
CREATE INDEX account_priority_lane ON account_priority(at_risk, category, severity_level, arr_base_minor, lane)
    WHERE lane = 'digital';
CREATE INDEX ctas_digital ON ctas(playbook_id, reason, status, outcome, type) WHERE type = 'digital';
