-- Failover in seconds (docs/operations.md "What a crash costs").
--
-- Every alerts process reads every partition of fw.alarms (no consumer group, so no rebalance delays a
-- fire): where they have read to is kept here, shared, and an alarm decision is applied by whichever
-- process claims it first in alarm_decisions_handled, in the transaction that applies it.
CREATE TABLE bus_positions (
    reader       text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (reader, partition)
);

CREATE TABLE alarm_decisions_handled (
    alarm_id    text NOT NULL,
    revision    integer NOT NULL,
    handled_at  timestamptz NOT NULL,
    PRIMARY KEY (alarm_id, revision)
);
CREATE INDEX alarm_decisions_handled_at ON alarm_decisions_handled (handled_at);

-- A dispatcher's claim names the dispatcher; its liveness is a session advisory lock it holds, so a
-- claim of one that died (its connection gone) is taken over at once instead of after the lease.
ALTER TABLE deliveries ADD COLUMN claimed_by integer;

-- Ingest's MQTT sessions: when each client id was last known connected, so that a process (or its
-- standby) that connects after a restart knows the broker should still hold its session; and every
-- time a broker had none where one was expected (messages in the window may be lost), until an
-- operator acknowledges it (`firewarden sessions acknowledge`).
CREATE TABLE ingest_sessions (
    client_id  text PRIMARY KEY,
    seen_at    timestamptz NOT NULL
);

CREATE TABLE ingest_session_losses (
    id               bigserial PRIMARY KEY,
    client_id        text NOT NULL,
    lost_from        timestamptz NOT NULL,
    lost_until       timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text
);
