-- The delivery plan of released alerts: one row per message, stored in the
-- transaction that releases the alert, before anything is sent.
CREATE TABLE dispatch_texts (
    alert_id  INTEGER NOT NULL REFERENCES alerts (id),
    channel   TEXT NOT NULL,   -- sms, voice, email
    language  TEXT NOT NULL,
    subject   TEXT NOT NULL,   -- e-mail subject; the language code for voice
    body      TEXT NOT NULL,
    PRIMARY KEY (alert_id, channel, language)
) STRICT, WITHOUT ROWID;

-- state: 0 queued, 1 sending (claimed, outcome not yet recorded), 2 sent, 4 failed
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    alert_id      INTEGER NOT NULL REFERENCES alerts (id),
    channel       TEXT NOT NULL,
    language      TEXT NOT NULL,
    address       TEXT NOT NULL,
    state         INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- claimed when the process stopped: may have left once already
    possible_dup  INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    updated_at    INTEGER
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (state) WHERE state IN (0, 1);
CREATE INDEX deliveries_alert ON deliveries (alert_id);
-- erasing a citizen finds their addresses in the plans
CREATE INDEX deliveries_address ON deliveries (address);
