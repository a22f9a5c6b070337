"""Singer output: msgspec serialisation, written in blocks rather than one syscall per record."""

from __future__ import annotations

import atexit
import os
import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_jobsources.errors import RunStopped

FLUSH_BYTES = 64 * 1024
#: Exit status when the target closed the pipe: 128 + SIGPIPE, as a shell reports it.
TARGET_GONE = 141


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Buffers RECORD messages; any other message (STATE, SCHEMA ...) flushes the buffer with it.

    A STATE therefore never reaches stdout before the records it covers, and records
    lost in a crash are never covered by a STATE the target has seen: delivery stays
    at-least-once.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = bytearray()
        self._last_state: bytes | None = None
        self._holders: set[str] = set()  # streams with records gathered for a BATCH file
        self._held: bytes | None = None
        atexit.register(self.flush)

    def write_message(self, message) -> None:
        line = self.format_message(message)
        if isinstance(message, StateMessage) and self._holders:
            self._held = bytes(line)  # written once no stream holds records outside a file
            return
        if isinstance(message, StateMessage):
            # The SDK writes the whole state after every child partition (each connection's
            # employments), changed or not: an unchanged STATE tells a target nothing.
            if line == self._last_state:
                return
            self._last_state = bytes(line)
        self._buffer += line
        if not isinstance(message, RecordMessage) or len(self._buffer) >= FLUSH_BYTES:
            self.flush()

    def hold_states(self, holder: str, hold: bool) -> None:
        """While any holder holds, STATE messages wait; the last one goes out on release."""
        if hold:
            self._holders.add(holder)
            return
        self._holders.discard(holder)
        if not self._holders and self._held is not None:
            held, self._held = self._held, None
            if held != self._last_state:
                self._last_state = held
                self._buffer += held
                self.flush()

    def repeat_next_state(self) -> None:
        """Write the next STATE even if unchanged: the last line of a stopped run."""
        self._last_state = None

    def flush(self) -> None:
        try:
            if self._buffer:
                sys.stdout.buffer.write(self._buffer)
                self._buffer.clear()
            sys.stdout.flush()
        except BrokenPipeError:
            self._buffer.clear()
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
