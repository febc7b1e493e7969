-- What a device knows of each synced record, one row per record instead of one per field
-- (sync_fields): the stamp most of its fields carry with a bitmask of which columns
-- (bit i = the i-th synced column, in the order of riskdesk_core::sync::TABLES), the
-- fields stamped otherwise as a JSON object of field to stamp, the winning values not
-- yet written to the record's table (a parent or fields still to come; replaces
-- sync_pending), and whether the record is deleted. A first sync of a 100K-account book
-- writes 100K of these rather than 1.6M field rows.
CREATE TABLE sync_records (
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    stamp         TEXT,
    stamp_fields  INTEGER NOT NULL DEFAULT 0,
    clocks        TEXT NOT NULL DEFAULT '{}',
    staged        TEXT,
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;

CREATE INDEX sync_records_staged ON sync_records (entity) WHERE staged IS NOT NULL;

-- What a device already knew carries over, every field as its own stamp.
INSERT INTO sync_records (entity, entity_id, clocks, staged, deleted)
SELECT f.entity, f.entity_id, json_group_object(f.field, f.hlc),
       CASE WHEN EXISTS (SELECT 1 FROM sync_pending p WHERE p.entity = f.entity AND p.entity_id = f.entity_id)
            THEN json_group_object(f.field, json(f.value)) END,
       max(f.field = '_deleted' AND f.value = 'true')
FROM sync_fields f
GROUP BY f.entity, f.entity_id;

DROP TRIGGER sync_outbox_wins;
DROP TABLE sync_pending;
DROP TABLE sync_fields;

-- A local change becomes its field's known stamp, so an older pulled change loses; it
-- also supersedes any pulled value of that field still waiting to be written (a local
-- stamp is always later than anything the device has seen). The snapshot a device shares
-- when it connects is queued before recording starts and stamps its records itself.
CREATE TRIGGER sync_outbox_stamps AFTER INSERT ON sync_outbox
WHEN (SELECT recording = 1 FROM sync_clock) BEGIN
    INSERT INTO sync_records (entity, entity_id, clocks, deleted)
        SELECT new.entity, new.entity_id,
               json_object(new.field, printf('%020d-%010d-%s', new.wall_ms, new.counter, k.device_id)),
               new.field = '_deleted' AND new.value = 'true'
        FROM sync_clock k
        WHERE true
    ON CONFLICT (entity, entity_id) DO UPDATE SET
        clocks = json_patch(sync_records.clocks, excluded.clocks),
        deleted = CASE WHEN new.field = '_deleted' THEN excluded.deleted ELSE sync_records.deleted END,
        staged = NULLIF(json_remove(sync_records.staged, '$."' || new.field || '"'), '{}');
END;
