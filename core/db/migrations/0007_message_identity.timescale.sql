-- The hourly aggregate answers like the plain flavour's view: materialized hours plus the recent,
-- not yet materialized ones (real-time aggregation), so both flavours give the same numbers.
ALTER MATERIALIZED VIEW readings_hourly SET (timescaledb.materialized_only = false);
