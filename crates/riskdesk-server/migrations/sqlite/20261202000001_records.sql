-- Protocol 3: a push carries records (one record's fields set at one moment), and the
-- server keeps each as one row instead of one row per field. A first sync of a 100K-account
-- book stores 100K rows, not 1.8M. Every per-field row kept so far becomes a one-field
-- record under its own sequence number, so devices' cursors and recorded conflicts still
-- point where they did.

CREATE TABLE record_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The record's first field's change id: a retried push stores nothing twice.
    change_id   TEXT NOT NULL UNIQUE,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    -- The fields as sent: [{"change_id", "field", "value"}, …], passed through to pulls.
    fields      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- Where the record ends in a running count of the bytes of all records' fields.
    bytes_end   INTEGER NOT NULL
);
INSERT INTO record_changes (seq, change_id, entity, entity_id, account_id, hlc, device_id, user_id, fields, received_at, bytes_end)
    SELECT seq, change_id, entity, entity_id, account_id, hlc, device_id, user_id,
        json_array(json_object('change_id', change_id, 'field', field, 'value', json(body -> '$.value'))),
        received_at, 0
    FROM changes WHERE true ORDER BY seq;
UPDATE record_changes SET bytes_end = s.run
    FROM (SELECT seq, SUM(LENGTH(fields)) OVER (ORDER BY seq) AS run FROM record_changes) AS s
    WHERE s.seq = record_changes.seq;
CREATE INDEX record_changes_bytes ON record_changes(bytes_end);

-- The winning change of every field of a record, one row per record, kept as
-- {"s": [[hlc, seq], …], "f": {field: index into s}}: a first sync of a 100K-account book
-- writes 100K of these, not 1.8M rows (last writer wins per field is decided in Rust).
CREATE TABLE record_winners (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    winners     TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;
INSERT INTO record_winners (entity, entity_id, winners)
    SELECT entity, entity_id,
        json_object('s', json_group_array(json_array(hlc, seq) ORDER BY field), 'f', json_group_object(field, i))
    FROM (SELECT entity, entity_id, field, hlc, seq,
            ROW_NUMBER() OVER (PARTITION BY entity, entity_id ORDER BY field) - 1 AS i
          FROM field_winners) AS w
    GROUP BY entity, entity_id;

-- A conflict names the field that lost: a record holds several.
CREATE TABLE conflicts_v3 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL REFERENCES users(id),
    lost_seq    INTEGER NOT NULL REFERENCES record_changes(seq),
    winner_seq  INTEGER NOT NULL REFERENCES record_changes(seq),
    field       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
INSERT INTO conflicts_v3 (id, user_id, lost_seq, winner_seq, field, created_at)
    SELECT c.id, c.user_id, c.lost_seq, c.winner_seq, l.field, c.created_at
    FROM conflicts c JOIN changes l ON l.seq = c.lost_seq WHERE true ORDER BY c.id;

DROP TABLE conflicts;
DROP TABLE field_winners;
DROP TABLE changes;
ALTER TABLE conflicts_v3 RENAME TO conflicts;
CREATE INDEX conflicts_user ON conflicts(user_id, id);
