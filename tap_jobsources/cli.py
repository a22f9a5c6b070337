"""The command line: signal handlers first, then the SDK's CLI.

Importing the SDK takes most of a second; a scheduler's SIGTERM in that second must
already end the run the tap's way (a STATE, exit 143), not the interpreter's.
"""

from __future__ import annotations

from tap_jobsources.signals import STOP


def main() -> None:
    STOP.install()
    try:
        from tap_jobsources.tap import TapJobSources

        TapJobSources.cli()
    finally:
        # The run is over, its last line written. Python puts the default handlers back while
        # it exits, and a signal then would kill the process without a word: ignore it instead.
        STOP.ignore()
