"""What Getro's errors do to a run: the documented codes, 429s, 5xx, bad bodies, resets."""

from __future__ import annotations

import time

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.http import Answer
from tests.helpers import discover_in_process, only, run_in_process


@pytest.fixture
def networks_catalog(tmp_path, getro_config):
    return only(discover_in_process(tmp_path / "d", getro_config), {"networks", "job_functions"})


def test_401_stops_at_once_naming_the_credentials(tmp_path, sandbox, getro_config):
    config = {**getro_config, "getro_api_token": "wrong-token-abcdef"}
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Getro rejected the credentials (401 Unauthorized)" in run.stderr
    assert "getro_email and getro_api_token" in run.stderr
    assert len(sandbox.log) == 1  # no retry of a 401
    assert "wrong-token-abcdef" not in run.stderr + run.stdout


def test_403_outside_talent_stops_naming_the_settings(tmp_path, sandbox, getro_config, networks_catalog):
    sandbox.intercept(lambda r: Answer(403, {"error": "hidden"}) if r.path == "/networks" else None)
    run = run_in_process(tmp_path, getro_config, catalog=networks_catalog)
    assert run.returncode != 0
    assert "Getro refused access (403 Forbidden) on GET" in run.stderr
    assert "getro_email and getro_api_token" in run.stderr


@pytest.mark.parametrize("kind", ["429", "429-date"])
def test_429_waits_for_retry_after_then_retries(tmp_path, sandbox, getro_config, networks_catalog, kind):
    sandbox.faults.retry_after = 2
    sandbox.faults.inject(kind, provider="getro", path="^/networks$")
    run = run_in_process(tmp_path, getro_config, catalog=networks_catalog)
    assert run.returncode == 0, run.stderr
    assert len(run.records["networks"]) == 3
    first, second = sandbox.requests_to("getro", "/networks")[:2]
    assert (first.path, first.status, second.path, second.status) == ("/networks", 429, "/networks", 200)
    # An HTTP date has one-second resolution: the wait is at least Retry-After minus that.
    assert second.time - first.time >= (2.0 if kind == "429" else 1.0)


def test_emulators_own_rate_limit_is_respected_via_retry_after(tmp_path, getro_config):
    # The emulator allows 5 requests a minute and answers 429 with Retry-After past that;
    # the tap (allowed far more) must wait it out, not fail and not hammer.
    with Sandbox(getro_rate_limit=5) as sb:
        config = {**getro_config, **sb.settings("getro")}
        # Four requests 57 s ago: the fifth fits, the sixth gets a short Retry-After.
        sb.rate_limits["getro"]._times = [time.monotonic() - 57] * 4  # noqa: SLF001
        run = run_in_process(
            tmp_path,
            config,
            catalog=only(discover_in_process(tmp_path / "d", config), {"job_functions", "experience_levels"}),
        )
        assert run.returncode == 0, run.stderr
        statuses = [r.status for r in sb.requests_to("getro") if r.path in ("/job_functions", "/experience_levels")]
        assert statuses.count(429) == 1
        assert statuses[-1] == 200
        assert len(run.records["job_functions"]) == 15
        assert len(run.records["experience_levels"]) == 6


@pytest.mark.parametrize("kind", ["500", "503", "truncated", "html", "reset"])
def test_transient_failure_then_success(tmp_path, sandbox, getro_config, networks_catalog, kind):
    sandbox.faults.inject(kind, provider="getro", path="^/networks/102$", times=2)
    run = run_in_process(tmp_path, getro_config, catalog=networks_catalog)
    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records["networks"]] == [101, 102, 103]
    assert [r.fault for r in sandbox.requests_to("getro", "/networks/102")] == [kind, kind, None]
    assert "retrying in" in run.stderr


def test_timeout_is_retried(tmp_path, sandbox, getro_config, networks_catalog):
    sandbox.faults.slow_seconds = 3
    sandbox.faults.inject("slow", provider="getro", path="^/job_functions$")
    run = run_in_process(tmp_path, {**getro_config, "request_timeout": 1}, catalog=networks_catalog)
    assert run.returncode == 0, run.stderr
    assert len(run.records["job_functions"]) == 15
    assert "no answer within request_timeout" in run.stderr


def test_persistent_failure_stops_with_provider_and_endpoint(tmp_path, sandbox, getro_config, networks_catalog):
    sandbox.faults.inject("503", provider="getro", path="^/networks/103$", times=100)
    run = run_in_process(tmp_path, {**getro_config, "retry_max_attempts": 3}, catalog=networks_catalog)
    assert run.returncode != 0
    assert len(sandbox.requests_to("getro", "/networks/103")) == 3
    assert "Getro GET /getro/v2/networks/103 (stream networks) still failing after 3 attempts" in run.stderr
    assert "rerun later" in run.stderr


def test_a_list_without_items_is_retried_not_taken_as_empty(tmp_path, sandbox, getro_config, networks_catalog):
    calls = []

    def missing_list_once(request):
        if request.path == "/networks" and not calls:
            calls.append(request)
            return Answer(200, {"meta": {"total": 3}})  # the list is missing
        return None

    sandbox.intercept(missing_list_once)
    run = run_in_process(tmp_path, getro_config, catalog=networks_catalog)
    assert run.returncode == 0, run.stderr
    assert len(run.records["networks"]) == 3
    assert "without a list of objects under 'items'" in run.stderr
