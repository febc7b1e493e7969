-- Invites: an admin creates a user without a password and hands them a one-time code; the
-- user chooses a password with it. Codes are stored as SHA-256 hashes, like tokens.
CREATE TABLE invites (
    hash         TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT
);
CREATE INDEX invites_user ON invites(user_id);
