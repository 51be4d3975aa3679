"""``firewarden broker``: run the embedded MQTT broker in the foreground."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from core.services import choose_broker, embedded_broker
from firewarden.cli._context import console, settings_of


def broker(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port (default: setting embedded_mqtt_port).")] = None,
) -> None:
    """Run the embedded MQTT broker (Mosquitto when installed, else amqtt) until interrupted."""
    settings = settings_of(ctx)
    program = choose_broker()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with embedded_broker(settings.data_dir, port=port or settings.embedded_mqtt_port, program=program) as url:
        console.print(f"{program.kind} listening at {url}; Ctrl-C to stop")
        stop.wait()
    console.print("broker stopped")
