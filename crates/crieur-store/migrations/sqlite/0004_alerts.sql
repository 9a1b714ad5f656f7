-- Incidents group alerts (and later hotline activations, answers, inquiries).
CREATE TABLE incidents (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    territory  TEXT NOT NULL CHECK (length(territory) = 5),
    opened_by  INTEGER NOT NULL REFERENCES accounts (id),
    opened_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    closed_by  INTEGER REFERENCES accounts (id),
    closed_at  TEXT
) STRICT;

-- One row per CAP message. `state` is Crieur's workflow:
-- draft -> pending (awaiting a second person) -> released, or rejected.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    incident_id      INTEGER NOT NULL REFERENCES incidents (id),
    identifier       TEXT NOT NULL UNIQUE,
    territory        TEXT NOT NULL CHECK (length(territory) = 5),
    status           TEXT NOT NULL CHECK (status IN ('Actual', 'Exercise', 'Test')),
    msg_type         TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    references_id    INTEGER REFERENCES alerts (id),
    -- an Exercise or Test sent only to the configured test group
    test_group       INTEGER NOT NULL DEFAULT 0 CHECK (test_group IN (0, 1)),
    state            TEXT NOT NULL CHECK (state IN ('draft', 'pending', 'released', 'rejected')),
    composition      TEXT NOT NULL,   -- JSON (crieur_domain::alert::Composition)
    area             TEXT NOT NULL,   -- JSON (list of crieur_domain::alert::AreaSpec)
    fingerprint      TEXT NOT NULL,   -- digest of texts and area, for the repeat check
    author_id        INTEGER NOT NULL REFERENCES accounts (id),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    submitted_at     TEXT,
    decided_by       INTEGER REFERENCES accounts (id),
    decided_at       TEXT,
    decision_comment TEXT,
    released_by      INTEGER REFERENCES accounts (id),
    released_at      INTEGER,
    sent             TEXT,            -- CAP <sent>, fixed at release
    recipients       TEXT             -- JSON counts per channel and language at release
) STRICT;
CREATE INDEX alerts_incident ON alerts (incident_id);
CREATE INDEX alerts_released ON alerts (state, released_at);
CREATE INDEX alerts_released_by ON alerts (released_by, released_at);
