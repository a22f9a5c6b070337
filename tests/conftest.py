from __future__ import annotations

import pytest

from jobsources_sandbox import Sandbox

FAST = {
    # The emulator has no rate limit unless a test sets one: lift the tap's ceiling too.
    "getro_requests_per_minute": 60_000,
    "retry_backoff_seconds": 0.05,
    "request_timeout": 10,
}


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def getro_config(sandbox) -> dict:
    return {**sandbox.settings("getro"), **FAST}
