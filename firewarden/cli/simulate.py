"""``firewarden simulate``: generate a fleet, run scenarios over MQTT, replay a recorded stream.

The simulators are a stage: they are imported inside the commands, never when the CLI loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from core.addresses import MqttUrl
from core.errors import FirewardenError
from core.services import mqtt_url
from firewarden.cli._context import console, settings_of

if TYPE_CHECKING:
    from simulators import Outgoing, PublishOptions, PublishStats, TcpFrames

app = typer.Typer(help="Simulated fleets and scenarios: fleet, run, replay.", no_args_is_help=True)

QosOption = Annotated[int, typer.Option("--qos", min=0, max=1, help="MQTT QoS: 0 or 1.")]
ProtocolOption = Annotated[str, typer.Option("--mqtt-protocol", help="5 or 3.1.1.")]
SpeedOption = Annotated[float, typer.Option(min=0, help="Simulated seconds per wall second; 0 = as fast as possible.")]
RateOption = Annotated[float | None, typer.Option(min=0.001, help="At most this many messages per second.")]
ConnectionsOption = Annotated[int, typer.Option(min=1, help="Client connections shared by all devices.")]


@app.command("fleet")
def fleet_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Registry file to write (.yaml or .json).")],
    premises: Annotated[int, typer.Option(min=1, help="How many premises.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same fleet.")] = 1,
    roster_start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day of the duty roster.")
    ] = None,
    roster_days: Annotated[int, typer.Option(min=1, max=366, help="Days of duty roster.")] = 7,
) -> None:
    """Write a registry file of a generated city: premises, devices, jurisdictions, inspectors, roster."""
    from core import registry
    from simulators import generate_fleet

    fmt = registry.format_of(output)
    start: date | None = roster_start.date() if roster_start else None
    fleet = generate_fleet(premises, seed, roster_start=start, roster_days=roster_days)
    output.write_text(registry.dump(fleet, fmt), encoding="utf-8")
    console.print(
        f"wrote {output}: {len(fleet.premises)} premises, {len(fleet.devices)} devices, "
        f"{len(fleet.inspectors)} inspectors, {len(fleet.jurisdictions)} jurisdictions"
    )


@app.command("run")
def run_command(
    ctx: typer.Context,
    fleet: Annotated[Path, typer.Option(help="Registry file of the fleet (from `simulate fleet`).")],
    scenario: Annotated[Path | None, typer.Option(help="Scenario file (docs/simulators.md).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the run.")] = 1,
    start: Annotated[
        datetime | None,
        typer.Option(help="Simulated start, ISO 8601 with offset. Default: now, or now - duration when speed != 1."),
    ] = None,
    duration: Annotated[str | None, typer.Option(help="Simulated duration: 90s, 20m, 2h, 1d.")] = None,
    speed: SpeedOption = 1.0,
    rate: RateOption = None,
    qos: QosOption = 1,
    mqtt_protocol: ProtocolOption = "5",
    connections: ConnectionsOption = 4,
    per_device: Annotated[bool, typer.Option(help="One connection per device (client id = device id).")] = False,
    password_template: Annotated[str | None, typer.Option(help="Per-device password; {device_id} is replaced.")] = None,
    ground_truth: Annotated[Path, typer.Option(help="Where to write the ground truth (JSONL).")] = Path(
        "ground_truth.jsonl"
    ),
    record_to: Annotated[Path | None, typer.Option("--record", help="Also write the stream here.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Generate (and record) without connecting to a broker.")] = False,
    background: Annotated[bool, typer.Option(help="Ordinary panel faults and disables besides the scenario.")] = True,
    gb26875: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of UITDs that speak GB/T 26875.3 frames instead of JSON (0-1)."),
    ] = 0.0,
    gateway: Annotated[
        str | None,
        typer.Option(
            help="HOST:PORT of `firewarden gateway gb26875`: the frames go there over TCP (a connection per UITD, "
            "each frame sent again until confirmed), the rest over MQTT."
        ),
    ] = None,
) -> None:
    """Run the fleet (and a scenario) over MQTT, writing ground truth; deterministic for a seed and start."""
    from core import registry
    from simulators import Scenario, Simulation, apply_scenario, load_scenario, parse_duration, write_ground_truth
    from simulators import background as add_background

    spec = load_scenario(scenario) if scenario else Scenario()
    seconds = parse_duration(duration) if duration else spec.duration
    begin = _start_of(start or spec.start, seconds, speed)
    sim = Simulation(registry.load(fleet), seed=seed, start=begin, duration=seconds, gb26875=gb26875)
    if background:
        add_background(sim)
    apply_scenario(sim, spec)
    options = None if dry_run else _options(qos, mqtt_protocol, connections, per_device, password_template, speed, rate)
    frames = None if gateway is None or dry_run else _tcp_frames(gateway)
    with ExitStack() as stack:
        stream: Iterator[Outgoing] = sim.messages()
        if record_to is not None:
            from simulators import record_stream

            stream = record_stream(stream, stack.enter_context(record_to.open("wb")))
        stats = _send(ctx, frames.route(stream) if frames else stream, options, begin, seconds)
        with ground_truth.open("wb") as out:
            written = write_ground_truth(sim.truths, out)
    console.print(
        f"{stats.sent:,} messages, {stats.errors} errors, {stats.reconnects} reconnects; "
        f"{written} ground-truth records in {ground_truth}"
    )
    if frames is not None:
        tcp = frames.close()
        console.print(
            f"over TCP to {gateway}: {tcp.frames:,} frames confirmed, {tcp.denied} denied, {tcp.sends:,} sent "
            f"(repeats included), {tcp.connects} connections; {len(frames.errors)} given up"
        )
        if frames.errors:
            raise FirewardenError(f"frames never confirmed by the gateway: {'; '.join(frames.errors[:5])}")


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    stream_file: Annotated[Path, typer.Argument(help="A stream written by `simulate run --record`.")],
    speed: SpeedOption = 1.0,
    rate: RateOption = None,
    qos: QosOption = 1,
    mqtt_protocol: ProtocolOption = "5",
    connections: ConnectionsOption = 4,
) -> None:
    """Publish a recorded stream again, at its own pace times ``--speed``."""
    from simulators import read_recording

    first = next(read_recording(stream_file), None)
    if first is None:
        console.print(f"{stream_file} holds no messages")
        return
    options = _options(qos, mqtt_protocol, connections, False, None, speed, rate)
    stats = _send(ctx, read_recording(stream_file), options, first.at, None)
    console.print(f"{stats.sent:,} messages replayed, {stats.errors} errors, {stats.reconnects} reconnects")


def _tcp_frames(gateway: str) -> TcpFrames:
    from simulators import TcpFrames

    host, _, port = gateway.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65_536:
        raise typer.BadParameter(f"expected HOST:PORT, got {gateway!r}", param_hint="--gateway")
    return TcpFrames(host, int(port))


def _start_of(given: datetime | None, seconds: float, speed: float) -> float:
    if given is not None:
        if given.tzinfo is None:
            raise typer.BadParameter("the start needs an offset, as in 2026-01-05T08:00:00+08:00", param_hint="--start")
        return given.timestamp()
    now = float(int(time.time()))
    # Faster than real time, the run ends now instead of running into the future: its timestamps stay
    # plausible to an ingest that refuses messages from the future.
    return now if speed == 1.0 else now - seconds


def _options(
    qos: int,
    protocol: str,
    connections: int,
    per_device: bool,
    password_template: str | None,
    speed: float,
    rate: float | None,
) -> Callable[[MqttUrl], PublishOptions]:
    """Checks the publishing flags now; the broker's URL is known only once it runs."""
    from simulators import PublishOptions

    if protocol not in ("5", "3.1.1"):
        raise typer.BadParameter(f"valid values are 5 or 3.1.1, got {protocol!r}", param_hint="--mqtt-protocol")
    chosen: Literal["5", "3.1.1"] = "5" if protocol == "5" else "3.1.1"
    level: Literal[0, 1] = 1 if qos else 0

    def build(url: MqttUrl) -> PublishOptions:
        return PublishOptions(
            url=url,
            qos=level,
            protocol=chosen,
            connections=connections,
            per_device=per_device,
            password_template=password_template,
            speed=speed,
            rate=rate,
        )

    build(MqttUrl("localhost", 1883, tls=False))  # fail on a bad flag before any work is done
    return build


def _send(
    ctx: typer.Context,
    stream: Iterator[Outgoing],
    options: Callable[[MqttUrl], PublishOptions] | None,
    sim_start: float,
    sim_seconds: float | None,
) -> PublishStats:
    from simulators import Publisher, PublishStats

    if options is None:  # dry run: generate (and record) only
        stats = PublishStats()
        for _ in stream:
            stats.sent += 1
        return stats
    with mqtt_url(settings_of(ctx)) as url, _progress(sim_start, sim_seconds) as show, Publisher(options(url)) as pub:
        return pub.publish(stream, sim_start=sim_start, progress=show)


@contextmanager
def _progress(sim_start: float, sim_seconds: float | None) -> Iterator[Callable[[PublishStats], None]]:
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[line]}"), TimeElapsedColumn()]
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("simulating", total=sim_seconds or None, line="")
        last_log = [time.monotonic()]

        def show(stats: PublishStats) -> None:
            simulated = datetime.fromtimestamp(stats.sim_time, UTC).strftime("%Y-%m-%d %H:%M:%S")
            line = (
                f"sent {stats.sent:,} ({stats.rate():,.0f}/s), acked {stats.done:,}, errors {stats.errors}, "
                f"reconnects {stats.reconnects}, sim {simulated}Z"
            )
            progress.update(task, completed=max(0.0, stats.sim_time - sim_start), line=line)
            if not console.is_terminal and time.monotonic() - last_log[0] >= 10:
                console.print(line)
                last_log[0] = time.monotonic()

        yield show


@app.command("inbox")
def inbox_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8081,
    record: Annotated[
        Path | None,
        typer.Option(help="Also append every request (repeats and refusals too) to this file, a JSON line each."),
    ] = None,
) -> None:
    """A webhook receiver for testers: answers every POST 200, checks its signature with the alerts
    webhook secret (FIREWARDEN_ALERTS_WEBHOOK_SECRET; 401 when it does not match) and prints one JSON
    line per delivery (path, idempotency key, signed, event, incident class, premises) until Ctrl-C."""
    import json
    import signal
    import sys
    import threading

    from alerts import webhook_secret
    from simulators import Inbox, Received

    done = threading.Event()
    printing = threading.Lock()  # requests are served by several threads: one whole line at a time

    def show(r: Received) -> None:
        incident = r.body.get("incident")
        premises = r.body.get("premises")
        incident = incident if isinstance(incident, dict) else {}
        premises = premises if isinstance(premises, dict) else {}
        line = {
            "at": r.at, "path": r.path, "key": r.key, "signed": r.signed, "event": r.body.get("event"),
            "class": incident.get("class"), "premises": premises.get("id"),
        }  # fmt: skip
        with printing:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    recording = record.open("a", encoding="utf-8") if record is not None else None

    def keep(r: Received) -> None:
        line = {"at": r.at, "path": r.path, "key": r.key, "signed": r.signed, "status": r.status, "body": r.body}
        assert recording is not None
        with printing:
            recording.write(json.dumps(line, ensure_ascii=False) + "\n")
            recording.flush()

    with Inbox(webhook_secret(settings_of(ctx)), port=port, host=host) as inbox:
        inbox.on_delivery = show
        inbox.on_request = keep if recording is not None else None
        console.print(f"inbox listening on {host}:{port}", highlight=False)
        done.wait()
    if recording is not None:
        recording.close()


@app.command("onenet")
def onenet_command(
    url: Annotated[str, typer.Option(help="The NB-IoT gateway's push address, …/ingest/onenet.")],
    token: Annotated[str, typer.Option(envvar="FIREWARDEN_ONENET_TOKEN", help="The push instance's token.")],
    platform_id: Annotated[
        str, typer.Option("--device", help="The device's platform name, onenet:<product id>/<device name>.")
    ],
    event: Annotated[str | None, typer.Option(help="Push this event (fire_alarm, fault, ...).")] = None,
    value: Annotated[
        list[str] | None, typer.Option(help="Push a property reading NAME=NUMBER (repeat for several).")
    ] = None,
    status: Annotated[Literal["online", "offline"] | None, typer.Option(help="Push a lifeCycle.")] = None,
    aes_key: Annotated[
        str | None,
        typer.Option(envvar="FIREWARDEN_ONENET_AES_KEY", help="Safe mode: encrypt with this 16-character key."),
    ] = None,
) -> None:
    """Push one message of an NB-IoT device as China Mobile OneNET does (signed, sent again until
    answered 200): a stand-in for the platform, to try `firewarden gateway nbiot` (docs/protocol.md)."""
    from simulators import OneNetPlatform, event_message, life_cycle_message, property_message

    product, device = _platform_name(platform_id, "onenet", "device name")
    at = int(time.time() * 1000)
    messages = []
    if value:
        messages.append(property_message(product, device, _readings(value), at))
    if event:
        messages.append(event_message(product, device, event, at))
    if status:
        messages.append(life_cycle_message(product, device, status == "online", at))
    if aes_key is not None and len(aes_key.encode()) != 16:
        raise typer.BadParameter("a safe-mode key is 16 characters", param_hint="--aes-key")
    platform = OneNetPlatform(url, token, aes_key)
    _push_each(messages, lambda message: platform.push(message, at))


@app.command("ctwing")
def ctwing_command(
    url: Annotated[
        str, typer.Option(help="The NB-IoT gateway's push address with its token, …/ingest/ctwing/<token>.")
    ],
    platform_id: Annotated[
        str, typer.Option("--device", help="The device's platform name, ctwing:<product id>/<device id>.")
    ],
    event: Annotated[str | None, typer.Option(help="Push this event (fire_alarm, fault, ...).")] = None,
    value: Annotated[
        list[str] | None, typer.Option(help="Push a property reading NAME=NUMBER (repeat for several).")
    ] = None,
    status: Annotated[Literal["online", "offline"] | None, typer.Option(help="Push an online/offline report.")] = None,
) -> None:
    """Push one message of an NB-IoT device as China Telecom CTWing does (sent again until answered 200): a
    stand-in for the platform, to try `firewarden gateway nbiot` (docs/protocol.md)."""
    from simulators import CtwingPlatform, data_report, event_report, online_report

    product, device = _platform_name(platform_id, "ctwing", "device id")
    at = int(time.time() * 1000)
    messages = []
    if value:
        messages.append(data_report(product, device, _readings(value), at))
    if event:
        messages.append(event_report(product, device, event, at))
    if status:
        messages.append(online_report(product, device, status == "online", at))
    _push_each(messages, CtwingPlatform(url).push)


def _platform_name(platform_id: str, platform: str, device: str) -> tuple[str, str]:
    """(product id, device) of ``<platform>:<product id>/<device>``; a clear error naming --device else."""
    if not platform_id.startswith(f"{platform}:") or "/" not in platform_id:
        raise typer.BadParameter(f"must be {platform}:<product id>/<{device}>", param_hint="--device")
    product, name = platform_id.removeprefix(f"{platform}:").split("/", 1)
    return product, name


def _push_each(messages: list[dict[str, object]], push: Callable[[dict[str, object]], int]) -> None:
    """Push each message, saying its HTTP answer; exit 1 at the first that is not 200."""
    if not messages:
        raise typer.BadParameter("say what to push: --value, --event or --status")
    for message in messages:
        answer = push(message)
        kind = f"{message.get('messageType')} {message.get('notifyType', '')}".rstrip()
        console.print(f"{kind}: HTTP {answer}", highlight=False)
        if answer != 200:
            raise typer.Exit(1)


def _readings(items: list[str]) -> dict[str, float]:
    """NAME=NUMBER options as a mapping. Raises typer.BadParameter naming the one that is not."""
    readings = {}
    for item in items:
        name, _, number = item.partition("=")
        try:
            readings[name] = float(number)
        except ValueError:
            raise typer.BadParameter(f"{item!r} is not NAME=NUMBER", param_hint="--value") from None
    return readings
