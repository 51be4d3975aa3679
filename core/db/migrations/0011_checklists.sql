-- Inspection checklists per premises category (alerts/checklists.py, docs/supervision.md).
--
-- Every set of checklists in use, one row per version; the newest is in use. Rows are never changed:
-- a replacement is a new version.
CREATE TABLE checklists (
    version     integer PRIMARY KEY CHECK (version > 0),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL,
    document    jsonb NOT NULL
);

-- A visit's result per checklist item, with the version and the texts it was recorded against, so a
-- later version never rewrites it. A failed item names the hazard it opened.
CREATE TABLE task_checks (
    task_id     bigint NOT NULL REFERENCES tasks (id),
    item_id     text NOT NULL,
    version     integer NOT NULL REFERENCES checklists (version),
    text_zh     text NOT NULL,
    text_en     text NOT NULL,
    basis       text NOT NULL,
    severity    text NOT NULL,
    result      text NOT NULL CHECK (result IN ('pass', 'fail', 'na')),
    note        text NOT NULL DEFAULT '',
    hazard_id   bigint REFERENCES hazards (id),
    recorded_at timestamptz NOT NULL,
    recorded_by text NOT NULL,
    PRIMARY KEY (task_id, item_id)
);
