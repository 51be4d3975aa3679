"""``firewarden gateway``: devices connected as they are (docs/protocol.md "GB/T 26875.3 over TCP")."""

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
