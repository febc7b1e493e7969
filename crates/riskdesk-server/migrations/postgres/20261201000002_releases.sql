-- Self-hosted updates: the desktop releases an admin publishes, one per platform and
-- version, with the updater signature of the bundle (`riskdesk-server release add`).
CREATE TABLE releases (
    target      TEXT NOT NULL,
    arch        TEXT NOT NULL,
    version     TEXT NOT NULL,
    url         TEXT NOT NULL,
    signature   TEXT NOT NULL,
    notes       TEXT NOT NULL,
    pub_date    TEXT NOT NULL,
    PRIMARY KEY (target, arch, version)
);
