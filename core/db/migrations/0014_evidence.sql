-- Evidence: photos and documents attached to what people record (a checklist item's photo; later a
-- unit's rectification report), stored once per content hash (alerts/evidence.py, docs/supervision.md).
CREATE TABLE evidence (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type  text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size        integer NOT NULL CHECK (size > 0),
    content     bytea NOT NULL,
    uploaded_at timestamptz NOT NULL,
    uploaded_by text NOT NULL
);
ALTER TABLE task_checks ADD COLUMN photo text REFERENCES evidence (sha256);
