CREATE INDEX device_status_time_brin ON device_status USING brin (time);
