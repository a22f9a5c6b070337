from __future__ import annotations

import pytest

from jobsources_sandbox import Sandbox

FAST = {
    # The emulator has no rate limit unless a test sets one: lift the tap's ceiling too.
    "getro_requests_per_minute": 60_000,
    "retry_backoff_seconds": 0.05,
    "request_timeout": 10,
}


#: Tests that share the repository's Meltano project (.meltano: its plugins and its system
#: database) or build the package in the source tree must not run two at once: when
#: scripts/test.sh spreads the suite over two workers (pytest-xdist, --dist loadgroup), one
#: worker runs them all, one after another. A new such test: name its file here, or use the
#: ``installed`` fixture (meltano install) as the pipeline and Airflow tests do.
SHARED_PROJECT = ("test_airflow", "test_pipelines.py", "test_meltano_project.py", "test_packaging.py")
SHARED_PROJECT_TESTS = ("test_batch.py::test_batch_output_loads_through_meltano_into_postgres",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            item.path.name.startswith(SHARED_PROJECT)
            or "installed" in getattr(item, "fixturenames", ())
            or item.nodeid.endswith(SHARED_PROJECT_TESTS)
        ):
            item.add_marker(pytest.mark.xdist_group("meltano-project"))


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def getro_config(sandbox) -> dict:
    return {**sandbox.settings("getro"), **FAST}
