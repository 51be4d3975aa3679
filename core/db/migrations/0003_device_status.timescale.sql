SELECT create_hypertable('device_status', by_range('time', INTERVAL '7 days'));
SELECT add_retention_policy('device_status', INTERVAL '400 days');
