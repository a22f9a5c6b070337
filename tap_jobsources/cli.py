"""The command line: signal handlers first, then the SDK's CLI, and one line for any failure.

Importing the SDK takes most of a second; a scheduler's SIGTERM in that second must
already end the run the tap's way (a STATE, exit 143), not the interpreter's.

An exception that escapes the SDK's CLI would reach the SDK's excepthook, which logs it
with its traceback: a user (or a scheduler's log) would read a stack of the tap's and the
SDK's frames for what is, most of the time, a message written for them. It ends instead
with one ERROR line, the exception's type and its message (secrets and URLs' user info
masked), and exit 1; the traceback follows only at ``TAP_JOBSOURCES_LOGLEVEL=DEBUG``.
A stop the tap decided (``RunStopped``: a signal, a closed pipe, skipped records) is a
``SystemExit`` with its own code and message and passes through untouched.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

from tap_jobsources.signals import STOP

#: The logger the SDK writes the tap's own lines with.
LOGGER = "tap-jobsources"


def main() -> None:
    STOP.install()
    try:
        from tap_jobsources.tap import TapJobSources

        TapJobSources.cli()
    except Exception as exc:  # noqa: BLE001 - what the tap did not foresee still ends in one line
        sys.exit(_failed(exc))
    finally:
        # The run is over, its last line written. Python puts the default handlers back while
        # it exits, and a signal then would kill the process without a word: ignore it instead.
        STOP.ignore()


def _failed(exc: BaseException) -> int:
    """Log one line for ``exc`` (its traceback too at DEBUG) and return the exit status."""
    from tap_jobsources.redaction import redact

    message = redact(" ".join(str(exc).split())) or "(no message)"
    line = f"{type(exc).__name__}: {message}"
    if _debug():  # formatted and masked here: the failure may come before the log filter is set up
        line += "\n" + redact("".join(traceback.format_exception(exc)).rstrip())
    logging.getLogger(LOGGER).error("%s", line)
    return 1


def _debug() -> bool:
    # As the SDK reads its level (plugin_base._plugin_log_level): before logging is set up too.
    level = os.environ.get("TAP_JOBSOURCES_LOGLEVEL") or os.environ.get("LOGLEVEL") or ""
    return level.strip().upper() == "DEBUG"
