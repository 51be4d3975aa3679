-- NB-IoT devices reporting through China Telecom CTWing too (docs/protocol.md "NB-IoT platforms"): a
-- platform name is `onenet:<product id>/<device name>` or `ctwing:<product id>/<device id>`.
ALTER TABLE devices DROP CONSTRAINT devices_platform_id_check;
ALTER TABLE devices ADD CONSTRAINT devices_platform_id_check
    CHECK (platform_id ~ '^(onenet|ctwing):[A-Za-z0-9_-]{1,64}/[^[:space:]/]{1,128}$');
