-- Protocol 3: a push carries records (one record's fields set at one moment), and the
-- server keeps each as one row instead of one row per field. A first sync of a 100K-account
-- book stores 100K rows, not 1.8M. Every per-field row kept so far becomes a one-field
-- record under its own sequence number, so devices' cursors and recorded conflicts still
-- point where they did.

CREATE TABLE record_changes (
    seq         BIGSERIAL PRIMARY KEY,
    -- The record's first field's change id: a retried push stores nothing twice.
    change_id   TEXT NOT NULL UNIQUE,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    hlc         TEXT COLLATE "C" NOT NULL,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    -- The fields as sent: [{"change_id", "field", "value"}, …], passed through to pulls.
    fields      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- Where the record ends in a running count of the bytes of all records' fields.
    bytes_end   BIGINT NOT NULL
);
INSERT INTO record_changes (seq, change_id, entity, entity_id, account_id, hlc, device_id, user_id, fields, received_at, bytes_end)
    SELECT seq, change_id, entity, entity_id, account_id, hlc, device_id, user_id,
        jsonb_build_array(jsonb_build_object('change_id', change_id, 'field', field, 'value', body::jsonb -> 'value'))::text,
        received_at, 0
    FROM changes ORDER BY seq;
UPDATE record_changes SET bytes_end = s.run
    FROM (SELECT seq, SUM(LENGTH(fields)) OVER (ORDER BY seq) AS run FROM record_changes) AS s
    WHERE s.seq = record_changes.seq;
SELECT setval(pg_get_serial_sequence('record_changes', 'seq'), COALESCE((SELECT MAX(seq) FROM record_changes), 0) + 1, false);
CREATE INDEX record_changes_bytes ON record_changes(bytes_end);

-- The winning change of every field of a record, one row per record, kept as
-- {"s": [[hlc, seq], …], "f": {field: index into s}}: a first sync of a 100K-account book
-- writes 100K of these, not 1.8M rows (last writer wins per field is decided in Rust).
CREATE TABLE record_winners (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    winners     TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
INSERT INTO record_winners (entity, entity_id, winners)
    SELECT entity, entity_id,
        jsonb_build_object('s', jsonb_agg(jsonb_build_array(hlc, seq) ORDER BY field), 'f', jsonb_object_agg(field, i))::text
    FROM (SELECT entity, entity_id, field, hlc, seq,
            ROW_NUMBER() OVER (PARTITION BY entity, entity_id ORDER BY field) - 1 AS i
          FROM field_winners) AS w
    GROUP BY entity, entity_id;
DROP TABLE field_winners;

-- A conflict names the field that lost: a record holds several.
ALTER TABLE conflicts ADD COLUMN field TEXT;
UPDATE conflicts c SET field = l.field FROM changes l WHERE l.seq = c.lost_seq;
ALTER TABLE conflicts ALTER COLUMN field SET NOT NULL;
ALTER TABLE conflicts DROP CONSTRAINT conflicts_lost_seq_fkey;
ALTER TABLE conflicts DROP CONSTRAINT conflicts_winner_seq_fkey;
ALTER TABLE conflicts ADD CONSTRAINT conflicts_lost_seq_fkey FOREIGN KEY (lost_seq) REFERENCES record_changes(seq);
ALTER TABLE conflicts ADD CONSTRAINT conflicts_winner_seq_fkey FOREIGN KEY (winner_seq) REFERENCES record_changes(seq);

DROP TABLE changes;
