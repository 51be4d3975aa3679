"""``firewarden registry``: import and export the registry file (docs/registry.md)."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core import registry
from core.db import connect
from core.services import database_url
from firewarden.cli._context import console, emit, settings_of

app = typer.Typer(help="Premises, devices, jurisdictions, inspectors and the duty roster.", no_args_is_help=True)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Registry file, .yaml/.yml or .json.")],
) -> None:
    """Upsert a registry file, all or nothing: on any problem the database is left unchanged."""
    settings = settings_of(ctx)
    started = time.perf_counter()
    parsed = registry.load(file)
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        results = registry.import_registry(conn, parsed, source=str(file), actor=f"cli:{getpass.getuser()}")
    table = Table("table", "new", "changed", "unchanged", title=f"imported {file}")
    for result in results:
        table.add_row(result.table, str(result.inserted), str(result.updated), str(result.unchanged))
    console.print(table)
    console.print(f"done in {time.perf_counter() - started:.1f} s")


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here; format from the extension.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="yaml or json (default: from --output, else yaml).")
    ] = None,
) -> None:
    """Write the whole registry as a registry file (to standard output without --output)."""
    settings = settings_of(ctx)
    chosen: registry.FileFormat
    if fmt in ("yaml", "json"):
        chosen = "json" if fmt == "json" else "yaml"
    elif fmt is not None:
        raise typer.BadParameter(f"valid values are yaml or json, got {fmt!r}", param_hint="--format")
    else:
        chosen = registry.format_of(output) if output else "yaml"
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        text = registry.dump(registry.export_registry(conn), chosen)
    emit(text, output)


points_app = typer.Typer(help="A UITD's panel point list (loop/point -> zone), from and to the panel's CSV export.")
app.add_typer(points_app, name="points")


@points_app.command("import")
def points_import(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="The UITD's device id.")],
    file: Annotated[Path, typer.Argument(help="CSV with a header: loop, address, zone, floor, component_type, ...")],
    replace: Annotated[bool, typer.Option(help="Delete the UITD's points the file does not list.")] = False,
) -> None:
    """Upsert a UITD's point list, all or nothing (docs/registry.md)."""
    from core.registry.points import parse_points
    from core.registry.store import import_points

    settings = settings_of(ctx)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {file}: {error}", param_hint="FILE") from None
    points = parse_points(text, device, source=str(file))
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        done = import_points(conn, device, points, replace=replace, source=str(file), actor=f"cli:{getpass.getuser()}")
    console.print(
        f"{device}: {done.inserted} new, {done.updated} changed, {done.unchanged} unchanged, {done.deleted} deleted"
    )


@points_app.command("export")
def points_export(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="The UITD's device id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """A UITD's point list as CSV (what `points import` reads)."""
    from core.registry.store import export_points

    with database_url(settings_of(ctx)) as url, connect(url, autocommit=True) as conn:
        text = export_points(conn, device)
    emit(text, output)


@app.command("credentials")
def credentials_command(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where passwd, acl and credentials.csv are written.")],
    key_file: Annotated[
        Path,
        typer.Option(help="The secret the passwords are derived from (64 hex digits); made when missing."),
    ],
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Read this registry file instead of the database's registry."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            help="More service users, NAME:read|write|readwrite[:TOPIC] (TOPIC default fw/v1/#); "
            "ingest, gateway and nbiot are always made.",
        ),
    ] = None,
    create_key: Annotated[bool, typer.Option(help="Make the key file when it is missing.")] = True,
) -> None:
    """Mosquitto's password file and ACL from the registry: one user per device (user name = device id),
    allowed to publish only under fw/v1/<its premises>/<its id>/, and the service users.

    Passwords are derived from the key, so running this again after an import keeps every known
    device's password. credentials.csv lists every user and password for provisioning devices; it and
    the key are secrets (mode 0600, in a directory of mode 0700). Point Mosquitto's password_file and
    acl_file at the other two (mode 0644: salted hashes and topic rules, for the broker's own user) and
    send it SIGHUP to reload them.
    """
    from core.registry.credentials import BUILT_IN, Service, acl_file, credentials, load_key, password_file, write_file

    services = list(BUILT_IN)
    for spec in service or []:
        parts = spec.split(":", 2)
        if len(parts) < 2 or parts[1] not in ("read", "write", "readwrite") or not parts[0]:
            raise typer.BadParameter(
                f"expected NAME:read|write|readwrite[:TOPIC], got {spec!r}", param_hint="--service"
            )
        if parts[0] in {s.name for s in services}:
            raise typer.BadParameter(f"{parts[0]!r} is a service user already", param_hint="--service")
        name, access = parts[0], parts[1]
        services.append(Service(name, access, parts[2] if len(parts) == 3 else "fw/v1/#"))  # type: ignore[arg-type]
    if from_file is not None:
        parsed = registry.load(from_file)
    else:
        settings = settings_of(ctx)
        with database_url(settings) as url, connect(url, autocommit=True) as conn:
            parsed = registry.export_registry(conn)
    key = load_key(key_file, create=create_key)
    entries = credentials(parsed, key, services)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    # The broker reads passwd (salted hashes) and acl as its own user, mounted file by file into its
    # container: readable by all, inside a directory only the owner enters. Clear text stays 0600.
    write_file(out_dir / "passwd", password_file(entries), 0o644)
    write_file(out_dir / "acl", acl_file(entries), 0o644)
    rows = ["user,password,kind,premises,access,topic\n"]
    rows += [f"{c.user},{c.password},{c.kind},{c.premises_id},{c.access},{c.topic}\n" for c in entries]
    write_file(out_dir / "credentials.csv", "".join(rows), 0o600)
    devices = sum(1 for c in entries if c.kind == "device")
    console.print(
        f"wrote {out_dir}/passwd, {out_dir}/acl and {out_dir}/credentials.csv: "
        f"{devices} device(s), {len(entries) - devices} service user(s)"
    )
