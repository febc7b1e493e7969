-- Sync a team can trust, the device side:
-- * a pulled record the store refuses keeps the store's reason (sync_records.set_aside),
--   and changes that cannot be applied or that the server refused are listed
--   (sync_set_aside) instead of stopping the sync;
-- * playbooks are the organisation's, like its people: the default playbooks get the same
--   ids on every device, so a CTA's playbook means the same playbook everywhere;
-- * playbooks, a CTA's playbook and its tasks are captured for sync.
-- The triggers are generated from riskdesk_sync::schema (riskdesk_core::sync::capture).

ALTER TABLE sync_records ADD COLUMN set_aside TEXT;

CREATE TABLE sync_set_aside (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'in': pulled, not applicable here; 'out': refused by the server.
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    field      TEXT,
    reason     TEXT NOT NULL,
    at         TEXT NOT NULL,
    UNIQUE (direction, entity, entity_id)
);

-- Risk save
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000001', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Risk save' AND id <> '0190a000-0000-7000-8000-000000000001';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000001' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Risk save' AND id <> '0190a000-0000-7000-8000-000000000001');
DELETE FROM playbooks WHERE name = 'Risk save' AND id <> '0190a000-0000-7000-8000-000000000001';
UPDATE playbooks SET name = 'Risk save' WHERE id = '0190a000-0000-7000-8000-000000000001';

-- Implementation recovery
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000002', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Implementation recovery' AND id <> '0190a000-0000-7000-8000-000000000002';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000002' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Implementation recovery' AND id <> '0190a000-0000-7000-8000-000000000002');
DELETE FROM playbooks WHERE name = 'Implementation recovery' AND id <> '0190a000-0000-7000-8000-000000000002';
UPDATE playbooks SET name = 'Implementation recovery' WHERE id = '0190a000-0000-7000-8000-000000000002';

-- Sponsor re-engagement
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000003', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Sponsor re-engagement' AND id <> '0190a000-0000-7000-8000-000000000003';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000003' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Sponsor re-engagement' AND id <> '0190a000-0000-7000-8000-000000000003');
DELETE FROM playbooks WHERE name = 'Sponsor re-engagement' AND id <> '0190a000-0000-7000-8000-000000000003';
UPDATE playbooks SET name = 'Sponsor re-engagement' WHERE id = '0190a000-0000-7000-8000-000000000003';

-- Detractor follow-up
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000004', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Detractor follow-up' AND id <> '0190a000-0000-7000-8000-000000000004';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000004' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Detractor follow-up' AND id <> '0190a000-0000-7000-8000-000000000004');
DELETE FROM playbooks WHERE name = 'Detractor follow-up' AND id <> '0190a000-0000-7000-8000-000000000004';
UPDATE playbooks SET name = 'Detractor follow-up' WHERE id = '0190a000-0000-7000-8000-000000000004';

-- Renewal preparation
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000005', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Renewal preparation' AND id <> '0190a000-0000-7000-8000-000000000005';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000005' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Renewal preparation' AND id <> '0190a000-0000-7000-8000-000000000005');
DELETE FROM playbooks WHERE name = 'Renewal preparation' AND id <> '0190a000-0000-7000-8000-000000000005';
UPDATE playbooks SET name = 'Renewal preparation' WHERE id = '0190a000-0000-7000-8000-000000000005';

-- Expansion
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000006', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Expansion' AND id <> '0190a000-0000-7000-8000-000000000006';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000006' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Expansion' AND id <> '0190a000-0000-7000-8000-000000000006');
DELETE FROM playbooks WHERE name = 'Expansion' AND id <> '0190a000-0000-7000-8000-000000000006';
UPDATE playbooks SET name = 'Expansion' WHERE id = '0190a000-0000-7000-8000-000000000006';

-- Digital re-engagement
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000007', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Digital re-engagement' AND id <> '0190a000-0000-7000-8000-000000000007';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000007' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Digital re-engagement' AND id <> '0190a000-0000-7000-8000-000000000007');
DELETE FROM playbooks WHERE name = 'Digital re-engagement' AND id <> '0190a000-0000-7000-8000-000000000007';
UPDATE playbooks SET name = 'Digital re-engagement' WHERE id = '0190a000-0000-7000-8000-000000000007';

-- Digital onboarding
INSERT INTO playbooks (id, name, description, kind, tasks, updated_at)
    SELECT '0190a000-0000-7000-8000-000000000008', name || ' (moving)', description, kind, tasks, '2026-01-01T00:00:00+00:00' FROM playbooks WHERE name = 'Digital onboarding' AND id <> '0190a000-0000-7000-8000-000000000008';
UPDATE ctas SET playbook_id = '0190a000-0000-7000-8000-000000000008' WHERE playbook_id IN (SELECT id FROM playbooks WHERE name = 'Digital onboarding' AND id <> '0190a000-0000-7000-8000-000000000008');
DELETE FROM playbooks WHERE name = 'Digital onboarding' AND id <> '0190a000-0000-7000-8000-000000000008';
UPDATE playbooks SET name = 'Digital onboarding' WHERE id = '0190a000-0000-7000-8000-000000000008';

-- Capture: playbooks and tasks join, and a CTA now carries its playbook.
DROP TRIGGER sync_ctas_insert;
DROP TRIGGER sync_ctas_update;
DROP TRIGGER sync_ctas_delete;

CREATE TRIGGER sync_ctas_insert AFTER INSERT ON ctas WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta', new.id, new.account_id, c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'account_id' AS field, json_quote(new.account_id) AS value
            UNION ALL SELECT 'type' AS field, json_quote(new.type) AS value
            UNION ALL SELECT 'reason' AS field, json_quote(new.reason) AS value
            UNION ALL SELECT 'priority' AS field, json_quote(new.priority) AS value
            UNION ALL SELECT 'status' AS field, json_quote(new.status) AS value
            UNION ALL SELECT 'owner_id' AS field, json_quote(new.owner_id) AS value
            UNION ALL SELECT 'due_on' AS field, json_quote(new.due_on) AS value
            UNION ALL SELECT 'snoozed_until' AS field, json_quote(new.snoozed_until) AS value
            UNION ALL SELECT 'snooze_reason' AS field, json_quote(new.snooze_reason) AS value
            UNION ALL SELECT 'outcome' AS field, json_quote(new.outcome) AS value
            UNION ALL SELECT 'closed_at' AS field, json_quote(new.closed_at) AS value
            UNION ALL SELECT 'source' AS field, json_quote(new.source) AS value
            UNION ALL SELECT 'rule_id' AS field, json_quote(new.rule_id) AS value
            UNION ALL SELECT 'evidence' AS field, json_quote(new.evidence) AS value
            UNION ALL SELECT 'flagged' AS field, json_quote(new.flagged) AS value
            UNION ALL SELECT 'category' AS field, json_quote(new.category) AS value
            UNION ALL SELECT 'expected' AS field, json_quote(new.expected) AS value
            UNION ALL SELECT 'avoidable' AS field, json_quote(new.avoidable) AS value
            UNION ALL SELECT 'created_at' AS field, json_quote(new.created_at) AS value
            UNION ALL SELECT 'updated_at' AS field, json_quote(new.updated_at) AS value
            UNION ALL SELECT 'playbook_id' AS field, json_quote(new.playbook_id) AS value
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_ctas_update AFTER UPDATE ON ctas WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta', new.id, new.account_id, c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'account_id' AS field, json_quote(new.account_id) AS value WHERE new.account_id IS NOT old.account_id
            UNION ALL SELECT 'type' AS field, json_quote(new.type) AS value WHERE new.type IS NOT old.type
            UNION ALL SELECT 'reason' AS field, json_quote(new.reason) AS value WHERE new.reason IS NOT old.reason
            UNION ALL SELECT 'priority' AS field, json_quote(new.priority) AS value WHERE new.priority IS NOT old.priority
            UNION ALL SELECT 'status' AS field, json_quote(new.status) AS value WHERE new.status IS NOT old.status
            UNION ALL SELECT 'owner_id' AS field, json_quote(new.owner_id) AS value WHERE new.owner_id IS NOT old.owner_id
            UNION ALL SELECT 'due_on' AS field, json_quote(new.due_on) AS value WHERE new.due_on IS NOT old.due_on
            UNION ALL SELECT 'snoozed_until' AS field, json_quote(new.snoozed_until) AS value WHERE new.snoozed_until IS NOT old.snoozed_until
            UNION ALL SELECT 'snooze_reason' AS field, json_quote(new.snooze_reason) AS value WHERE new.snooze_reason IS NOT old.snooze_reason
            UNION ALL SELECT 'outcome' AS field, json_quote(new.outcome) AS value WHERE new.outcome IS NOT old.outcome
            UNION ALL SELECT 'closed_at' AS field, json_quote(new.closed_at) AS value WHERE new.closed_at IS NOT old.closed_at
            UNION ALL SELECT 'source' AS field, json_quote(new.source) AS value WHERE new.source IS NOT old.source
            UNION ALL SELECT 'rule_id' AS field, json_quote(new.rule_id) AS value WHERE new.rule_id IS NOT old.rule_id
            UNION ALL SELECT 'evidence' AS field, json_quote(new.evidence) AS value WHERE new.evidence IS NOT old.evidence
            UNION ALL SELECT 'flagged' AS field, json_quote(new.flagged) AS value WHERE new.flagged IS NOT old.flagged
            UNION ALL SELECT 'category' AS field, json_quote(new.category) AS value WHERE new.category IS NOT old.category
            UNION ALL SELECT 'expected' AS field, json_quote(new.expected) AS value WHERE new.expected IS NOT old.expected
            UNION ALL SELECT 'avoidable' AS field, json_quote(new.avoidable) AS value WHERE new.avoidable IS NOT old.avoidable
            UNION ALL SELECT 'created_at' AS field, json_quote(new.created_at) AS value WHERE new.created_at IS NOT old.created_at
            UNION ALL SELECT 'updated_at' AS field, json_quote(new.updated_at) AS value WHERE new.updated_at IS NOT old.updated_at
            UNION ALL SELECT 'playbook_id' AS field, json_quote(new.playbook_id) AS value WHERE new.playbook_id IS NOT old.playbook_id
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_ctas_delete AFTER DELETE ON ctas WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta', old.id, old.account_id, '_deleted', 'true', k.wall_ms, k.counter
        FROM sync_clock k
        -- A child removed with its parent needs no tombstone: the parent's carries it.
        WHERE old.account_id IS NOT NULL;
END;

CREATE TRIGGER sync_playbooks_insert AFTER INSERT ON playbooks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'playbook', new.id, '_directory', c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'name' AS field, json_quote(new.name) AS value
            UNION ALL SELECT 'description' AS field, json_quote(new.description) AS value
            UNION ALL SELECT 'kind' AS field, json_quote(new.kind) AS value
            UNION ALL SELECT 'tasks' AS field, json_quote(new.tasks) AS value
            UNION ALL SELECT 'updated_at' AS field, json_quote(new.updated_at) AS value
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_playbooks_update AFTER UPDATE ON playbooks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'playbook', new.id, '_directory', c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'name' AS field, json_quote(new.name) AS value WHERE new.name IS NOT old.name
            UNION ALL SELECT 'description' AS field, json_quote(new.description) AS value WHERE new.description IS NOT old.description
            UNION ALL SELECT 'kind' AS field, json_quote(new.kind) AS value WHERE new.kind IS NOT old.kind
            UNION ALL SELECT 'tasks' AS field, json_quote(new.tasks) AS value WHERE new.tasks IS NOT old.tasks
            UNION ALL SELECT 'updated_at' AS field, json_quote(new.updated_at) AS value WHERE new.updated_at IS NOT old.updated_at
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_playbooks_delete AFTER DELETE ON playbooks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'playbook', old.id, '_directory', '_deleted', 'true', k.wall_ms, k.counter
        FROM sync_clock k
        -- A child removed with its parent needs no tombstone: the parent's carries it.
        WHERE '_directory' IS NOT NULL;
END;

CREATE TRIGGER sync_cta_tasks_insert AFTER INSERT ON cta_tasks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta_task', new.id, (SELECT account_id FROM ctas WHERE id = new.cta_id), c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'cta_id' AS field, json_quote(new.cta_id) AS value
            UNION ALL SELECT 'position' AS field, json_quote(new.position) AS value
            UNION ALL SELECT 'title' AS field, json_quote(new.title) AS value
            UNION ALL SELECT 'due_on' AS field, json_quote(new.due_on) AS value
            UNION ALL SELECT 'done_at' AS field, json_quote(new.done_at) AS value
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_cta_tasks_update AFTER UPDATE ON cta_tasks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta_task', new.id, (SELECT account_id FROM ctas WHERE id = new.cta_id), c.field, c.value, k.wall_ms, k.counter
        FROM (
            SELECT 'cta_id' AS field, json_quote(new.cta_id) AS value WHERE new.cta_id IS NOT old.cta_id
            UNION ALL SELECT 'position' AS field, json_quote(new.position) AS value WHERE new.position IS NOT old.position
            UNION ALL SELECT 'title' AS field, json_quote(new.title) AS value WHERE new.title IS NOT old.title
            UNION ALL SELECT 'due_on' AS field, json_quote(new.due_on) AS value WHERE new.due_on IS NOT old.due_on
            UNION ALL SELECT 'done_at' AS field, json_quote(new.done_at) AS value WHERE new.done_at IS NOT old.done_at
        ) c, sync_clock k;
END;

CREATE TRIGGER sync_cta_tasks_delete AFTER DELETE ON cta_tasks WHEN (SELECT recording = 1 AND applying = 0 FROM sync_clock) BEGIN
    UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms THEN 0 ELSE counter + 1 END,
        wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)
        SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655), 'cta_task', old.id, (SELECT account_id FROM ctas WHERE id = old.cta_id), '_deleted', 'true', k.wall_ms, k.counter
        FROM sync_clock k
        -- A child removed with its parent needs no tombstone: the parent's carries it.
        WHERE (SELECT account_id FROM ctas WHERE id = old.cta_id) IS NOT NULL;
END;
