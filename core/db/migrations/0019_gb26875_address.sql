-- GB/T 26875.3 over TCP (docs/protocol.md "GB/T 26875.3 over TCP"): a UITD's source address, as 12 hex
-- digits in the order sent, is how the gateway knows which registry device a connection is. One UITD
-- per address.
ALTER TABLE devices ADD COLUMN gb26875_address text CHECK (gb26875_address ~ '^[0-9a-f]{12}$');
CREATE UNIQUE INDEX devices_gb26875_address ON devices (gb26875_address) WHERE gb26875_address IS NOT NULL;
