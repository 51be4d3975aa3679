"""The gateways' MQTT client: paho with the broker's TLS, reconnecting by itself; its network loop runs
in its own thread, and :attr:`BrokerClient.connected` says whether the broker is there now."""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.addresses import MqttUrl

log = logging.getLogger(__name__)


class BrokerClient:
    """Connects on :meth:`start`, again after a loss (1-5 s apart), until :meth:`stop`. A subclass
    adds what it does on connecting (:meth:`on_connected`) and what it says when the broker goes."""

    lost_message = "lost the MQTT broker at %s (%s)"

    def __init__(self, broker: MqttUrl, client_id: str) -> None:
        self.broker = broker
        self.client_id = client_id
        self.connected = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        broker.secure(client)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.reconnect_delay_set(1, 5)
        self.client = client

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def on_connected(self, client: mqtt.Client) -> None:
        """Called (in paho's thread) each time the broker accepts the connection, before :attr:`connected`."""

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.error("the MQTT broker at %s refused %s: %s", self.broker, self.client_id, reason)
            return
        self.on_connected(client)
        self.connected.set()

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self.connected.is_set():
            log.warning(self.lost_message, self.broker, reason)
        self.connected.clear()
