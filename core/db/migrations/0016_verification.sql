-- Alarm verification that reads a zone's use and names its evidence (docs/scoring.md, docs/registry.md).
--
-- What each zone of a premises is used for (kitchen, boiler room, car park, e-bike charging point): a
-- temperature rise there means less than in an ordinary room. A zone not listed is ordinary.
CREATE TABLE zones (
    premises_id  text NOT NULL REFERENCES premises (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    zone         text NOT NULL,
    use          text NOT NULL,
    description  text,
    PRIMARY KEY (premises_id, zone)
);

-- An alarm incident's evidence: every device and reading its latest decision relied on, in the order
-- they happened (scoring's AlarmDecision.evidence); empty for other incidents.
ALTER TABLE incidents ADD COLUMN evidence jsonb NOT NULL DEFAULT '[]';
