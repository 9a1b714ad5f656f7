-- Official boundaries replacing the embedded approximations, one per territorial unit.
CREATE TABLE territory_boundaries (
    nis         TEXT PRIMARY KEY NOT NULL CHECK (length(nis) = 5),
    geometry    TEXT NOT NULL,
    source      TEXT NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Each imported registry file.
CREATE TABLE registry_sources (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    synthetic   INTEGER NOT NULL CHECK (synthetic IN (0, 1)),
    rows        INTEGER NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Geocoded addresses. key_xx are the folded street names used for look-ups;
-- identity is the address itself, so re-importing a file refreshes rather than duplicates.
CREATE TABLE registry_addresses (
    id           INTEGER PRIMARY KEY,
    street_nl    TEXT,
    street_fr    TEXT,
    street_de    TEXT,
    key_nl       TEXT,
    key_fr       TEXT,
    key_de       TEXT,
    street_key   TEXT NOT NULL,
    house_number TEXT NOT NULL,
    box_number   TEXT NOT NULL DEFAULT '',
    postcode     TEXT NOT NULL,
    municipality TEXT NOT NULL,
    lon          REAL NOT NULL,
    lat          REAL NOT NULL,
    source_id    INTEGER NOT NULL REFERENCES registry_sources (id),
    UNIQUE (postcode, street_key, house_number, box_number)
) STRICT;

CREATE INDEX registry_addresses_nl ON registry_addresses (postcode, key_nl, house_number);
CREATE INDEX registry_addresses_fr ON registry_addresses (postcode, key_fr, house_number);
CREATE INDEX registry_addresses_de ON registry_addresses (postcode, key_de, house_number);
CREATE INDEX registry_addresses_municipality ON registry_addresses (municipality);
