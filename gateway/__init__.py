"""The gateways that let devices connect as they are: GB/T 26875.3 UITDs over TCP
(``firewarden gateway gb26875``), bridged to the MQTT wire contract that ingest reads."""

from gateway.server import DOWNLINK_FILTER, Addresses, Bridge, Gateway, Metrics, Uitd
from gateway.store import load_addresses

__all__ = ["DOWNLINK_FILTER", "Addresses", "Bridge", "Gateway", "Metrics", "Uitd", "load_addresses"]
