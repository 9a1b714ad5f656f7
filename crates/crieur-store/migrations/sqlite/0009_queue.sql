-- Dispatch through a work queue (NATS JetStream) to `crieur worker` processes.
-- The store stays the source of truth: a coordinator claims due deliveries in
-- batches (state 1, as the embedded engine does) and publishes each batch's id;
-- workers take a batch, send, record outcomes here, then acknowledge.
CREATE TABLE dispatch_batches (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    size          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    -- the queue stored the batch's message (unset: published again at start-up)
    published_at  INTEGER,
    -- times a worker took it: more than once means a redelivery, and what the
    -- first taker had not recorded may have left already
    takes         INTEGER NOT NULL DEFAULT 0,
    taken_at      INTEGER,
    worker        TEXT,
    -- the message's sequence in the stream, to delete a dead-lettered one
    stream_seq    INTEGER,
    -- every delivery has an outcome, or the batch was dead-lettered
    closed_at     INTEGER
) STRICT;
CREATE INDEX dispatch_batches_open ON dispatch_batches (id) WHERE closed_at IS NULL;

-- The batch a claimed delivery travels in (NULL: claimed by the embedded engine).
ALTER TABLE deliveries ADD COLUMN batch_id INTEGER;
CREATE INDEX deliveries_batch ON deliveries (batch_id) WHERE state = 1;

-- Batches that reached the queue's maximum deliveries: their deliveries without
-- an outcome are failed (possibly sent), and the batch is kept here for operators.
CREATE TABLE dispatch_dead_letters (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    -- deliveries that had no outcome and were failed
    deliveries  INTEGER NOT NULL,
    takes       INTEGER NOT NULL,
    worker      TEXT,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL
) STRICT;
