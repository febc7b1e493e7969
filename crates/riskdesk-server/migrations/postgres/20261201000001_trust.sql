-- A server that trusts nothing a device says: which account each record belongs to is
-- fixed by its first write; a device id belongs to the user who first pushed with it;
-- an admin can disable a user.

CREATE TABLE record_scope (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
INSERT INTO record_scope (entity, entity_id, account_id)
    SELECT entity, entity_id, account_id FROM changes ORDER BY seq
    ON CONFLICT (entity, entity_id) DO NOTHING;

CREATE TABLE devices (
    device_id   TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    first_seen  TEXT NOT NULL
);
INSERT INTO devices (device_id, user_id, first_seen)
    SELECT device_id, user_id, received_at FROM changes ORDER BY seq
    ON CONFLICT (device_id) DO NOTHING;

ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- Where each change ends in a running count of the bytes of all changes, in sequence
-- order: a pull page stops after about 4 MB whatever the scope, found by one index lookup.
ALTER TABLE changes ADD COLUMN bytes_end BIGINT;
UPDATE changes SET bytes_end = s.run
    FROM (SELECT seq, SUM(LENGTH(body)) OVER (ORDER BY seq) AS run FROM changes) AS s
    WHERE s.seq = changes.seq;
CREATE INDEX changes_bytes ON changes(bytes_end);
