-- Foundation of the local store: people, accounts and the time series that feed health.
-- Conventions: ids are UUIDv7 text; money is integer minor units + ISO currency code;
-- dates are 'YYYY-MM-DD'; timestamps are RFC 3339 UTC text.

CREATE TABLE teams (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('csm', 'manager', 'executive', 'admin')),
    title       TEXT NOT NULL DEFAULT '',
    team_id     TEXT REFERENCES teams(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX users_team ON users(team_id);
CREATE INDEX users_name ON users(name COLLATE NOCASE, id);

-- Conversion into the base currency (USD): base minor units per one minor unit of the
-- currency, in parts per million, so ARR in different currencies is compared and summed
-- without floats. minor_digits: 2 for cents, 0 for yen.
CREATE TABLE fx_rates (
    currency      TEXT PRIMARY KEY NOT NULL CHECK (length(currency) = 3),
    rate_ppm      INTEGER NOT NULL CHECK (rate_ppm > 0),
    minor_digits  INTEGER NOT NULL DEFAULT 2 CHECK (minor_digits BETWEEN 0 AND 4)
);
INSERT INTO fx_rates (currency, rate_ppm, minor_digits) VALUES
    ('USD', 1000000, 2), ('EUR', 1080000, 2), ('GBP', 1270000, 2), ('CAD', 730000, 2),
    ('AUD', 660000, 2), ('JPY', 670000, 0), ('CHF', 1130000, 2), ('SEK', 95000, 2);

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    arr_minor           INTEGER NOT NULL CHECK (arr_minor >= 0 AND arr_minor <= 9007199254740991),
    currency            TEXT NOT NULL REFERENCES fx_rates(currency),
    -- ARR converted to the base currency at write time; what sorting and totals use.
    arr_base_minor      INTEGER NOT NULL CHECK (arr_base_minor >= 0),
    segment             TEXT NOT NULL CHECK (segment IN ('strategic', 'enterprise', 'mid_market', 'tech_touch')),
    stage               TEXT NOT NULL CHECK (stage IN ('onboarding', 'adopting', 'mature', 'renewal')),
    contract_start      TEXT NOT NULL,
    renewal_date        TEXT NOT NULL,
    owner_id            TEXT REFERENCES users(id),
    strategic           INTEGER NOT NULL DEFAULT 0 CHECK (strategic IN (0, 1)),
    expansion_potential TEXT NOT NULL DEFAULT 'none' CHECK (expansion_potential IN ('none', 'low', 'medium', 'high')),
    industry            TEXT NOT NULL DEFAULT '',
    region              TEXT NOT NULL DEFAULT '',
    crm_id              TEXT UNIQUE,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX accounts_name ON accounts(name COLLATE NOCASE);
-- Substring search over name and CRM id without scanning the table.
CREATE VIRTUAL TABLE accounts_search USING fts5(
    name, crm_id, content = 'accounts', content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_search (rowid, name, crm_id) VALUES (new.rowid, new.name, new.crm_id);
END;
CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, name, crm_id) VALUES ('delete', old.rowid, old.name, old.crm_id);
END;
CREATE TRIGGER accounts_search_update AFTER UPDATE OF name, crm_id ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, name, crm_id) VALUES ('delete', old.rowid, old.name, old.crm_id);
    INSERT INTO accounts_search (rowid, name, crm_id) VALUES (new.rowid, new.name, new.crm_id);
END;
CREATE INDEX accounts_arr ON accounts(arr_base_minor);
CREATE INDEX accounts_renewal ON accounts(renewal_date);
CREATE INDEX accounts_owner ON accounts(owner_id);
CREATE INDEX accounts_segment ON accounts(segment, arr_base_minor);
CREATE INDEX accounts_stage ON accounts(stage, arr_base_minor);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    title       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL CHECK (role IN ('sponsor', 'champion', 'user', 'billing')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'left')),
    left_on     TEXT,
    created_at  TEXT NOT NULL,
    CHECK ((status = 'left') = (left_on IS NOT NULL))
);
CREATE INDEX contacts_account ON contacts(account_id);

-- One row per account and ISO week (week_start is a Monday).
CREATE TABLE usage_weekly (
    account_id              TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    week_start              TEXT NOT NULL,
    active_users            INTEGER NOT NULL CHECK (active_users >= 0),
    licensed_seats          INTEGER NOT NULL CHECK (licensed_seats >= 0),
    logins                  INTEGER NOT NULL CHECK (logins >= 0),
    key_feature_adoption    INTEGER NOT NULL CHECK (key_feature_adoption BETWEEN 0 AND 100),
    PRIMARY KEY (account_id, week_start)
) WITHOUT ROWID;

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id TEXT,
    subject     TEXT NOT NULL,
    priority    TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    category    TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX tickets_account ON tickets(account_id, opened_at);

CREATE TABLE nps_responses (
    id            TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id    TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    score         INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment       TEXT NOT NULL DEFAULT '',
    responded_on  TEXT NOT NULL
);
CREATE INDEX nps_account ON nps_responses(account_id, responded_on);

CREATE TABLE timeline_entries (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'note', 'risk_update', 'system')),
    occurred_at  TEXT NOT NULL,
    author_id    TEXT REFERENCES users(id),
    body         TEXT NOT NULL
);
CREATE INDEX timeline_account ON timeline_entries(account_id, occurred_at);

-- Settings of this device (who the user is, preferences); not synced.
CREATE TABLE local_settings (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);
