-- Leadership escalation: an escalation is an escalation-type CTA owned by the executive
-- who owns the risk's category, with what made it an escalation, the actions leadership
-- agreed, the decisions taken in the weekly business review, and how it ended.

CREATE TABLE escalations (
    cta_id             TEXT PRIMARY KEY NOT NULL REFERENCES ctas(id) ON DELETE CASCADE,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- The CSM's risk CTA it escalates, when there is one.
    linked_cta_id      TEXT REFERENCES ctas(id) ON DELETE SET NULL,
    -- 'severity', 'strategic_sponsor_lost', 'steep_usage_drop', 'recurring_issues' or 'manual'.
    criterion          TEXT NOT NULL,
    reason             TEXT NOT NULL,
    escalated_by       TEXT REFERENCES users(id),
    severity_at_open   REAL,
    arr_at_open_minor  INTEGER NOT NULL,
    opened_at          TEXT NOT NULL,
    closed_at          TEXT,
    -- 'saved', 'downsell', 'churned', 'resolved' (without leadership) or 'de_escalated'.
    outcome            TEXT CHECK (outcome IN ('saved', 'downsell', 'churned', 'resolved', 'de_escalated')),
    arr_retained_minor INTEGER,
    -- A de-escalated account is not re-escalated by the criteria before this day.
    quiet_until        TEXT,
    CHECK ((outcome IS NULL) = (closed_at IS NULL)),
    CHECK (outcome <> 'downsell' OR arr_retained_minor IS NOT NULL)
);
-- At most one open escalation per account.
CREATE UNIQUE INDEX escalations_open ON escalations(account_id) WHERE closed_at IS NULL;
CREATE INDEX escalations_closed ON escalations(closed_at);

CREATE TABLE escalation_actions (
    id             TEXT PRIMARY KEY NOT NULL,
    escalation_id  TEXT NOT NULL REFERENCES escalations(cta_id) ON DELETE CASCADE,
    -- 'executive_outreach', 'product_intervention', 'commercial_concession', 'services', 'other'.
    kind           TEXT NOT NULL,
    description    TEXT NOT NULL CHECK (length(trim(description)) > 0),
    owner_id       TEXT REFERENCES users(id),
    due_on         TEXT,
    done_at        TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX escalation_actions_escalation ON escalation_actions(escalation_id);

CREATE TABLE escalation_decisions (
    id             TEXT PRIMARY KEY NOT NULL,
    escalation_id  TEXT NOT NULL REFERENCES escalations(cta_id) ON DELETE CASCADE,
    decided_at     TEXT NOT NULL,
    author_id      TEXT REFERENCES users(id),
    text           TEXT NOT NULL CHECK (length(trim(text)) > 0)
);
CREATE INDEX escalation_decisions_escalation ON escalation_decisions(escalation_id, decided_at);
