-- The console an operator trusts at a glance (docs/console.md).
--
-- What the alerts stage decided, as a message code and its arguments (core/vocabulary.json renders it
-- in the reader's language): {"code": "incident.fire", "args": {"zone": "3F", "reason": "two_detectors"}}.
-- The text columns beside (title, reason, text) keep the English rendering for integrations.
ALTER TABLE incidents ADD COLUMN label jsonb NOT NULL DEFAULT '{}';
ALTER TABLE hazards ADD COLUMN label jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN label jsonb NOT NULL DEFAULT '{}';
ALTER TABLE notices ADD COLUMN label jsonb NOT NULL DEFAULT '{}';
-- Rows written before keep their text, as a label that shows it as it is (code "text").
UPDATE incidents SET label = jsonb_build_object('code', 'text', 'args', jsonb_build_object('text', title));
UPDATE hazards SET label = jsonb_build_object('code', 'text', 'args', jsonb_build_object('text', title));
UPDATE tasks SET label = jsonb_build_object('code', 'text', 'args', jsonb_build_object('text', reason));
UPDATE notices SET label = jsonb_build_object('code', 'text', 'args', jsonb_build_object('text', text));

-- A jurisdiction's boundary for the console's map: a GeoJSON Polygon or MultiPolygon (lon, lat), optional.
ALTER TABLE jurisdictions ADD COLUMN boundary jsonb;

-- Login throttling counts recent failures by action and time (per user and per address).
CREATE INDEX audit_log_action_at ON audit_log (action, at);
