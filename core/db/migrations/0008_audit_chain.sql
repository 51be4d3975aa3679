-- The audit log (执法全过程记录) the application cannot switch off, and whose rows cannot go missing or
-- change unnoticed.
--
-- 1. The application runs as a member of the role firewarden_app, which may read and insert the audit
--    log but not change it: it owns no table, so it can neither disable the append-only triggers nor
--    alter or drop anything (the grants are applied by every `firewarden db migrate`, see
--    firewarden/db/roles.py). Migrations run as the owner of the tables.
-- 2. Every row is chained: hash = SHA-256(previous row's hash || the row's content), in the order the
--    rows were committed (chain_pos). A deferred trigger seals each row at commit, so the chain's one
--    lock (audit_chain's row) is held only for the instant before commit, never while a transaction
--    waits for other locks. `firewarden audit verify` walks the chain: a removed row leaves a gap, an
--    altered one a hash that no longer matches, a removed newest row a head that points past the end.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'firewarden_app') THEN
        CREATE ROLE firewarden_app NOLOGIN;
    END IF;
END
$$;

ALTER TABLE audit_log ADD COLUMN chain_pos bigint UNIQUE;
ALTER TABLE audit_log ADD COLUMN prev_hash bytea;
ALTER TABLE audit_log ADD COLUMN hash bytea;

CREATE TABLE audit_chain (
    single  boolean PRIMARY KEY DEFAULT true CHECK (single),
    pos     bigint NOT NULL,
    hash    bytea
);

-- What a row's hash covers. The time zone is fixed so that the time renders the same in every session.
CREATE FUNCTION audit_row_hash(prev bytea, pos bigint, at timestamptz, actor text, action text,
                               subject text, details jsonb) RETURNS bytea
    LANGUAGE sql STABLE SET TimeZone = 'UTC'
AS $$
    SELECT sha256(coalesce(prev, ''::bytea)
                  || convert_to(jsonb_build_array(pos, at, actor, action, subject, details)::text, 'UTF8'))
$$;

-- Append-only, except for the seal: the chain columns of a row not sealed yet, nothing else.
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.details)
           IS NOT DISTINCT FROM (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.subject, OLD.details) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;

CREATE FUNCTION audit_log_seal() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    next_pos bigint;
    previous bytea;
    sealed bytea;
BEGIN
    UPDATE audit_chain SET pos = pos + 1 RETURNING pos, hash INTO next_pos, previous;
    sealed := audit_row_hash(previous, next_pos, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.details);
    UPDATE audit_chain SET hash = sealed;
    UPDATE audit_log SET chain_pos = next_pos, prev_hash = previous, hash = sealed WHERE id = NEW.id;
    RETURN NULL;
END
$$;

-- The rows written before the chain existed are sealed in the order they were written.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;
WITH ordered AS (SELECT id, row_number() OVER (ORDER BY id) AS pos FROM audit_log)
UPDATE audit_log a SET chain_pos = o.pos FROM ordered o WHERE a.id = o.id;
DO $$
DECLARE
    r record;
    previous bytea := NULL;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY chain_pos LOOP
        UPDATE audit_log SET prev_hash = previous,
               hash = audit_row_hash(previous, r.chain_pos, r.at, r.actor, r.action, r.subject, r.details)
         WHERE id = r.id
        RETURNING hash INTO previous;
    END LOOP;
    INSERT INTO audit_chain (pos, hash) VALUES ((SELECT count(*) FROM audit_log), previous);
END
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;

CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_log_seal();
