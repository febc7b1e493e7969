-- Turning risk into work: playbooks, CTAs with tasks and weekly risk updates, rules and
-- their run log.

CREATE TABLE playbooks (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    -- 'csm': tasks for a person; 'digital': automated touches for tech-touch accounts.
    kind        TEXT NOT NULL CHECK (kind IN ('csm', 'digital')),
    -- JSON list of {"title": …, "due_in_days": n}.
    tasks       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE ctas (
    id             TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type           TEXT NOT NULL CHECK (type IN ('risk', 'escalation', 'renewal', 'expansion', 'onboarding', 'digital')),
    reason         TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    priority       TEXT NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    status         TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'snoozed', 'closed')),
    owner_id       TEXT REFERENCES users(id),
    due_on         TEXT,
    snoozed_until  TEXT,
    snooze_reason  TEXT,
    outcome        TEXT CHECK (outcome IN ('saved', 'downsell', 'churned', 'no_longer_relevant', 'resolved')),
    closed_at      TEXT,
    -- 'manual', or the rule that fired with the evidence it saw (JSON).
    source         TEXT NOT NULL CHECK (source IN ('manual', 'rule')),
    rule_id        TEXT,
    evidence       TEXT NOT NULL DEFAULT '[]',
    flagged        INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    category       TEXT,
    expected       INTEGER CHECK (expected IN (0, 1)),
    avoidable      INTEGER CHECK (avoidable IN (0, 1)),
    playbook_id    TEXT REFERENCES playbooks(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((status = 'closed') = (outcome IS NOT NULL AND closed_at IS NOT NULL)),
    CHECK ((status = 'snoozed') = (snoozed_until IS NOT NULL))
);
-- Never two live CTAs for the same account, type and reason.
CREATE UNIQUE INDEX ctas_live ON ctas(account_id, type, reason) WHERE status <> 'closed';
CREATE INDEX ctas_owner ON ctas(owner_id, status, due_on);
CREATE INDEX ctas_account ON ctas(account_id, status);

CREATE TABLE cta_tasks (
    id          TEXT PRIMARY KEY NOT NULL,
    cta_id      TEXT NOT NULL REFERENCES ctas(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    due_on      TEXT,
    done_at     TEXT
);
CREATE INDEX cta_tasks_cta ON cta_tasks(cta_id, position);

CREATE TABLE cta_updates (
    id           TEXT PRIMARY KEY NOT NULL,
    cta_id       TEXT NOT NULL REFERENCES ctas(id) ON DELETE CASCADE,
    author_id    TEXT REFERENCES users(id),
    background   TEXT NOT NULL DEFAULT '',
    done_so_far  TEXT NOT NULL DEFAULT '',
    next_steps   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX cta_updates_cta ON cta_updates(cta_id, created_at);

CREATE TABLE rules (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    definition  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

CREATE TABLE rule_runs (
    id           TEXT PRIMARY KEY NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    dry_run      INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    trigger      TEXT NOT NULL,
    accounts     INTEGER NOT NULL,
    fired        INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    closed       INTEGER NOT NULL,
    suppressed   INTEGER NOT NULL,
    errors       TEXT NOT NULL DEFAULT '[]'
);

-- A timeline entry may be about one CTA (a call logged against it, "CTA closed: saved").
ALTER TABLE timeline_entries ADD COLUMN cta_id TEXT REFERENCES ctas(id) ON DELETE SET NULL;
CREATE INDEX timeline_cta ON timeline_entries(cta_id) WHERE cta_id IS NOT NULL;
