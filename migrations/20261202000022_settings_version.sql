-- A number every write to a settings table moves, whoever makes it (a settings screen, a
-- people import, a pulled sync page, another process on the same file), so a device can
-- keep what it read of those tables in memory and re-read only after a change
-- (store/cache.rs): a one-account refresh then reads one number instead of ten rows of
-- settings.
CREATE TABLE settings_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO settings_version (id, n) VALUES (1, 0);

CREATE TRIGGER settings_version_config_insert AFTER INSERT ON config BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_config_update AFTER UPDATE ON config BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_config_delete AFTER DELETE ON config BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_scorecards_insert AFTER INSERT ON scorecards BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_scorecards_update AFTER UPDATE ON scorecards BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_scorecards_delete AFTER DELETE ON scorecards BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_rules_insert AFTER INSERT ON rules BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_rules_update AFTER UPDATE ON rules BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_rules_delete AFTER DELETE ON rules BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_playbooks_insert AFTER INSERT ON playbooks BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_playbooks_update AFTER UPDATE ON playbooks BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_playbooks_delete AFTER DELETE ON playbooks BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_risk_categories_insert AFTER INSERT ON risk_categories BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_risk_categories_update AFTER UPDATE ON risk_categories BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_risk_categories_delete AFTER DELETE ON risk_categories BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_users_insert AFTER INSERT ON users BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_users_update AFTER UPDATE ON users BEGIN
    UPDATE settings_version SET n = n + 1;
END;

CREATE TRIGGER settings_version_users_delete AFTER DELETE ON users BEGIN
    UPDATE settings_version SET n = n + 1;
END;
