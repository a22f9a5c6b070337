"""Signals as a flag: SIGTERM and SIGINT stop the run at a safe boundary.

The first signal only sets the flag; the record path checks it at every page and record
boundary (``StopFlag.check``) and the run then ends as any stopped run does: files of
gathered records closed, one final STATE through the checkpoint, exit 143 (SIGTERM) or
130 (SIGINT). While the main thread only waits (for an answer, a retry, the pacer, a page
read ahead) nothing is half done, so the stop is raised there at once
(``StopFlag.waiting``). A second signal ends the process at once, but never inside a
write to stdout: the writer finishes its line first (``StopFlag.writing``).

The SDK itself answers SIGTERM with ``sys.exit(0)``, so a scheduler would record an
interrupted run as a good one; the command line installs these handlers first thing
(``cli.py``, before the SDK is imported), and the tap keeps the SDK from replacing them.
This module imports nothing of the SDK, so that it loads at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import typing as t

_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


class RunStopped(SystemExit):
    """End the run with ``code`` and one clear line (``message``), no traceback."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code)
        self.message = message


class StopFlag:
    """Set by a signal; read by the record path at its boundaries."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._waiting = 0  # > 0: the main thread only waits; a stop may be raised now
        self._writing = 0  # > 0: a write to stdout is under way; a hard exit waits for it
        self._exit_after_write: int | None = None

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on (main thread only: where Python runs handlers)."""
        if threading.current_thread() is threading.main_thread():
            for sig in _NAMES:
                signal.signal(sig, self._handle)

    def ignore(self) -> None:
        """From now on SIGTERM and SIGINT change nothing (the run is over)."""
        if threading.current_thread() is threading.main_thread():
            for sig in _NAMES:
                signal.signal(sig, signal.SIG_IGN)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:  # the second signal: end now, but not inside a line
            code = 128 + signum
            if self._writing:
                self._exit_after_write = code
                return
            _hard_exit(code)
        self.signum = signum
        if self._waiting and not self._writing:
            raise self.error()

    def error(self) -> RunStopped:
        signum = self.signum or signal.SIGTERM
        name = _NAMES.get(signal.Signals(signum), str(signum))
        return RunStopped(
            128 + signum,
            f"Interrupted by {name}: stopped at a record boundary and wrote a final STATE. The next run resumes "
            "from the last STATE the target saved. Under Meltano that is this STATE only when the tap alone was "
            "signalled; a signal to Meltano or to its whole process group (a scheduler's timeout) stops the "
            "target too, and Meltano then keeps no state: the next run starts over (see the README).",
        )

    def check(self) -> None:
        """At a page or record boundary: stop here if a signal came."""
        if self.signum is not None:
            raise self.error()

    @contextlib.contextmanager
    def waiting(self) -> t.Iterator[None]:
        """The main thread only waits inside this block: a signal stops the run at once.
        (On another thread it changes nothing: handlers run on the main thread alone.)"""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.check()
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1

    @contextlib.contextmanager
    def writing(self) -> t.Iterator[None]:
        """A write to stdout: a stop, even a hard one, waits until it is whole."""
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
            if not self._writing and self._exit_after_write is not None:
                _hard_exit(self._exit_after_write)


def _hard_exit(code: int) -> t.NoReturn:
    sys.stderr.write(f"Interrupted again: ending at once (exit {code}). The last STATE written still holds.\n")
    sys.stderr.flush()
    os._exit(code)


#: The process's flag: signal handlers are per process.
STOP = StopFlag()
