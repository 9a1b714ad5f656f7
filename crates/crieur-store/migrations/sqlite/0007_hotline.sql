-- The crisis hotline of an incident: its activation, the operators called out,
-- the calls with the forms operators fill in, the queue log, the approved
-- answers and the callbacks owed. Times are unix seconds given by the caller,
-- except the queue log's (unix milliseconds, like Asterisk's queue_log).

-- One activation of a public number for an incident. `config` (greeting, menu,
-- queues) is JSON that crieur-hotline owns; the store never reads it.
CREATE TABLE hotlines (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    number          TEXT NOT NULL CHECK (number <> ''),
    languages       TEXT NOT NULL CHECK (json_type(languages) = 'array'),
    config          TEXT NOT NULL,
    staffing_target INTEGER NOT NULL DEFAULT 4 CHECK (staffing_target >= 0),
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'closed')),
    activated_by    INTEGER NOT NULL REFERENCES accounts (id),
    activated_at    INTEGER NOT NULL,
    closed_by       INTEGER REFERENCES accounts (id),
    closed_at       INTEGER,
    closing_message TEXT
) STRICT;
-- A number answers for one incident at a time, and an incident has one hotline
-- at a time; closed activations stay as history.
CREATE UNIQUE INDEX hotlines_active_number ON hotlines (number) WHERE state = 'active';
CREATE UNIQUE INDEX hotlines_active_incident ON hotlines (incident_id) WHERE state = 'active';
CREATE INDEX hotlines_incident ON hotlines (incident_id, id);

-- On-call operators asked to come. Only the SHA-256 (lowercase hex) of the
-- token in each message is kept.
CREATE TABLE hotline_callouts (
    id           INTEGER PRIMARY KEY,
    hotline_id   INTEGER NOT NULL REFERENCES hotlines (id),
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    channel      TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    address      TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE
                 CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
    sent_at      INTEGER NOT NULL,
    response     TEXT CHECK (response IN ('coming', 'unavailable')),
    eta_minutes  INTEGER CHECK (eta_minutes >= 0),
    responded_at INTEGER
) STRICT;
CREATE INDEX hotline_callouts_hotline ON hotline_callouts (hotline_id);

-- One row per call (SIP Call-ID): what the telephony saw, then the form the
-- operator filled in (present once form_updated_at is set).
CREATE TABLE hotline_calls (
    id              INTEGER PRIMARY KEY,
    hotline_id      INTEGER NOT NULL REFERENCES hotlines (id),
    call_id         TEXT NOT NULL,
    -- E.164 when the number parsed, else as received
    caller          TEXT NOT NULL,
    line            TEXT CHECK (line IN ('information', 'relatives', 'psychosocial')),
    language        TEXT CHECK (language IN ('fr', 'nl', 'de', 'en')),
    -- the choices made in the menu, e.g. lang:fr>1
    ivr_path        TEXT NOT NULL,
    entered_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER,
    operator_id     INTEGER REFERENCES accounts (id),
    -- answered, abandoned, callback, transferred, closed...
    ending          TEXT,
    topics          TEXT NOT NULL DEFAULT '[]' CHECK (json_type(topics) = 'array'),
    tags            TEXT NOT NULL DEFAULT '[]' CHECK (json_type(tags) = 'array'),
    question        TEXT,
    municipality    TEXT CHECK (length(municipality) = 5),
    worry           INTEGER CHECK (worry BETWEEN 1 AND 5),
    notes           TEXT,
    outcome         TEXT,
    form_updated_at INTEGER,
    form_by         INTEGER REFERENCES accounts (id),
    CHECK ((form_updated_at IS NULL) = (form_by IS NULL)),
    UNIQUE (hotline_id, call_id)
) STRICT;
CREATE INDEX hotline_calls_entered ON hotline_calls (hotline_id, entered_at);
CREATE INDEX hotline_calls_caller ON hotline_calls (hotline_id, caller, entered_at);

-- The queues' events in the shape of Asterisk's queue_log (call_id is NONE for
-- member events such as ADDMEMBER or PAUSE, as there).
CREATE TABLE hotline_queue_log (
    id         INTEGER PRIMARY KEY,
    hotline_id INTEGER NOT NULL REFERENCES hotlines (id),
    at         INTEGER NOT NULL,
    call_id    TEXT NOT NULL,
    queue      TEXT NOT NULL,
    agent      TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event <> ''),
    data1      TEXT NOT NULL,
    data2      TEXT NOT NULL,
    data3      TEXT NOT NULL
) STRICT;
CREATE INDEX hotline_queue_log_hotline ON hotline_queue_log (hotline_id, at);

-- Approved answers, one row per version. answer_key names one answer across its
-- versions; withdrawing marks every version withdrawn.
CREATE TABLE hotline_answers (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    answer_key   INTEGER NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    language     TEXT NOT NULL CHECK (language IN ('fr', 'nl', 'de', 'en')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    topics       TEXT NOT NULL CHECK (json_type(topics) = 'array'),
    state        TEXT NOT NULL DEFAULT 'published' CHECK (state IN ('published', 'withdrawn')),
    author       INTEGER NOT NULL REFERENCES accounts (id),
    published_at INTEGER NOT NULL,
    withdrawn_by INTEGER REFERENCES accounts (id),
    withdrawn_at INTEGER,
    UNIQUE (answer_key, version)
) STRICT;
CREATE INDEX hotline_answers_incident ON hotline_answers (incident_id, answer_key, version);

-- Calls owed to callers. A callback that names a call must name one of the same
-- hotline.
CREATE TABLE hotline_callbacks (
    id          INTEGER PRIMARY KEY,
    hotline_id  INTEGER NOT NULL REFERENCES hotlines (id),
    call_id     TEXT,
    number      TEXT NOT NULL,
    language    TEXT NOT NULL CHECK (language IN ('fr', 'nl', 'de', 'en')),
    line        TEXT NOT NULL CHECK (line IN ('information', 'relatives', 'psychosocial')),
    -- max_wait, keep_place_expired, operator, inquiry...
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'assigned', 'done', 'failed')),
    assigned_to INTEGER REFERENCES accounts (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (hotline_id, call_id) REFERENCES hotline_calls (hotline_id, call_id)
) STRICT;
CREATE INDEX hotline_callbacks_hotline ON hotline_callbacks (hotline_id, state);
