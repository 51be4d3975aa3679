-- What devices say about themselves (channel `status`): online/offline (the broker's last will),
-- battery, radio strength, firmware. Keyed like the other message tables: (device_id, seq) names a
-- message, `time` is in the unique key because a hypertable's unique indexes must include it.

CREATE TABLE device_status (
    time          timestamptz NOT NULL,
    premises_id   text NOT NULL,
    device_id     text NOT NULL,
    seq           bigint NOT NULL,
    state         text NOT NULL CHECK (state IN ('online', 'offline')),
    battery_pct   double precision,
    rssi_dbm      double precision,
    firmware      text
);
CREATE UNIQUE INDEX device_status_message_key ON device_status (device_id, seq, time);
