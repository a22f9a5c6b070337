from __future__ import annotations

import typing as t

import pytest

from jobsources_sandbox import Sandbox

FAST = {
    # The emulator has no rate limit unless a test sets one: lift the tap's ceiling too.
    "getro_requests_per_minute": 60_000,
    "retry_backoff_seconds": 0.05,
    "request_timeout": 10,
}


#: Tests that share the repository's Meltano project (.meltano: its plugins, its run directories
#: and its system database) or build the package in the source tree must not run two at once.
#: When scripts/test.sh spreads the suite over two workers (pytest-xdist), one worker runs them
#: all, one after another, and the other worker everything else. A new such test: name its file
#: (or its node id) here.
SHARED_PROJECT = (
    "tests/test_airflow",
    "tests/test_pipelines.py",
    "tests/test_meltano_project.py",
    "tests/test_packaging.py",
    "tests/test_warehouse_models.py",
    "tests/test_batch.py::test_batch_output_loads_through_meltano_into_postgres",
)


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: the shared project's, or its own."""
    return "shared Meltano project" if nodeid.startswith(SHARED_PROJECT) else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: t.Any) -> t.Any:
    """xdist's scope scheduling with ``work_unit`` as the scope (its own ``xdist_group`` marks
    do not group under pytest 9.2, whose node ids no longer come from ``_nodeid``)."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedProjectScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SharedProjectScheduling(config, log)


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def getro_config(sandbox) -> dict:
    return {**sandbox.settings("getro"), **FAST}
