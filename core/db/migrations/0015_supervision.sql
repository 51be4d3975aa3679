-- The supervision workflow (supervision/, docs/supervision.md): the unit's own accounts and portal,
-- rectification reports an inspector verifies, read receipts and commitments, enforcement cases with
-- their steps and approvals, the major-hazard listing and the credit history.

-- A unit account (role 'unit') answers for one or more premises and sees nothing else.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('operator', 'inspector', 'admin', 'unit'));
ALTER TABLE users ADD COLUMN premises_ids text[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD CONSTRAINT users_unit_premises CHECK (role <> 'unit' OR cardinality(premises_ids) > 0);

-- A unit's self-check (自查) is a task the unit does itself.
ALTER TABLE tasks DROP CONSTRAINT tasks_kind_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_kind_check CHECK (kind IN ('inspection', 'hazard', 'draw', 'self_check'));

-- 主动申报: a hazard the unit reported itself (no penalty for it); 重大火灾隐患 listed for supervision
-- (挂牌督办) from listed_at until the hazard closes (销案, delisted_at).
ALTER TABLE hazards ADD COLUMN self_reported boolean NOT NULL DEFAULT false;
ALTER TABLE hazards ADD COLUMN listed_at timestamptz;
ALTER TABLE hazards ADD COLUMN listed_by text;
ALTER TABLE hazards ADD COLUMN listing_note text;
ALTER TABLE hazards ADD COLUMN delisted_at timestamptz;

-- Who uploaded a stored file (the same content is stored once; each uploader may fetch it).
CREATE TABLE evidence_holders (
    sha256      text NOT NULL REFERENCES evidence (sha256),
    actor       text NOT NULL,
    PRIMARY KEY (sha256, actor)
);
INSERT INTO evidence_holders (sha256, actor) SELECT sha256, uploaded_by FROM evidence;

-- A unit's report that a hazard is fixed, with its evidence; an inspector verifies (the hazard
-- closes) or rejects it (it stays open, the unit is told why).
CREATE TABLE rectifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hazard_id       bigint NOT NULL REFERENCES hazards (id),
    premises_id     text NOT NULL,
    submitted_at    timestamptz NOT NULL,
    submitted_by    text NOT NULL,
    note            text NOT NULL,
    evidence        text[] NOT NULL DEFAULT '{}',
    state           text NOT NULL CHECK (state IN ('submitted', 'verified', 'rejected')),
    decided_at      timestamptz,
    decided_by      text,
    decision_note   text
);
CREATE UNIQUE INDEX rectifications_one_pending ON rectifications (hazard_id) WHERE state = 'submitted';
CREATE INDEX rectifications_premises ON rectifications (premises_id, submitted_at);

-- A user's read receipt of a warning notice.
CREATE TABLE notice_reads (
    notice_id   bigint NOT NULL REFERENCES notices (id),
    user_id     text NOT NULL,
    read_at     timestamptz NOT NULL,
    PRIMARY KEY (notice_id, user_id)
);

-- 承诺: a unit's published commitment, signed by its account.
CREATE TABLE commitments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    premises_id text NOT NULL,
    text        text NOT NULL,
    signed_by   text NOT NULL,
    signed_at   timestamptz NOT NULL
);
CREATE INDEX commitments_premises ON commitments (premises_id, signed_at);

-- An enforcement case (执法案件) about one premises: opened from a hazard or a failed checklist item
-- with a rectification order, then re-checked; closed, or escalated to a seal-up, a stop or a penalty.
CREATE TABLE cases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number          text NOT NULL UNIQUE,
    premises_id     text NOT NULL,
    hazard_id       bigint REFERENCES hazards (id),
    offence         text NOT NULL,
    circumstance    text NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'closed')),
    deadline        timestamptz NOT NULL,
    opened_at       timestamptz NOT NULL,
    opened_by       text NOT NULL,
    updated_at      timestamptz NOT NULL,           -- the last step: a change the console's live feed tells
    closed_at       timestamptz,
    closed_by       text,
    close_note      text
);
CREATE INDEX cases_premises ON cases (premises_id, opened_at);

-- Each step of a case, in order. A measure above the policy's thresholds is 'pending' until a second
-- person approves it (法制审核); a document step has its number (责令改正通知书 and the others).
CREATE TABLE case_steps (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id),
    kind            text NOT NULL CHECK (kind IN ('order', 'recheck', 'seal_up', 'stop', 'penalty', 'exemption',
                                                  'lift', 'close')),
    state           text NOT NULL CHECK (state IN ('pending', 'effective', 'rejected')),
    number          text UNIQUE,
    fine_yuan       numeric(12, 2),
    detail          jsonb NOT NULL DEFAULT '{}',
    proposed_at     timestamptz NOT NULL,
    proposed_by     text NOT NULL,
    decided_at      timestamptz,
    decided_by      text,
    decision_note   text
);
CREATE INDEX case_steps_case ON case_steps (case_id, id);
CREATE INDEX case_steps_pending ON case_steps (proposed_at) WHERE state = 'pending';

-- A premises' credit (信用) as supervision sets it, every change with its reason. The newest row is
-- the status in force and is written to premises.credit_status, which the risk model reads.
CREATE TABLE credit_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    premises_id     text NOT NULL,
    at              timestamptz NOT NULL,
    from_status     text NOT NULL,
    to_status       text NOT NULL,
    reason          text NOT NULL,
    detail          jsonb NOT NULL DEFAULT '{}',
    actor           text NOT NULL,
    case_id         bigint REFERENCES cases (id)
);
CREATE INDEX credit_changes_premises ON credit_changes (premises_id, at);

-- A draw's strata: credit status ('' for the draw-pool tiers) -> its share and pool.
ALTER TABLE draw_runs ADD COLUMN strata jsonb;

-- The console's live feed hears of these too.
CREATE TRIGGER cases_notify AFTER INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER rectifications_notify AFTER INSERT OR UPDATE ON rectifications
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER notices_notify AFTER INSERT ON notices
    FOR EACH ROW EXECUTE FUNCTION console_notify();
CREATE TRIGGER credit_changes_notify AFTER INSERT ON credit_changes
    FOR EACH ROW EXECUTE FUNCTION console_notify();
