-- Ranks keyed by the account's row number (as the current score and the daily state are,
-- migration 29) instead of its 36-character id: the key is the table's own row id, so the
-- primary key's separate index goes, and the worklist's two paging indexes end with the
-- row id SQLite keeps in every index entry instead of a copied id (ties in score page in
-- row-number order, as the accounts list's do). The table does not sync. An account's
-- rank goes with it (the trigger below, as the foreign key's cascade did).
CREATE TABLE account_priority_keyed (
    -- accounts.rowid
    account      INTEGER PRIMARY KEY,
    computed_at  TEXT NOT NULL,
    -- Open risk: Medium or High severity, or a live risk or escalation CTA.
    at_risk      INTEGER NOT NULL CHECK (at_risk IN (0, 1)),
    -- 'csm' surfaces to a person; 'digital' stays in the tech-touch lane.
    lane         TEXT NOT NULL CHECK (lane IN ('csm', 'digital')),
    score        REAL NOT NULL,
    -- The live risk CTAs' category and matrix cell, and whether any is flagged.
    category     TEXT,
    flagged      INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    open_ctas    INTEGER NOT NULL DEFAULT 0,
    -- Copies of what the worklist filters on, so a filtered page and its count read this
    -- table's indexes alone (refreshed with the score).
    owner_id        TEXT,
    segment         TEXT NOT NULL,
    renewal_date    TEXT NOT NULL,
    severity_level  TEXT,
    -- And what the dashboards group by, so they read this one narrow table.
    arr_base_minor  INTEGER NOT NULL,
    contract_start  TEXT NOT NULL,
    churned         INTEGER NOT NULL DEFAULT 0 CHECK (churned IN (0, 1)),
    -- Fingerprint of the rank's inputs: an unchanged one is not written again.
    digest          INTEGER
);

INSERT INTO account_priority_keyed (account, computed_at, at_risk, lane, score, category, flagged, open_ctas,
    owner_id, segment, renewal_date, severity_level, arr_base_minor, contract_start, churned, digest)
SELECT a.rowid, p.computed_at, p.at_risk, p.lane, p.score, p.category, p.flagged, p.open_ctas,
    p.owner_id, p.segment, p.renewal_date, p.severity_level, p.arr_base_minor, p.contract_start, p.churned, p.digest
FROM account_priority p JOIN accounts a ON a.id = p.account_id
ORDER BY a.rowid;

DROP TABLE account_priority;
ALTER TABLE account_priority_keyed RENAME TO account_priority;

CREATE INDEX account_priority_rank ON account_priority(at_risk, lane, score DESC);
CREATE INDEX account_priority_owner ON account_priority(owner_id, at_risk, lane, score DESC);
CREATE INDEX account_priority_by_severity ON account_priority(at_risk, severity_level, arr_base_minor);
CREATE INDEX account_priority_by_category ON account_priority(at_risk, category, arr_base_minor);
CREATE INDEX account_priority_by_segment ON account_priority(at_risk, segment, arr_base_minor);
CREATE INDEX account_priority_by_owner ON account_priority(at_risk, owner_id, arr_base_minor);
CREATE INDEX account_priority_attrition ON account_priority(segment, churned, at_risk, arr_base_minor);
CREATE INDEX account_priority_tenure ON account_priority(contract_start, churned, arr_base_minor);

CREATE TRIGGER rank_account_gone AFTER DELETE ON accounts BEGIN
    DELETE FROM account_priority WHERE account = old.rowid;
END;
