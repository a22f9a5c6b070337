"""Honest exits: a run stopped by a signal or by its target is not a success.

The SDK answers SIGTERM and SIGINT with ``sys.exit(0)``, so a scheduler records an
interrupted run as a good one. Here they end the run with 128 + the signal's number
(143, 130), after the final STATE that ``TapJobSources.sync_all`` writes.
"""

from __future__ import annotations

import signal
import threading

from tap_jobsources.errors import RunStopped

_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


def _stop(signum: int, frame: object) -> None:
    # A second signal while the first is being handled changes nothing.
    for sig in _NAMES:
        signal.signal(sig, signal.SIG_IGN)
    raise RunStopped(
        128 + signum,
        f"Interrupted by {_NAMES.get(signal.Signals(signum), str(signum))}: wrote a final STATE and stopped. "
        "The next run resumes from it.",
    )


def stop_on_signals() -> None:
    """From now on, SIGTERM and SIGINT stop the run (main thread only: where Python runs handlers)."""
    if threading.current_thread() is threading.main_thread():
        for sig in _NAMES:
            signal.signal(sig, _stop)
