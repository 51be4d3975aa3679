-- Alerts and the dual-prevention schedule (alerts/): incidents and their deliveries, the audit log,
-- hazards, inspection tasks, random draws and warning notices. Rows are few next to readings, so
-- plain tables in both flavours.

-- One line of the operators' queue. At most one open (not resolved) incident per dedup key, enforced
-- here so that two alert processes racing on the same decision still make one incident.
CREATE TABLE incidents (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key           text NOT NULL,
    premises_id         text NOT NULL,
    jurisdiction_id     text NOT NULL,
    zone                text NOT NULL,
    class               text NOT NULL CHECK (class IN ('fire', 'alarm', 'hazard', 'supervisory', 'trouble', 'nuisance')),
    title               text NOT NULL,
    state               text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at           timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    events              integer NOT NULL CHECK (events > 0),
    refs                jsonb NOT NULL,            -- decision reference -> still active (true/false)
    inhibited_by        bigint REFERENCES incidents (id),
    escalation_level    integer NOT NULL DEFAULT 0,
    next_escalation_at  timestamptz,
    reminders           integer NOT NULL DEFAULT 0,
    notified            text[] NOT NULL DEFAULT '{}',  -- recipients told so far
    acknowledged_at     timestamptz,
    acknowledged_by     text,
    resolved_at         timestamptz,
    resolved_by         text,
    resolution          text,
    note                text
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (dedup_key) WHERE state <> 'resolved';
CREATE INDEX incidents_escalation_due ON incidents (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX incidents_premises ON incidents (premises_id, state);
CREATE INDEX incidents_open ON incidents (state, opened_at) WHERE state <> 'resolved';

-- The outbox: one row per message to one recipient over one channel. Its idempotency key is what
-- the receiver sees on every attempt; the dispatcher claims due rows with SKIP LOCKED.
CREATE TABLE deliveries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    incident_id         bigint REFERENCES incidents (id),
    premises_id         text NOT NULL,
    kind                text NOT NULL,
    recipient           text NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('console', 'webhook', 'email')),
    address             text NOT NULL,
    payload             jsonb NOT NULL,
    state               text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    priority            smallint NOT NULL,  -- 1 fire .. 6 nuisance (incident classes), 9 the rest: sent first
    attempts            integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    next_attempt_at     timestamptz NOT NULL,
    delivered_at        timestamptz,
    last_error          text
);
CREATE INDEX deliveries_due ON deliveries (priority, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_incident ON deliveries (incident_id);

CREATE TABLE delivery_attempts (
    delivery_id         bigint NOT NULL REFERENCES deliveries (id),
    attempt             integer NOT NULL CHECK (attempt > 0),
    at                  timestamptz NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    status_code         integer,
    error               text,
    duration_ms         double precision NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Who did what, when (执法全过程记录). Append-only: the triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                  timestamptz NOT NULL,
    actor               text NOT NULL,
    action              text NOT NULL,
    subject             text NOT NULL,
    details             jsonb NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject, at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Signals that become hazards once held long enough (policy schedule.hazards.*.after_s).
CREATE TABLE hazard_watch (
    premises_id         text NOT NULL,
    signal_key          text NOT NULL,
    rule                text NOT NULL,
    device_id           text NOT NULL,
    raised_at           timestamptz NOT NULL,
    due_at              timestamptz NOT NULL,
    PRIMARY KEY (premises_id, signal_key)
);
CREATE INDEX hazard_watch_due ON hazard_watch (due_at);

-- 隐患: found, assigned, fixed by the deadline, verified and closed.
CREATE TABLE hazards (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    premises_id         text NOT NULL,
    source              text NOT NULL,             -- a signal key, 'false_alarms', or 'task:<id>'
    rule                text NOT NULL,
    title               text NOT NULL,
    state               text NOT NULL CHECK (state IN ('open', 'recovered', 'closed')),
    opened_at           timestamptz NOT NULL,
    deadline            timestamptz NOT NULL,
    inspector_id        text,
    unit_name           text NOT NULL,
    signal_active       boolean NOT NULL,
    overdue_at          timestamptz,
    recovered_at        timestamptz,
    closed_at           timestamptz,
    closed_by           text,
    note                text
);
CREATE UNIQUE INDEX hazards_one_open ON hazards (premises_id, source) WHERE state <> 'closed';
CREATE INDEX hazards_deadline ON hazards (deadline) WHERE state <> 'closed' AND overdue_at IS NULL;

-- Where each premises stands in the inspection cycle.
CREATE TABLE premises_schedule (
    premises_id         text PRIMARY KEY,
    tier                text NOT NULL CHECK (tier IN ('red', 'orange', 'yellow', 'blue')),
    tier_since          timestamptz NOT NULL,
    score               double precision NOT NULL,
    last_inspected_at   timestamptz
);

CREATE TABLE tasks (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key           text NOT NULL,
    premises_id         text NOT NULL,
    inspector_id        text,
    kind                text NOT NULL CHECK (kind IN ('inspection', 'hazard', 'draw')),
    reason              text NOT NULL,
    tier                text,
    due_at              timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    state               text NOT NULL CHECK (state IN ('open', 'done', 'cancelled')),
    hazard_id           bigint REFERENCES hazards (id),
    done_at             timestamptz,
    done_by             text,
    result              text CHECK (result IN ('clean', 'findings', 'closed')),
    findings            jsonb
);
CREATE UNIQUE INDEX tasks_one_open ON tasks (dedup_key) WHERE state = 'open';
CREATE INDEX tasks_inspector_due ON tasks (inspector_id, due_at) WHERE state = 'open';

-- 双随机: one row per premises drawn in a period, with the inspectors drawn for it and the seed.
CREATE TABLE draws (
    period              text NOT NULL,
    premises_id         text NOT NULL,
    inspectors          text[] NOT NULL,
    seed                bigint NOT NULL,
    drawn_at            timestamptz NOT NULL,
    PRIMARY KEY (period, premises_id)
);

-- 火灾风险分级警示: notices sent to a responsible unit on entering red or orange.
CREATE TABLE notices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    premises_id         text NOT NULL,
    tier                text NOT NULL,
    score               double precision NOT NULL,
    issued_at           timestamptz NOT NULL,
    unit_name           text NOT NULL,
    jurisdiction_id     text NOT NULL,
    text                text NOT NULL
);
CREATE INDEX notices_premises ON notices (premises_id, issued_at);
