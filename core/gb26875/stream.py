"""GB/T 26875.3 frames cut out of a byte stream (a TCP connection).

A UITD writes frames back to back on its connection (and the centre on its side), and TCP hands them
over in pieces of any size: half a frame, three and a half, a frame with line noise before it.
:class:`FrameCutter` keeps what it has been fed and gives back each whole frame once its last byte
has come:

- a frame starts at ``@@``; its length field (bytes 24-25, little-endian) says how long it is
  (:data:`~core.gb26875.frame.EMPTY_FRAME_BYTES` + length), and it must end with ``##`` there;
- bytes before an ``@@``, a length over the standard's 1,024 data bytes, or a frame that does not end
  with ``##`` where its length says are garbage: the cutter counts them and looks for the next ``@@``
  (resynchronising), so one damaged frame does not take the rest of the connection with it;
- a start that claims more bytes than have come, while a whole frame with a good checksum begins
  after it, was garbage too (an ``@`` just before a frame's ``@@``): the UITD would otherwise wait
  for ever for the confirm of a frame it sent whole;
- what it holds is bounded by the largest frame (1,054 bytes): garbage is dropped as it comes.

The checksum and the data unit are not its business: a frame whose delimiters and length agree goes
on as it is, and ingest denies it when its bytes do not add up (docs/protocol.md), as on MQTT.
"""

from __future__ import annotations

from core.gb26875.frame import CONTROL_UNIT_BYTES, EMPTY_FRAME_BYTES, END, MAX_DATA_BYTES, START, checksum

HEADER_BYTES = 2 + CONTROL_UNIT_BYTES
"""``@@`` and the control unit: enough to read the length field."""
MAX_FRAME_BYTES = EMPTY_FRAME_BYTES + MAX_DATA_BYTES


class FrameCutter:
    def __init__(self) -> None:
        self._held = bytearray()
        self.garbage = 0
        """Bytes dropped so far as not part of any frame."""

    def feed(self, data: bytes) -> list[bytes]:
        """The whole frames completed by ``data``, in order."""
        held = self._held
        held += data
        frames = []
        while True:
            start = held.find(START)
            if start < 0:
                keep = 1 if held.endswith(START[:1]) else 0  # a lone '@' may be half of the next start
                self._drop(len(held) - keep)
                break
            if start:
                self._drop(start)
            if len(held) < HEADER_BYTES:
                break
            length = int.from_bytes(held[24:26], "little")
            if length > MAX_DATA_BYTES:
                self._drop(1)  # not a frame start after all: look for the next one
                continue
            size = EMPTY_FRAME_BYTES + length
            if len(held) < size:
                later = _whole_frame_after(held)
                if later is None:
                    break
                self._drop(later)  # this start was garbage: a whole frame begins inside it
                continue
            if held[size - 2 : size] != END:
                self._drop(1)
                continue
            frames.append(bytes(held[:size]))
            del held[:size]
        return frames

    @property
    def held(self) -> int:
        """Bytes kept for a frame not yet whole."""
        return len(self._held)

    def _drop(self, n: int) -> None:
        if n > 0:
            del self._held[:n]
            self.garbage += n


def _whole_frame_after(held: bytearray) -> int | None:
    """Where a later ``@@`` in ``held`` begins a whole frame whose checksum holds, if one does.

    A start that is garbage (an ``@`` just before a frame's ``@@``, say) may claim more bytes than will
    ever come, and the UITD waits for the confirm of the frame it has sent whole: waiting for the claim
    would hold that frame for ever. A whole frame with a good checksum inside the claimed bytes says the
    start was no start. (The cost: a real frame whose data unit held a whole frame with a good checksum
    would lose its head; no information object is built that way.)"""
    i = held.find(START, 1)
    while i >= 0 and len(held) - i >= HEADER_BYTES:
        length = int.from_bytes(held[i + 24 : i + 26], "little")
        end = i + EMPTY_FRAME_BYTES + length
        whole = length <= MAX_DATA_BYTES and end <= len(held) and held[end - 2 : end] == END
        if whole and checksum(bytes(held[i + 2 : end - 3])) == held[end - 3]:
            return i
        i = held.find(START, i + 1)
    return None
