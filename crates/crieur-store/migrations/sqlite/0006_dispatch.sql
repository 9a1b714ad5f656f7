-- What the dispatch engine needs beyond the plan: priorities, single messages
-- (verification codes) beside alerts, retries with their time, the provider
-- that took each message with its references, receipts and reported reach.
--
-- state: 0 queued, 1 sending (claimed, outcome not yet recorded), 2 sent,
-- 3 delivered, 4 failed, 5 waiting to retry, 6 cancelled, 7 confirmed
-- priority: 0 verification codes, 1 Actual alerts, 2 Test and Exercise,
-- 3 general-interest messages
CREATE TABLE deliveries_new (
    id            INTEGER PRIMARY KEY,
    -- NULL for a single message, which carries its own text
    alert_id      INTEGER REFERENCES alerts (id),
    priority      INTEGER NOT NULL DEFAULT 1,
    channel       TEXT NOT NULL,
    language      TEXT NOT NULL,
    address       TEXT NOT NULL,
    -- a single message's text; emptied once it reaches a final state
    subject       TEXT,
    body          TEXT,
    state         INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- unix seconds before which a waiting retry is not claimed
    next_at       INTEGER NOT NULL DEFAULT 0,
    provider      TEXT,
    provider_ref  TEXT,
    -- receipts still awaited (one per SMS segment) before it counts as delivered
    receipts_due  INTEGER NOT NULL DEFAULT 0,
    -- people an operator reports reaching
    reach         INTEGER,
    -- claimed when the process stopped, or its outcome unknown: may have left
    -- more than once
    possible_dup  INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    updated_at    INTEGER
) STRICT;
INSERT INTO deliveries_new (id, alert_id, channel, language, address, state, attempts,
                            possible_dup, error, updated_at)
    SELECT id, alert_id, channel, language, address, state, attempts, possible_dup, error,
           updated_at
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

-- Claims read only these two small indexes: what is queued, by channel and
-- priority, and the retries by due time.
CREATE INDEX deliveries_queued ON deliveries (channel, priority, id) WHERE state = 0;
CREATE INDEX deliveries_retry ON deliveries (next_at) WHERE state = 5;
CREATE INDEX deliveries_claimed ON deliveries (id) WHERE state = 1;
CREATE INDEX deliveries_alert ON deliveries (alert_id, state);
CREATE INDEX deliveries_address ON deliveries (address);

-- A provider's reference (an SMSC message id per segment) to the delivery it
-- belongs to, so receipts find their message.
CREATE TABLE provider_refs (
    provider     TEXT NOT NULL,
    ref          TEXT NOT NULL,
    delivery_id  INTEGER NOT NULL,
    -- its receipt has been counted (a provider may send one twice)
    done         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, ref)
) STRICT, WITHOUT ROWID;
