-- What devices said: readings (one row per metric), panel and alarm events, and dead letters.
-- Shared by both flavours; 0002_timeseries.<flavour>.sql then makes them hypertables (timescale)
-- or adds BRIN time indexes (plain). Unique keys include `time` because a hypertable's unique
-- indexes must include its partitioning column; (device_id, seq) still identifies a message.

CREATE TABLE readings (
    time          timestamptz NOT NULL,
    premises_id   text NOT NULL,
    device_id     text NOT NULL,
    metric        text NOT NULL,
    value         double precision NOT NULL,
    seq           bigint NOT NULL
);
CREATE UNIQUE INDEX readings_message_key ON readings (device_id, seq, metric, time);
CREATE INDEX readings_device_time_idx ON readings (device_id, metric, time DESC);

CREATE TABLE events (
    time            timestamptz NOT NULL,
    premises_id     text NOT NULL,
    device_id       text NOT NULL,
    seq             bigint NOT NULL,
    kind            text NOT NULL,
    component_type  text,
    loop            integer,
    address         integer,
    zone            text,
    detail          text,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_message_key ON events (device_id, seq, time);
CREATE INDEX events_premises_time_idx ON events (premises_id, time DESC);

-- Everything that did not fit the contract, kept whole so nothing is lost and it can be replayed.
CREATE TABLE dead_letters (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    topic         text NOT NULL,
    payload       bytea NOT NULL,
    reason        text NOT NULL,
    detail        text NOT NULL
);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, received_at);
