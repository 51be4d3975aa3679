-- (device_id, seq) is a message's identity everywhere (docs/protocol.md). The tables' unique keys must
-- include `time` on a hypertable, so they cannot say it alone: ingest keeps, per device, the highest
-- seq it has stored. A message above it is new; one at or below it is looked up by (device_id, seq)
-- among the messages stamped within ingest's age limit, and is a duplicate when it is the same
-- message, a `seq_conflict` dead letter when it is not. Ingest raises a device's highest seq before it
-- decides, which locks the row: two ingest processes never store one (device_id, seq) twice.
-- `prev_high` is what that raise found, returned by the same statement.
CREATE TABLE device_sequences (
    device_id  text PRIMARY KEY,
    high_seq   bigint NOT NULL,
    prev_high  bigint
);
INSERT INTO device_sequences (device_id, high_seq)
SELECT device_id, max(seq) FROM (
    SELECT device_id, max(seq) AS seq FROM readings GROUP BY device_id
    UNION ALL SELECT device_id, max(seq) FROM events GROUP BY device_id
    UNION ALL SELECT device_id, max(seq) FROM device_status GROUP BY device_id
) known
GROUP BY device_id;

-- A flood of oversize messages must not fill the disk: beyond the wire's size limit a dead letter
-- keeps a prefix of the payload, with the whole payload's size and SHA-256.
ALTER TABLE dead_letters ADD COLUMN payload_size integer;
ALTER TABLE dead_letters ADD COLUMN payload_sha256 bytea;
UPDATE dead_letters SET payload_size = octet_length(payload), payload_sha256 = sha256(payload);
ALTER TABLE dead_letters ALTER COLUMN payload_size SET NOT NULL;
ALTER TABLE dead_letters ALTER COLUMN payload_sha256 SET NOT NULL;
