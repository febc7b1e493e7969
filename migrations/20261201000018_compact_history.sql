-- Compact score history (issue 16). A day's score used to be a ~2 KB self-describing JSON
-- snapshot in a rowid table with two indexes; history now keeps one short row per account
-- per day (kind code, raw value, score and contribution per measure), keyed by account and
-- day. The current score's full explanation moves to `account_health`, and a short series
-- of recent daily scores there gives trends without scanning history.

CREATE TABLE health_history (
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day               TEXT NOT NULL,
    scorecard_id      TEXT NOT NULL,
    scorecard_version INTEGER NOT NULL,
    score             REAL,
    band              TEXT,
    -- `su:0.41:82:12.35;ot:3:60:5.4;…` (see health/history.rs)
    measures          TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
-- The dashboards' and the digital lane's day-by-day counts.
CREATE INDEX health_history_day ON health_history(day);

-- Each measure kind's short code in history (health/history.rs `code`), for the
-- conversions below.
CREATE TEMP TABLE measure_codes (kind TEXT PRIMARY KEY, code TEXT NOT NULL);
INSERT INTO measure_codes VALUES
    ('seat_utilization', 'su'), ('active_user_trend', 'au'), ('login_frequency', 'lf'),
    ('key_feature_adoption', 'ka'), ('open_tickets', 'ot'), ('ticket_age', 'ta'),
    ('nps_latest', 'nl'), ('nps_trend', 'nt'), ('stakeholders', 'sh'),
    ('onboarding_progress', 'op'), ('engagement_recency', 'er'), ('csm_sentiment', 'cs');

INSERT INTO health_history (account_id, day, scorecard_id, scorecard_version, score, band, measures)
SELECT s.account_id, s.day, s.scorecard_id, s.scorecard_version, s.score, s.band,
       COALESCE((
           SELECT group_concat(
               COALESCE((SELECT code FROM measure_codes WHERE kind = json_extract(m.value, '$.kind')), 'xx')
               || ':' || COALESCE(round(json_extract(m.value, '$.raw'), 3), '')
               || ':' || COALESCE(round(json_extract(m.value, '$.score'), 1), '')
               || ':' || COALESCE(round(json_extract(m.value, '$.contribution'), 2), 0), ';')
           FROM json_each(s.measures) m), '')
FROM health_snapshots s
WHERE s.kind = 'daily';

-- The current score's full explanation (each measure's raw value as a person reads it,
-- its evidence, override comments), from each account's latest snapshot: ~2 KB an
-- account, in its own table so scans of `account_health` stay narrow.
CREATE TABLE health_explanations (
    account_id        TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    scorecard_name    TEXT NOT NULL,
    scorecard_version INTEGER NOT NULL,
    measures          TEXT NOT NULL
);
INSERT INTO health_explanations (account_id, scorecard_name, scorecard_version, measures)
SELECT h.account_id, s.scorecard_name, s.scorecard_version, s.measures
FROM account_health h
JOIN health_snapshots s ON s.rowid = (SELECT s2.rowid FROM health_snapshots s2 WHERE s2.account_id = h.account_id
                                      ORDER BY s2.computed_at DESC, s2.kind DESC LIMIT 1);

-- What scoring carries from day to day, narrow so a full recompute reads little: the
-- recent daily scores (`20688:81.2,20689:80.9,…`: epoch day and score, the last 120
-- days, oldest first), each measure's score as rules read it (history's compact form),
-- and a fingerprint of everything the last recompute wrote for the account on its day
-- (an equal one means nothing to write).
CREATE TABLE health_state (
    account_id  TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    recent      TEXT NOT NULL,
    scores      TEXT NOT NULL,
    digest      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO health_state (account_id, recent, scores, digest)
SELECT h.account_id,
       COALESCE((SELECT group_concat(CAST(julianday(x.day) - 2440587.5 AS INTEGER) || ':' || round(x.score, 2), ',')
                 FROM (SELECT day, score FROM health_history
                       WHERE account_id = h.account_id AND score IS NOT NULL
                         AND day >= date(h.computed_at, '-120 days')
                       ORDER BY day) x), ''),
       COALESCE((
           SELECT group_concat(
               COALESCE((SELECT code FROM measure_codes WHERE kind = json_extract(m.value, '$.kind')), 'xx')
               || ':' || COALESCE(json_extract(m.value, '$.raw'), '')
               || ':' || COALESCE(json_extract(m.value, '$.score'), '')
               || ':' || COALESCE(json_extract(m.value, '$.contribution'), 0), ';')
           FROM health_explanations x, json_each(x.measures) m WHERE x.account_id = h.account_id), ''),
       0
FROM account_health h;

DROP TABLE measure_codes;
DROP INDEX health_snapshots_day;
DROP INDEX health_snapshots_account;
DROP INDEX health_snapshots_daily;
DROP TABLE health_snapshots;

-- The same fingerprint for ranks: a re-rank writes only the ranks that moved.
ALTER TABLE account_priority ADD COLUMN digest INTEGER;
