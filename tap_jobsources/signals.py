"""Signals as a flag: SIGTERM and SIGINT stop the run at a safe boundary, within a bound.

The first signal only sets the flag; the record path checks it at every page and record
boundary (``StopFlag.check``) and the run then ends as any stopped run does: files of
gathered records closed, one final STATE through the checkpoint, exit 143 (SIGTERM) or
130 (SIGINT). While the main thread only waits (for an answer, a retry, the pacer, a page
read ahead) nothing is half done, so the stop is raised there at once
(``StopFlag.waiting``).

Every wait after a signal has a bound. A target that stopped reading leaves the tap
blocked in a write to stdout, which no flag can end; so:

- the first signal gives the run :data:`GRACE_SECONDS` to end; past them a watchdog thread
  ends the process (exit 143 / 130), at once when no write is under way, else as soon as
  the write has moved no byte for :data:`STALLED_SECONDS`;
- a second signal ends the process at once, except inside a write that is still moving
  (the target reads): that write finishes its line first (``StopFlag.writing``), unless it
  then stalls for :data:`STALLED_SECONDS`.

So stdout never holds a partial line, except when the target has stopped reading it: a
process ended inside a stuck write may leave the line it was writing cut (a target that
reads no more never sees it). The last STATE the target did read still holds.

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
import time
import typing as t

#: Seconds a run has, after the first signal, to end by itself (its final STATE written).
GRACE_SECONDS = 30.0
#: A write to stdout that has moved no byte for this long is stuck: the target is not reading.
STALLED_SECONDS = 1.0

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
        self._moved_at = 0.0  # when the write under way last moved a byte (time.monotonic)
        self._installed = False  # the process's handlers: only then is there a watchdog
        self._deadline: float | None = None  # when the watchdog ends the process
        self._why = ""  # what its line says brought it there
        self._watchdog: threading.Thread | None = None
        # Taken to start a write and by the watchdog to end the process: never between the two.
        self._gate = threading.Lock()

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on (main thread only: where Python runs handlers)."""
        if threading.current_thread() is threading.main_thread():
            for sig in _NAMES:
                signal.signal(sig, self._handle)
            self._installed = True

    def ignore(self) -> None:
        """From now on SIGTERM and SIGINT change nothing (the run is over)."""
        if threading.current_thread() is threading.main_thread():
            for sig in _NAMES:
                signal.signal(sig, signal.SIG_IGN)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:  # the second signal: end now, but not inside a moving line
            code = 128 + signum
            if self._writing and not self._stalled():
                self._exit_after_write = code
                self._watch(time.monotonic(), "Interrupted again")  # should the write stall from here
                return
            if self._writing:
                _cut_exit(code, "Interrupted again")
            _hard_exit(code)
        self.signum = signum
        if self._installed:
            name = _NAMES.get(signal.Signals(signum), str(signum))
            _say(
                f"{name} received: stopping at the next record boundary with a final STATE. Within "
                f"{GRACE_SECONDS:.0f} s the tap ends anyway (the target may not be reading); a second {name} "
                "ends it at once."
            )
            self._watch(time.monotonic() + GRACE_SECONDS, f"Still running {GRACE_SECONDS:.0f} s after {name}")
        if self._waiting and not self._writing:
            raise self.error()

    def _stalled(self, now: float | None = None) -> bool:
        """A write is under way and has moved no byte for STALLED_SECONDS."""
        return bool(self._writing) and (now or time.monotonic()) - self._moved_at >= STALLED_SECONDS

    def _watch(self, deadline: float, why: str) -> None:
        """End the process at ``deadline`` (or soon after: see the module's docstring)."""
        if not self._installed:
            return  # a flag of a test: never end its process
        if self._deadline is None or deadline < self._deadline:
            self._deadline, self._why = deadline, why
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch_loop, name="stop-watchdog", daemon=True)
            self._watchdog.start()

    def _watch_loop(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            if self._deadline is None or now < self._deadline:
                continue
            with self._gate:  # no write starts while this looks
                code = self._exit_after_write or 128 + (self.signum or signal.SIGTERM)
                if not self._writing:
                    _say(f"{self._why}: ending now (exit {code}). The last STATE written still holds.")
                    os._exit(code)
                if self._stalled(now):
                    _cut_exit(code, self._why)

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
        """A write to stdout: a stop, even a hard one, waits until it is whole, as long as it
        moves (the writer calls :meth:`moved` after each piece it writes)."""
        with self._gate:
            self._writing += 1
            self._moved_at = time.monotonic()
        try:
            yield
        finally:
            self._writing -= 1
            if not self._writing and self._exit_after_write is not None:
                _hard_exit(self._exit_after_write)

    def moved(self) -> None:
        """Some bytes of the write under way went out (the target reads)."""
        self._moved_at = time.monotonic()


def _say(line: str) -> None:
    """One line to stderr from a signal handler or the watchdog: straight to the descriptor
    (a handler that wrote through sys.stderr while the main thread did would fail)."""
    with contextlib.suppress(OSError):
        os.write(sys.stderr.fileno(), (line + "\n").encode())


def _hard_exit(code: int) -> t.NoReturn:
    _say(f"Interrupted again: ending at once (exit {code}). The last STATE written still holds.")
    os._exit(code)


def _cut_exit(code: int, what: str) -> t.NoReturn:
    _say(
        f"{what}, inside a write the target has not read for {STALLED_SECONDS:.0f} s: ending at once "
        f"(exit {code}). The target is not reading; the line being written may be cut. The last STATE "
        "it read still holds."
    )
    os._exit(code)


#: The process's flag: signal handlers are per process.
STOP = StopFlag()
