"""A UITD's side of GB/T 26875.3 over TCP, as the devices in the field behave: one connection to the
centre, one frame at a time, the next only once the centre has confirmed (command 3) this one; no
confirm within ``confirm_timeout_s``: the same frame again (same serial, same time label); a dropped
connection: connect again (every ``reconnect_s``) and send the unconfirmed frame again. The centre's
commands (control 1 or request 4: a duty check, a clock sync) are kept in :attr:`TcpUitd.received` and
confirmed (command 3, the command's serial), whether they come while a frame waits for its confirm or
while the UITD is idle (:meth:`TcpUitd.poll`)."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from core import gb26875 as gb
from simulators.engine import Outgoing

POLL_S = 0.2
"""How often an idle UITD reads what the centre sent."""


@dataclass
class TcpStats:
    frames: int = 0
    """Frames confirmed."""
    sends: int = 0
    """Times a frame was written (a frame sent again counts again)."""
    connects: int = 0
    denied: int = 0
    commands: int = 0
    """The centre's commands confirmed."""


class TcpUitd:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        confirm_timeout_s: float = 2.0,
        reconnect_s: float = 0.2,
        give_up_s: float = 60.0,
        tls: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port = host, port
        self.tls = tls
        """TLS to a gateway that speaks it (the centre's certificate checked against this context)."""
        self.confirm_timeout_s = confirm_timeout_s
        self.reconnect_s = reconnect_s
        self.give_up_s = give_up_s
        self.clock = clock
        self.stats = TcpStats()
        self.received: list[gb.Frame] = []
        """Frames from the centre other than the answers to this UITD's frames (commands)."""
        self.address: bytes | None = None
        """This UITD's address: the source of the frames it sends (known from its first)."""
        self._sock: socket.socket | None = None
        self._cutter = gb.FrameCutter()
        self._echoes: Counter[int] = Counter()
        """Serials of the commands this UITD confirmed: the centre may confirm a confirm back, which
        is not the confirm of this UITD's own frame of that serial."""

    def send_all(self, frames: Iterable[bytes]) -> TcpStats:
        """Send each frame until the centre confirms it. Raises TimeoutError when one goes unconfirmed
        for ``give_up_s`` (the centre unreachable that long)."""
        for frame in frames:
            self._send_confirmed(frame)
        return self.stats

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def poll(self) -> None:
        """Read what the centre sent while this UITD had no frame to send, and confirm its commands."""
        sock = self._sock
        if sock is None:
            return
        try:
            while True:
                sock.settimeout(0.0)
                try:
                    data = sock.recv(4096)
                except (BlockingIOError, ssl.SSLWantReadError):
                    return  # nothing more for now
                finally:
                    sock.settimeout(self.confirm_timeout_s)
                if not data:
                    raise ConnectionResetError("the centre closed the connection")
                for raw in self._cutter.feed(data):
                    self._from_centre(sock, gb.decode_frame(raw))
        except OSError:
            self.close()

    def _send_confirmed(self, frame: bytes) -> None:
        header = gb.header_of(frame)
        if header is None:
            raise ValueError(f"not a GB/T 26875.3 frame: {frame[:8]!r}...")
        serial, self.address = header
        deadline = self.clock() + self.give_up_s
        while self.clock() < deadline:
            try:
                sock = self._connected()
                sock.sendall(frame)
                self.stats.sends += 1
                answer = self._answer(sock, serial)
            except OSError:
                self.close()
                time.sleep(self.reconnect_s)
                continue
            if answer == gb.CONFIRM:
                self.stats.frames += 1
                return
            if answer == gb.DENY:
                self.stats.denied += 1
                return
        raise TimeoutError(f"frame serial {serial} unconfirmed for {self.give_up_s:.0f} s")

    def _connected(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.confirm_timeout_s)
            self._sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock
            self._cutter = gb.FrameCutter()
            self.stats.connects += 1
        return self._sock

    def _answer(self, sock: socket.socket, serial: int) -> int | None:
        """The centre's answer (confirm or deny) to ``serial`` within the confirm timeout, else None."""
        until = self.clock() + self.confirm_timeout_s
        while (left := until - self.clock()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(4096)
            except TimeoutError:
                return None
            if not data:
                raise ConnectionResetError("the centre closed the connection")
            for raw in self._cutter.feed(data):
                frame = gb.decode_frame(raw)
                if self._from_centre(sock, frame) and frame.serial == serial:
                    return frame.command
        return None

    def _from_centre(self, sock: socket.socket, frame: gb.Frame) -> bool:
        """Handle a frame from the centre; True when it is an answer (confirm or deny) that may be the
        one to this UITD's own frame."""
        if frame.command in (gb.CONFIRM, gb.DENY):
            if self._echoes[frame.serial]:
                self._echoes[frame.serial] -= 1  # the centre's answer to this UITD's confirm
                return False
            return True
        self.received.append(frame)
        if frame.command in (gb.CONTROL, gb.REQUEST) and self.address is not None:
            answer = gb.encode_frame(frame.serial, gb.CONFIRM, b"", sent_at=datetime.now(UTC), source=self.address,
                                     destination=frame.source)  # fmt: skip
            sock.sendall(answer)
            self._echoes[frame.serial] += 1
            self.stats.commands += 1
        return False


class TcpFrames:
    """The GB/T 26875.3 frames of a simulated stream sent to a gateway over TCP, one connection per UITD
    (a :class:`TcpUitd` in a thread of its own), while the rest of the stream goes over MQTT:
    :meth:`route` takes the frames out of the stream and hands each to its UITD, in order."""

    def __init__(self, host: str, port: int, *, confirm_timeout_s: float = 2.0, give_up_s: float = 60.0) -> None:
        self.host, self.port = host, port
        self.confirm_timeout_s, self.give_up_s = confirm_timeout_s, give_up_s
        self._senders: dict[str, tuple[queue.Queue[bytes | None], TcpUitd, threading.Thread]] = {}
        """Each UITD's frames to send, its connection, and the thread that sends them."""
        self.errors: list[str] = []

    def route(self, stream: Iterable[Outgoing]) -> Iterator[Outgoing]:
        """``stream`` without its frames (the ``gb26875`` channel): those go to the gateway."""
        for message in stream:
            if message.topic.endswith("/gb26875") and message.device_id is not None:
                self._queue(message.device_id).put(message.payload)
            else:
                yield message

    def close(self) -> TcpStats:
        """Wait until every frame handed over is confirmed (or given up on); the totals of every UITD."""
        for frames, _, _ in self._senders.values():
            frames.put(None)
        total = TcpStats()
        for _, uitd, thread in self._senders.values():
            thread.join()
            total.frames += uitd.stats.frames
            total.sends += uitd.stats.sends
            total.connects += uitd.stats.connects
            total.denied += uitd.stats.denied
            total.commands += uitd.stats.commands
            uitd.close()
        return total

    def _queue(self, device_id: str) -> queue.Queue[bytes | None]:
        if (found := self._senders.get(device_id)) is not None:
            return found[0]
        frames: queue.Queue[bytes | None] = queue.Queue()
        uitd = TcpUitd(self.host, self.port, confirm_timeout_s=self.confirm_timeout_s, give_up_s=self.give_up_s)

        def send() -> None:
            while True:
                try:
                    frame = frames.get(timeout=POLL_S)
                except queue.Empty:
                    uitd.poll()  # idle: the centre's commands are confirmed all the same
                    continue
                if frame is None:
                    return
                try:
                    uitd.send_all([frame])
                except TimeoutError as error:
                    self.errors.append(f"{device_id}: {error}")

        thread = threading.Thread(target=send, name=f"uitd-{device_id}", daemon=True)
        thread.start()
        self._senders[device_id] = (frames, uitd, thread)
        return frames
