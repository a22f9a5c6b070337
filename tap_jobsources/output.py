"""Singer output: msgspec serialisation, written in blocks of whole lines.

RECORD messages wait in a buffer; any other message (STATE, SCHEMA, BATCH ...) is added
after them and the buffer is written at once. Every write is of whole lines and goes to
the file descriptor until every byte is out, inside ``STOP.writing()``: a signal, even a
second one, never leaves half a line on stdout while the target reads it (a target that
stopped reading gets a bounded wait, then the process ends: see ``signals.py``). Which
STATE goes out, and when, is the checkpoint's business (``checkpoint.py``), not this writer's.
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import time
from datetime import UTC, datetime

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib import Message, RecordMessage

from tap_jobsources.errors import RunStopped
from tap_jobsources.signals import STOP

FLUSH_BYTES = 64 * 1024
#: The most one write to stdout hands over: a pipe's atomic size (PIPE_BUF on Linux), and a
#: quarter of that while a signal's stop waits on the writes.
WRITE_PIECE = 4096
WRITE_PIECE_STOPPING = 1024
#: Exit status when the target closed the pipe: 128 + SIGPIPE, as a shell reports it.
TARGET_GONE = 141


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Buffers RECORD lines; any other message flushes the buffer with it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = bytearray()
        self._prefixes: dict[str, bytes] = {}
        self._second = -1
        self._suffixes: dict[int | None, bytes] = {}
        atexit.register(self.flush)

    def write_record(self, stream: str, record: dict, version: int | None) -> None:
        """A RECORD line, as the SDK's RecordMessage would write it, without building one: the
        stream's part is encoded once, the record into the buffer, the time once a second."""
        prefix = self._prefixes.get(stream)
        if prefix is None:
            prefix = self._prefixes[stream] = b'{"type":"RECORD","stream":' + encoder.encode(stream) + b',"record":'
        buffer = self._buffer
        buffer += prefix
        encoder.encode_into(record, buffer, -1)
        # The suffix (version, time_extracted) changes once a second: looked up, not rebuilt.
        suffix = self._suffixes.get(version) if int(time.time()) == self._second else None
        buffer += suffix or self._suffix(version)
        if len(buffer) >= FLUSH_BYTES:
            self.flush()

    def _suffix(self, version: int | None) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second, self._suffixes = second, {}
        suffix = self._suffixes.get(version)
        if suffix is None:
            extracted = datetime.fromtimestamp(second, UTC).isoformat()
            versioned = b"" if version is None else b',"version":' + str(version).encode()
            suffix = self._suffixes[version] = versioned + b',"time_extracted":"' + extracted.encode() + b'"}\n'
        return suffix

    def write_state(self, value: dict) -> None:
        """A STATE line, as the SDK's StateMessage would write it, without the deep copy its
        encoder makes of the state first (one STATE a page makes that copy add up)."""
        self._buffer += b'{"type":"STATE","value":'
        encoder.encode_into(value, self._buffer, -1)
        self._buffer += b"}\n"
        self.flush()

    def write_message(self, message: Message) -> None:
        self._buffer += self.format_message(message)
        if not isinstance(message, RecordMessage) or len(self._buffer) >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        with STOP.writing():
            data, self._buffer = self._buffer, bytearray()  # handed over whole, not copied
            try:
                _write_all(data)
            except BrokenPipeError:
                # Nothing can reach the target any more; point stdout at /dev/null so that
                # the interpreter's last flush does not print a second error.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
                raise RunStopped(
                    TARGET_GONE,
                    "The target stopped reading (the tap's stdout closed): stopping. Check the target's "
                    "own log for why; the next run resumes from the last STATE the target saved.",
                ) from None


def _write_all(data: bytearray) -> None:
    """Every byte of ``data`` to stdout's file descriptor (after what others wrote to it)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation):  # stdout captured in memory (tests in-process)
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:
            sys.stdout.write(data.decode())
        sys.stdout.flush()
        return
    view = memoryview(data)
    while view:
        # In pieces, each followed by moved(): a blocking write returns only once the target
        # has read what it needed room for, and a target that reads slowly must not pass for
        # one that stopped (signals.py). Smaller once a signal came: the stop waits on them.
        piece = WRITE_PIECE if STOP.signum is None else WRITE_PIECE_STOPPING
        view = view[os.write(fd, view[:piece]) :]
        STOP.moved()  # the target reads: a second signal lets this line end (signals.py)
