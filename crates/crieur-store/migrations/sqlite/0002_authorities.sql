-- Staff accounts, each bound to a territory (its jurisdiction).
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    territory       TEXT NOT NULL CHECK (length(territory) = 5),
    password_hash   TEXT NOT NULL,
    -- base32 TOTP secret once enrolled; the pending one while enrolling.
    totp_secret     TEXT,
    totp_pending    TEXT,
    -- the last TOTP time step accepted: older or equal steps are replays.
    totp_last_step  INTEGER,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Server-side sessions. Only the SHA-256 of the cookie's token is kept.
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY NOT NULL,
    account_id   INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    -- anonymous, second_factor, enrol or authenticated
    stage        TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    address      TEXT
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Failed sign-ins per client address, in a sliding window.
CREATE TABLE address_failures (
    address      TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL
) STRICT;

-- The audit log: append-only, each entry chained to the previous one by hash.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    territory TEXT,
    target    TEXT,
    detail    TEXT NOT NULL,
    address   TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_actor ON audit_log (actor);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
