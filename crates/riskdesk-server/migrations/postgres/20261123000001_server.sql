-- The sync server's store on PostgreSQL: the same tables as the SQLite store
-- (migrations/sqlite), in PostgreSQL's dialect. Times are fixed-width RFC 3339 UTC text on
-- both backends, so one set of queries compares them.

CREATE TABLE teams (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('csm', 'manager', 'executive', 'admin')),
    team_id        TEXT REFERENCES teams(id),
    -- argon2id PHC string; NULL until an invite is accepted.
    password_hash  TEXT,
    created_at     TEXT NOT NULL
);

-- Bearer tokens, stored as SHA-256 hashes: a leaked database holds no usable token.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX tokens_user ON tokens(user_id);

-- Which team's CSMs own an account's data: decides who may read and write it.
CREATE TABLE account_scope (
    account_id  TEXT PRIMARY KEY NOT NULL,
    team_id     TEXT REFERENCES teams(id)
);
CREATE INDEX account_scope_team ON account_scope(team_id);

-- Every change ever accepted, in the order the server accepted it (seq is the cursor).
CREATE TABLE changes (
    seq         BIGSERIAL PRIMARY KEY,
    change_id   TEXT NOT NULL UNIQUE,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    field       TEXT NOT NULL,
    hlc         TEXT COLLATE "C" NOT NULL,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX changes_account ON changes(account_id, seq);
CREATE INDEX changes_entity ON changes(entity, seq);

-- The winning change per field (last writer by HLC). Text compares byte-wise (COLLATE "C")
-- as on SQLite, so both backends pick the same winner.
CREATE TABLE field_winners (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    hlc         TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL REFERENCES changes(seq),
    PRIMARY KEY (entity, entity_id, field)
);

-- Offline edits that lost to a later one, for the user who made them.
CREATE TABLE conflicts (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    lost_seq    BIGINT NOT NULL REFERENCES changes(seq),
    winner_seq  BIGINT NOT NULL REFERENCES changes(seq),
    created_at  TEXT NOT NULL
);
CREATE INDEX conflicts_user ON conflicts(user_id, id);
