-- TimescaleDB: hypertables, compression, retention and an hourly continuous aggregate.
-- Not exercised against a live TimescaleDB in CI (none is installable here); tests parse it with
-- PostgreSQL's own parser. Intervals are storage defaults; change them with the policy functions
-- (see docs/operations.md), not by editing this applied migration.

SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'));
SELECT create_hypertable('events', by_range('time', INTERVAL '7 days'));

ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id, metric',
    timescaledb.compress_orderby = 'time DESC, seq'
);
SELECT add_compression_policy('readings', INTERVAL '7 days');
SELECT add_retention_policy('readings', INTERVAL '400 days');
SELECT add_retention_policy('events', INTERVAL '1100 days');

CREATE INDEX dead_letters_time_brin ON dead_letters USING brin (received_at);

CREATE MATERIALIZED VIEW readings_hourly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
       premises_id, device_id, metric,
       count(*) AS n, avg(value) AS avg, min(value) AS min, max(value) AS max
FROM readings
GROUP BY 1, premises_id, device_id, metric
WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
