"""Every STATE is a safe place to stop, whatever is switched on (SPEC: behaviour under failure).

For each provider and each of plain, BATCH, concurrency above 1 and BATCH with concurrency:
a clean sync, then for every STATE it wrote (at least 20, spread over it), a target that
stopped right after that STATE and a run resumed from it. What came before the STATE plus
the resumed run must equal the emulator's own data (tests/expected.py), never another run.
Then signals at random moments: whole lines only, the right exit, a last STATE that resumes
to the whole data.
"""

from __future__ import annotations

import json
import random
import signal
import time

import pytest

from jobsources_sandbox import Sandbox
from tests.conftest import FAST
from tests.crash import batch_config, check_crash_points, delivered, missing_or_wrong, stop_at_random
from tests.expected import bindbee_records, getro_records, trackjobchanges_records
from tests.helpers import default_records, discover_in_process, run_in_process, run_tap, select_all

# e2e: the signals go to processes; the crash points run the tap some 250 times (in-process, but minutes).
pytestmark = pytest.mark.e2e

# Small pages, so that a small data set gives many STATEs; Getro has no concurrency
# setting (one request at a time per account), so its concurrent variants are its plain ones.
PROVIDERS = {  # (the emulator's scale, settings)
    "getro": (1, {"getro_page_size": 4}),
    "bindbee": (3, {"bindbee_page_size": 5}),
    "trackjobchanges": (3, {}),
}
VARIANTS = {
    "plain": ({}, None),
    "batch": ({}, 3),
    "concurrent": ({"trackjobchanges_max_concurrency": 4, "bindbee_max_concurrency": 2}, None),
    "batch+concurrent": ({"trackjobchanges_max_concurrency": 4, "bindbee_max_concurrency": 2}, 3),
}
CASES = [(p, v) for p in PROVIDERS for v in VARIANTS if not (p == "getro" and v in ("concurrent", "batch+concurrent"))]


def expected_of(sandbox: Sandbox, provider: str) -> dict[str, list[dict]]:
    if provider == "getro":
        return getro_records(sandbox.getro)
    if provider == "bindbee":
        return {"ats_jobs": bindbee_records(sandbox.bindbee)}
    return trackjobchanges_records(sandbox.trackjobchanges, None)


@pytest.mark.parametrize(("provider", "variant"), CASES)
def test_every_state_resumes_to_the_whole_data(tmp_path, provider, variant):
    settings, batch = VARIANTS[variant]
    scale, provider_settings = PROVIDERS[provider]
    with Sandbox(scale=scale, latency=0.001) as sandbox:
        config = {**sandbox.settings(provider), **FAST, **provider_settings, **settings}
        catalog = None
        if provider == "getro":  # the details too: job_details, a grandchild with its own bookmark
            catalog = select_all(discover_in_process(tmp_path / "discover", config))
        result = check_crash_points(tmp_path, config, expected_of(sandbox, provider), catalog=catalog, with_batch=batch)
    print(f"{provider} {variant}: {result['states']} STATEs, {result['cuts']} resumed, {len(result['failures'])} lost")
    assert result["cuts"] >= 20
    assert not result["failures"], json.dumps(result["failures"], default=str)[:3000]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_at_random_moments_leave_whole_lines_and_a_state_that_resumes(tmp_path, sig):
    rng = random.Random(17 + sig)
    code = 128 + sig
    with Sandbox(scale=2, latency=0.01) as sandbox:
        base = {
            **sandbox.settings(),
            **FAST,
            "getro_page_size": 4,
            "bindbee_page_size": 5,
            "trackjobchanges_max_concurrency": 2,
        }
        expected = {
            **default_records(getro_records(sandbox.getro)),
            "ats_jobs": bindbee_records(sandbox.bindbee),
            **trackjobchanges_records(sandbox.trackjobchanges, None),
        }
        # How long a whole run takes, to spread the signals over it.
        began = time.monotonic()
        started = run_tap(tmp_path / "timing", base)
        took = time.monotonic() - began
        assert started.returncode == 0, started.stderr[-2000:]
        stopped = 0
        for n in range(12):
            batched = n % 2 == 1
            config = {**base, "batch_config": batch_config(tmp_path / f"s{n}" / "files", 6)} if batched else base
            delay = rng.uniform(0.1, 0.95) * took
            exit_code, lines, stderr = stop_at_random(tmp_path / f"s{n}", config, catalog=None, delay=delay, sig=sig)
            assert lines[-1] == "", "stdout ends inside a line"
            messages = [json.loads(line) for line in lines[:-1]]  # every line parses
            if exit_code == 0:
                continue  # it finished before the signal: nothing to check
            stopped += 1
            assert exit_code == code, stderr[-2000:]
            assert messages[-1]["type"] == "STATE", messages[-1]
            assert "Traceback" not in stderr
            resumed = run_in_process(tmp_path / f"r{n}", config, state=messages[-1]["value"])
            assert resumed.returncode == 0, resumed.stderr[-2000:]
            before, after = delivered(messages), delivered(resumed.messages)
            got = {s: before.get(s, []) + after.get(s, []) for s in expected}
            assert not missing_or_wrong(got, expected), (n, delay, missing_or_wrong(got, expected))
    name = signal.Signals(sig).name
    print(f"{name}: {stopped} of 12 runs stopped part-way (a whole run: {took:.1f} s), each resumed whole")
    assert stopped >= 8
