-- Registered citizens. Personal data lives here and in the tables below, and is
-- erased with the citizen (ON DELETE CASCADE); only registration_counts survives.
CREATE TABLE citizens (
    id               INTEGER PRIMARY KEY,
    language         TEXT NOT NULL,
    general_interest INTEGER NOT NULL DEFAULT 0 CHECK (general_interest IN (0, 1)),
    consent_version  TEXT NOT NULL,
    consent_at       TEXT NOT NULL,
    -- web, api or import:<file>
    source           TEXT NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Phones (E.164) and e-mail addresses. Unverified contacts never receive alerts.
CREATE TABLE citizen_contacts (
    id          INTEGER PRIMARY KEY,
    citizen_id  INTEGER NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('phone', 'email')),
    value       TEXT NOT NULL,
    line        TEXT CHECK (line IN ('mobile', 'landline')),
    sms         INTEGER NOT NULL DEFAULT 0,
    voice       INTEGER NOT NULL DEFAULT 0,
    verified_at TEXT,
    -- code, link or import
    verified_by TEXT,
    UNIQUE (citizen_id, kind, value)
) STRICT;
CREATE INDEX citizen_contacts_value ON citizen_contacts (kind, value);

CREATE TABLE citizen_addresses (
    id           INTEGER PRIMARY KEY,
    citizen_id   INTEGER NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    label        TEXT NOT NULL,
    street       TEXT NOT NULL,
    house_number TEXT NOT NULL,
    postcode     TEXT NOT NULL,
    municipality TEXT NOT NULL,
    lon          REAL NOT NULL,
    lat          REAL NOT NULL,
    -- registry (geocoded) or pin (placed on the map)
    placed       TEXT NOT NULL CHECK (placed IN ('registry', 'pin'))
) STRICT;
CREATE INDEX citizen_addresses_citizen ON citizen_addresses (citizen_id);
CREATE INDEX citizen_addresses_municipality ON citizen_addresses (municipality);

-- One pending secret per contact: a code (phones) or a link token (e-mail), hashed.
CREATE TABLE verification_secrets (
    contact_id    INTEGER PRIMARY KEY REFERENCES citizen_contacts (id) ON DELETE CASCADE,
    secret_digest TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX verification_secrets_digest ON verification_secrets (secret_digest);

-- Fixed-window counters for rate limits (per address, per number, per range…).
CREATE TABLE rate_counters (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
) STRICT;

-- Anonymous counts kept after citizens delete their data.
CREATE TABLE registration_counts (
    municipality TEXT PRIMARY KEY NOT NULL,
    registered   INTEGER NOT NULL DEFAULT 0,
    deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Citizens' sessions share the sessions table.
ALTER TABLE sessions ADD COLUMN citizen_id INTEGER REFERENCES citizens (id) ON DELETE CASCADE;
