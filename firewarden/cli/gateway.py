"""``firewarden gateway``: devices connected as they are (docs/protocol.md "GB/T 26875.3 over TCP" and
"NB-IoT platforms")."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of

app = typer.Typer(help="Gateways that connect devices as they are to the MQTT wire contract.")


@app.command("gb26875")
def gb26875(ctx: typer.Context) -> None:
    """Accept GB/T 26875.3 UITDs over TCP on FIREWARDEN_GATEWAY_HOST:FIREWARDEN_GATEWAY_PORT (26875) and bridge
    them to the broker (frames up, the centre's confirms and commands down); any number behind one address."""
    from firewarden.processes.gateway import run_gateway

    run_gateway(settings_of(ctx))


@app.command("nbiot")
def nbiot(ctx: typer.Context) -> None:
    """Take NB-IoT devices' messages as their IoT platform pushes them (China Mobile OneNET:
    POST /ingest/onenet on FIREWARDEN_NBIOT_HOST:FIREWARDEN_NBIOT_PORT, 8090), signatures checked with
    FIREWARDEN_ONENET_TOKEN; each push answered 200 once the broker holds it."""
    from firewarden.processes.nbiot import run_nbiot

    run_nbiot(settings_of(ctx))
