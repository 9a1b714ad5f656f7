-- The delivery plan of released alerts: one row per message, stored in the
-- transaction that releases the alert, before anything is sent.
CREATE TABLE dispatch_texts (
    alert_id  BIGINT NOT NULL REFERENCES alerts (id),
    channel   TEXT NOT NULL,   -- sms, voice, email
    language  TEXT NOT NULL,
    subject   TEXT NOT NULL,   -- e-mail subject; the language code for voice
    body      TEXT NOT NULL,
    PRIMARY KEY (alert_id, channel, language)
);
