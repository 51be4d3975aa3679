-- Plain PostgreSQL: BRIN indexes suit append-mostly tables ordered by time at a tiny size, and a
-- view with the continuous aggregate's name and columns keeps every query the same on both flavours.

CREATE INDEX readings_time_brin ON readings USING brin (time);
CREATE INDEX events_time_brin ON events USING brin (time);
CREATE INDEX dead_letters_time_brin ON dead_letters USING brin (received_at);

CREATE VIEW readings_hourly AS
SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       premises_id, device_id, metric,
       count(*) AS n, avg(value) AS avg, min(value) AS min, max(value) AS max
FROM readings
GROUP BY 1, premises_id, device_id, metric;
