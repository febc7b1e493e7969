-- People as a real team has them: an active flag (people are deactivated, never deleted:
-- records name them) and the ids the CRMs know them by, so an export's owner column maps
-- to them. The directory's capture carries the new columns.
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
ALTER TABLE users ADD COLUMN salesforce_id TEXT;
ALTER TABLE users ADD COLUMN hubspot_id TEXT;
CREATE UNIQUE INDEX users_salesforce ON users(salesforce_id) WHERE salesforce_id IS NOT NULL;
CREATE UNIQUE INDEX users_hubspot ON users(hubspot_id) WHERE hubspot_id IS NOT NULL;

-- Capture: the person triggers again, with the new columns.
DROP TRIGGER sync_users_insert;
DROP TRIGGER sync_users_update;
DROP TRIGGER sync_users_delete;

CREATE TRIGGER sync_users_insert AFTER INSERT ON users WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'person', new.id, '_directory', c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'name' AS field, json_quote(new.name) AS value
            UNION ALL SELECT 'email' AS field, json_quote(new.email) AS value
            UNION ALL SELECT 'role' AS field, json_quote(new.role) AS value
            UNION ALL SELECT 'title' AS field, json_quote(new.title) AS value
            UNION ALL SELECT 'team_id' AS field, json_quote(new.team_id) AS value
            UNION ALL SELECT 'created_at' AS field, json_quote(new.created_at) AS value
            UNION ALL SELECT 'active' AS field, json_quote(new.active) AS value
            UNION ALL SELECT 'salesforce_id' AS field, json_quote(new.salesforce_id) AS value
            UNION ALL SELECT 'hubspot_id' AS field, json_quote(new.hubspot_id) AS value
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_users_update AFTER UPDATE ON users WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'person', new.id, '_directory', c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'name' AS field, json_quote(new.name) AS value WHERE new.name IS NOT old.name
            UNION ALL SELECT 'email' AS field, json_quote(new.email) AS value WHERE new.email IS NOT old.email
            UNION ALL SELECT 'role' AS field, json_quote(new.role) AS value WHERE new.role IS NOT old.role
            UNION ALL SELECT 'title' AS field, json_quote(new.title) AS value WHERE new.title IS NOT old.title
            UNION ALL SELECT 'team_id' AS field, json_quote(new.team_id) AS value WHERE new.team_id IS NOT old.team_id
            UNION ALL SELECT 'created_at' AS field, json_quote(new.created_at) AS value WHERE new.created_at IS NOT old.created_at
            UNION ALL SELECT 'active' AS field, json_quote(new.active) AS value WHERE new.active IS NOT old.active
            UNION ALL SELECT 'salesforce_id' AS field, json_quote(new.salesforce_id) AS value WHERE new.salesforce_id IS NOT old.salesforce_id
            UNION ALL SELECT 'hubspot_id' AS field, json_quote(new.hubspot_id) AS value WHERE new.hubspot_id IS NOT old.hubspot_id
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_users_delete AFTER DELETE ON users WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'person', old.id, '_directory', '_deleted', 'true', k.wall_ms, k.counter
        FROM sync_clock k
        -- A child removed with its parent needs no tombstone: the parent's carries it.
        WHERE '_directory' IS NOT NULL;
END;
