-- GB/T 26875.3 to field grade (docs/protocol.md, docs/registry.md).
--
-- A UITD's panel points: loop/point -> zone, floor, component type, description, and optionally the
-- registry device that stands for the point (its analog values become that device's readings). Frame
-- events take their zone from here. `loop` is 0 for vendors whose address is one number.
CREATE TABLE panel_points (
    device_id       text NOT NULL REFERENCES devices (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    loop            integer NOT NULL CHECK (loop >= 0),
    address         integer NOT NULL CHECK (address >= 0),
    zone            text,
    floor           text,
    component_type  text,
    description     text,
    maps_to         text REFERENCES devices (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (device_id, loop, address)
);

-- How the UITD's vendor splits the 4-byte component address: loop_point (default), point_loop, number.
ALTER TABLE devices ADD COLUMN address_order text;

-- What frames say of the device beyond online/offline: keep-alive, versions, configuration, clock,
-- modes, operations, its answers to the centre's commands; and its clock's skew at receipt.
ALTER TABLE device_status ADD COLUMN detail text;
ALTER TABLE device_status ADD COLUMN clock_skew_s double precision;

-- The centre's commands to UITDs (duty check, clock sync): who sent which, and what came back. The
-- device's confirm or deny arrives as a device_status row with detail 'confirm serial=N' / 'deny serial=N'.
CREATE TABLE uitd_commands (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('duty_check', 'sync_clock')),
    serial      integer NOT NULL CHECK (serial BETWEEN 0 AND 65535),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    sent_by     text NOT NULL
);
CREATE INDEX uitd_commands_device_idx ON uitd_commands (device_id, sent_at DESC);
