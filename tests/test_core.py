"""The SDK's standard tap tests, against the emulator (a floor: the other test files check more)."""

from __future__ import annotations

import signal

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from jobsources_sandbox import Sandbox
from tap_jobsources.tap import TapJobSources
from tests.conftest import FAST
from tests.helpers import select

# The SDK's runner builds the taps in this process (no process is started). Each tap installs
# the stop flag's SIGTERM and SIGINT handlers: pytest's are put back after the module.
HANDLERS = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

# The SDK builds its test class (and a tap, to list the streams) while pytest collects
# this module, so the emulator must already listen then.
EMULATOR = Sandbox().start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()
    for sig, handler in HANDLERS.items():
        signal.signal(sig, handler)


# Every optional field fed, so that no standard test passes on "no records available":
# Bindbee's raw_data and custom_fields, TrackJobChanges' group_id (with groups configured).
CONFIG = {
    **EMULATOR.settings(),
    **FAST,
    "bindbee_include_raw_data": True,
    "bindbee_include_custom_fields": True,
    "trackjobchanges_group_ids": list(EMULATOR.trackjobchanges.connections),
}

# job_details is off by default; select it so the suite covers it too.
CATALOG = select(TapJobSources(config=CONFIG).catalog_dict, {"job_details": True})
for _sig, _handler in HANDLERS.items():
    signal.signal(_sig, _handler)

TestTapJobSources = get_tap_test_class(
    TapJobSources,
    config=CONFIG,
    catalog=CATALOG,
    suite_config=SuiteConfig(max_records_limit=1000),
)
