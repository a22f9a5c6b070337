"""The SDK's standard tap tests, against the emulator (a floor: the other test files check more)."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from jobsources_sandbox import Sandbox
from tap_jobsources.tap import TapJobSources
from tests.conftest import FAST
from tests.helpers import select

pytestmark = pytest.mark.e2e

# The SDK builds its test class (and a tap, to list the streams) while pytest collects
# this module, so the emulator must already listen then.
EMULATOR = Sandbox().start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()


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

TestTapJobSources = get_tap_test_class(
    TapJobSources,
    config=CONFIG,
    catalog=CATALOG,
    suite_config=SuiteConfig(max_records_limit=1000),
)
