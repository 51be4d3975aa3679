-- NB-IoT devices reporting through a carrier's IoT platform (docs/protocol.md "NB-IoT platforms"): the
-- platform's name for the device, `onenet:<product id>/<device name>`, is how `firewarden gateway nbiot`
-- knows which registry device a push is about. One device per platform name.
ALTER TABLE devices ADD COLUMN platform_id text CHECK (platform_id ~ '^onenet:[A-Za-z0-9_-]{1,64}/[^[:space:]/]{1,128}$');
CREATE UNIQUE INDEX devices_platform_id ON devices (platform_id) WHERE platform_id IS NOT NULL;
