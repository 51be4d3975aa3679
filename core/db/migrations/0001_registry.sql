-- Registry: who and what is watched, and who answers for it.
-- Closed vocabularies (categories, device types, ...) are checked by the application
-- (firewarden.domain) so that adding a value needs no migration; the database guards identity
-- and references.

CREATE TABLE jurisdictions (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    parent_id   text REFERENCES jurisdictions (id) DEFERRABLE INITIALLY DEFERRED,
    CHECK (parent_id IS DISTINCT FROM id)
);

CREATE TABLE premises (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    category             text NOT NULL,
    address              text NOT NULL,
    jurisdiction_id      text NOT NULL REFERENCES jurisdictions (id) DEFERRABLE INITIALLY DEFERRED,
    latitude             double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude            double precision CHECK (longitude BETWEEN -180 AND 180),
    height_m             double precision CHECK (height_m >= 0),
    floors               integer CHECK (floors >= 0),
    occupancy            integer CHECK (occupancy >= 0),
    credit_status        text NOT NULL,
    unit_name            text NOT NULL,
    unit_contact         text NOT NULL,
    unit_phone           text,
    unit_email           text
);
CREATE INDEX premises_jurisdiction_idx ON premises (jurisdiction_id);

CREATE TABLE devices (
    id                   text PRIMARY KEY,
    premises_id          text NOT NULL REFERENCES premises (id) DEFERRABLE INITIALLY DEFERRED,
    type                 text NOT NULL,
    location             text NOT NULL,
    zone                 text,
    expected_interval_s  integer NOT NULL CHECK (expected_interval_s > 0),
    setpoints            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX devices_premises_idx ON devices (premises_id);

CREATE TABLE inspectors (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    jurisdiction_id      text NOT NULL REFERENCES jurisdictions (id) DEFERRABLE INITIALLY DEFERRED,
    phone                text,
    email                text,
    webhook_url          text
);
CREATE INDEX inspectors_jurisdiction_idx ON inspectors (jurisdiction_id);

-- One row per shift: this inspector answers for this jurisdiction from starts_at until ends_at.
CREATE TABLE duty_roster (
    inspector_id         text NOT NULL REFERENCES inspectors (id) DEFERRABLE INITIALLY DEFERRED,
    jurisdiction_id      text NOT NULL REFERENCES jurisdictions (id) DEFERRABLE INITIALLY DEFERRED,
    starts_at            timestamptz NOT NULL,
    ends_at              timestamptz NOT NULL,
    PRIMARY KEY (inspector_id, jurisdiction_id, starts_at),
    CHECK (ends_at > starts_at)
);
CREATE INDEX duty_roster_on_duty_idx ON duty_roster (jurisdiction_id, starts_at, ends_at);
