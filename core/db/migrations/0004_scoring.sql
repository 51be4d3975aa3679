-- What scoring decides (scoring/records.py): signals, alarm decisions and risk scores. Rows are
-- append-only; each table's primary key is the decision's identity, so a decision published again
-- (at-least-once delivery, a replayed partition) is stored once. Far fewer rows than readings, so
-- plain tables in both flavours.

CREATE TABLE signals (
    time          timestamptz NOT NULL,
    premises_id   text NOT NULL,
    device_id     text NOT NULL,
    rule          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('trouble', 'supervisory', 'hazard_candidate')),
    state         text NOT NULL CHECK (state IN ('raised', 'cleared')),
    subject       text NOT NULL,
    evidence      jsonb NOT NULL,
    PRIMARY KEY (premises_id, device_id, rule, subject, state, time)
);
CREATE INDEX signals_time ON signals (time);

CREATE TABLE alarms (
    alarm_id        text NOT NULL,
    revision        integer NOT NULL CHECK (revision > 0),
    time            timestamptz NOT NULL,
    premises_id     text NOT NULL,
    zone            text NOT NULL,
    classification  text NOT NULL CHECK (classification IN ('confirmed', 'unverified', 'nuisance_likely')),
    reason          text NOT NULL,
    trigger         text NOT NULL,
    opened_at       timestamptz NOT NULL,
    final           boolean NOT NULL,
    evidence        jsonb NOT NULL,
    PRIMARY KEY (alarm_id, revision)
);
CREATE INDEX alarms_premises_time ON alarms (premises_id, time);

CREATE TABLE risk_scores (
    premises_id     text NOT NULL,
    revision        integer NOT NULL CHECK (revision > 0),
    time            timestamptz NOT NULL,
    score           double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    tier            text NOT NULL CHECK (tier IN ('red', 'orange', 'yellow', 'blue')),
    previous_tier   text CHECK (previous_tier IN ('red', 'orange', 'yellow', 'blue')),
    factors         jsonb NOT NULL,
    model_version   text NOT NULL,
    inputs          jsonb NOT NULL,
    PRIMARY KEY (premises_id, revision)
);
CREATE INDEX risk_scores_time ON risk_scores (time);
