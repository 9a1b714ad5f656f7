-- The relatives line: inquiries about people sought, the lists they are matched
-- against (casualties, hospital admissions, evacuees, "I am safe" reports), and
-- the decisions trained operators took on candidate matches. The most sensitive
-- data Crieur holds: all of it belongs to one incident and is purged a set time
-- after the incident closes. Times are unix seconds given by the caller.

-- One caller's inquiry about one person. Inquiries about the same person share
-- `person` (the id of the first of them).
CREATE TABLE inquiries (
    id               INTEGER PRIMARY KEY,
    incident_id      INTEGER NOT NULL REFERENCES incidents (id),
    person           INTEGER NOT NULL,
    hotline_id       INTEGER REFERENCES hotlines (id),
    call_id          TEXT,
    -- the person sought
    given_names      TEXT NOT NULL,
    family_names     TEXT NOT NULL,
    birth_year       INTEGER,
    birth_month      INTEGER CHECK (birth_month BETWEEN 1 AND 12),
    birth_day        INTEGER CHECK (birth_day BETWEEN 1 AND 31),
    sex              TEXT CHECK (sex IN ('female', 'male', 'x')),
    nationality      TEXT,
    description      TEXT NOT NULL,
    phone            TEXT,
    last_place       TEXT,
    last_seen        TEXT NOT NULL,
    why_involved     TEXT NOT NULL,
    involvement      TEXT NOT NULL CHECK (involvement IN ('likely', 'possible', 'unlikely')),
    -- the caller
    caller_name      TEXT NOT NULL,
    relationship     TEXT NOT NULL,
    callback_numbers TEXT NOT NULL CHECK (json_type(callback_numbers) = 'array'),
    caller_language  TEXT NOT NULL CHECK (caller_language IN ('fr', 'nl', 'de', 'en')),
    notes            TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'matched', 'closed')),
    created_by       INTEGER NOT NULL REFERENCES accounts (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (given_names <> '' OR family_names <> '')
) STRICT;
CREATE INDEX inquiries_incident ON inquiries (incident_id, id);
CREATE INDEX inquiries_person ON inquiries (person);

-- A list as received: who sent it, when it was drawn up, how it came.
CREATE TABLE person_lists (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT NOT NULL
                CHECK (kind IN ('casualty', 'hospital_admission', 'evacuee', 'safe_self_report')),
    source      TEXT NOT NULL CHECK (source <> ''),
    drawn_up_at INTEGER NOT NULL,
    format      TEXT NOT NULL CHECK (format IN ('csv', 'json', 'manual')),
    entries     INTEGER NOT NULL DEFAULT 0,
    uploaded_by INTEGER NOT NULL REFERENCES accounts (id),
    uploaded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX person_lists_incident ON person_lists (incident_id, id);

CREATE TABLE list_entries (
    id           INTEGER PRIMARY KEY,
    list_id      INTEGER NOT NULL REFERENCES person_lists (id) ON DELETE CASCADE,
    given_names  TEXT NOT NULL,
    family_names TEXT NOT NULL,
    birth_year   INTEGER,
    birth_month  INTEGER,
    birth_day    INTEGER,
    sex          TEXT CHECK (sex IN ('female', 'male', 'x')),
    nationality  TEXT,
    phone        TEXT,
    place        TEXT,
    details      TEXT
) STRICT;
CREATE INDEX list_entries_list ON list_entries (list_id);

-- A trained operator's decision on one candidate: confirmed (with the callback
-- task it created) or rejected. Undecided candidates are never stored: they
-- are computed afresh from the lists.
CREATE TABLE inquiry_matches (
    id          INTEGER PRIMARY KEY,
    inquiry_id  INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    entry_id    INTEGER NOT NULL REFERENCES list_entries (id) ON DELETE CASCADE,
    score       REAL NOT NULL,
    reasons     TEXT NOT NULL CHECK (json_type(reasons) = 'array'),
    decision    TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note        TEXT NOT NULL,
    decided_by  INTEGER NOT NULL REFERENCES accounts (id),
    decided_at  INTEGER NOT NULL,
    callback_id INTEGER REFERENCES hotline_callbacks (id),
    UNIQUE (inquiry_id, entry_id)
) STRICT;
