"""The gateways that let devices connect as they are: GB/T 26875.3 UITDs over TCP
(``firewarden gateway gb26875``) and NB-IoT devices through their platform's HTTP push
(``firewarden gateway nbiot``), bridged to the MQTT wire contract that ingest reads."""

from gateway.nbiot import Publisher, Pushes, create_app
from gateway.server import DOWNLINK_FILTER, Addresses, Bridge, Gateway, Metrics, Uitd
from gateway.store import load_addresses, load_targets

__all__ = [
    "DOWNLINK_FILTER",
    "Addresses",
    "Bridge",
    "Gateway",
    "Metrics",
    "Publisher",
    "Pushes",
    "Uitd",
    "create_app",
    "load_addresses",
    "load_targets",
]
