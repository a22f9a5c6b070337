"""The SDK's standard tap tests, against the emulator (a floor: the other test files check more).

Twice: in the SDK's default mode (no catalog, the default SuiteConfig, as a user of the SDK runs
them), where the SDK forces every stream's selection, job_details (off by default) included; and
with job_details selected in the catalog and more records per stream."""

from __future__ import annotations

import signal

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from jobsources_sandbox import Sandbox
from tap_jobsources.tap import TapJobSources
from tests.conftest import FAST
from tests.helpers import run_tap, select

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

# The default mode: the tap's own catalog (job_details not selected), the SDK's SuiteConfig.
TestTapJobSourcesDefault = get_tap_test_class(TapJobSources, config=CONFIG)

# job_details is off by default; select it so the suite covers it with its own selection too.
CATALOG = select(TapJobSources(config=CONFIG).catalog_dict, {"job_details": True})
for _sig, _handler in HANDLERS.items():
    signal.signal(_sig, _handler)

TestTapJobSources = get_tap_test_class(
    TapJobSources,
    config=CONFIG,
    catalog=CATALOG,
    suite_config=SuiteConfig(max_records_limit=1000),
)


@pytest.mark.parametrize("mode", ["schema", "all"])
def test_the_test_capability_sends_every_stream_with_its_whole_schema(tmp_path, mode):
    """`--test=schema` and `--test` force every stream's selection (the SDK's `stream.selected =
    True`): a stream off by default (job_details) must go out with its properties, keys included,
    not `properties: {}` (a target then cannot make its table)."""
    run = run_tap(tmp_path, CONFIG, extra_args=[f"--test={mode}"], timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    schemas = {m["stream"]: m for m in run.messages if m["type"] == "SCHEMA"}
    assert set(schemas) == set(TapJobSources(config=CONFIG).streams)
    for name, message in schemas.items():
        properties = message["schema"]["properties"]
        assert set(message["key_properties"]) <= set(properties), (name, message)
    details = schemas["job_details"]["schema"]["properties"]
    assert {"network_id", "id", "description", "description_last_updated_at"} <= set(details)
    if mode == "all":
        records = run.records["job_details"]
        assert records
        assert set(records[0]) <= set(details)
