-- The console (console/): who may log in and what they may see, their web sessions, integrations'
-- API tokens; the action-plan notes an operator records when resolving; and change notifications
-- that drive the console's live feed.

-- A person with a role. An inspector sees only their jurisdiction (and the ones below it); the
-- jurisdiction and inspector ids are checked by the application when the user is made, not by
-- foreign keys, so that re-importing the registry never fails on a user.
CREATE TABLE users (
    id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    name                text NOT NULL,
    role                text NOT NULL CHECK (role IN ('operator', 'inspector', 'admin')),
    inspector_id        text,
    jurisdiction_id     text,
    password_hash       text,                      -- argon2id; NULL: no web login (tokens only)
    disabled            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    CHECK (role <> 'inspector' OR jurisdiction_id IS NOT NULL)
);

-- A web session: the cookie holds a random token, the table its SHA-256 only.
CREATE TABLE sessions (
    token_hash          bytea PRIMARY KEY,
    user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A bearer token for an integration, acting as its user. Shown once when made; stored hashed.
CREATE TABLE api_tokens (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                text NOT NULL,
    token_hash          bytea NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz,
    revoked_at          timestamptz
);

-- The notes an operator wrote for the steps of the incident class's action plan, step id -> note.
ALTER TABLE incidents ADD COLUMN plan_notes jsonb;

-- "Which signals are active now" for a premises and "which devices are offline" for the city:
-- the latest row per device, rule and subject.
CREATE INDEX signals_latest ON signals (rule, premises_id, device_id, subject, time DESC);
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE state = 'resolved';
CREATE INDEX hazards_premises ON hazards (premises_id, state);

-- One notification per changed row on channel firewarden_changes (identical ones in a transaction
-- are folded by PostgreSQL): the table, the premises and its jurisdiction, so the console can tell
-- each browser what changed in its scope without polling.
CREATE FUNCTION console_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    jurisdiction text;
BEGIN
    SELECT jurisdiction_id INTO jurisdiction FROM premises WHERE id = NEW.premises_id;
    PERFORM pg_notify('firewarden_changes',
                      json_build_object('table', TG_TABLE_NAME, 'premises', NEW.premises_id,
                                        'jurisdiction', jurisdiction)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_notify AFTER INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER hazards_notify AFTER INSERT OR UPDATE ON hazards
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER premises_schedule_notify AFTER INSERT OR UPDATE ON premises_schedule
    FOR EACH ROW EXECUTE FUNCTION console_notify();
