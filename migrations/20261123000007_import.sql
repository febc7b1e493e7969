-- Imports from CRM, product and survey exports match rows by the id the source system
-- gave them, so re-importing a file updates instead of duplicating.
ALTER TABLE contacts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX contacts_external ON contacts(external_id);
ALTER TABLE nps_responses ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX nps_external ON nps_responses(external_id);
CREATE INDEX tickets_external ON tickets(external_id);

-- What was imported when: CS Ops checks this after a nightly export lands.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('accounts', 'contacts', 'usage', 'tickets', 'nps')),
    file_name    TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    rows_read    INTEGER NOT NULL,
    inserted     INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    unchanged    INTEGER NOT NULL,
    rejected     INTEGER NOT NULL
);
CREATE INDEX imports_at ON imports(imported_at);
