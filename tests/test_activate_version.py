"""Deletes through the Singer protocol: ACTIVATE_VERSION once per full-table stream, after a complete run."""

from __future__ import annotations

from tests.conftest import FAST
from tests.helpers import run_in_process, streams

#: What a default catalog reads whole: the full-table streams it selects.
FULL_TABLE = streams(default=True, whole=True)


def test_activate_version_comes_once_per_stream_after_all_its_records(tmp_path, sandbox):
    config = {**sandbox.settings(), **FAST, "emit_activate_version_messages": True, "retire_after_missed_reads": 1}
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    activations = [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    # The emulator's network 102 hides its talent (403): that partition is skipped, so talent is not
    # read whole this run and gets no ACTIVATE_VERSION (it would retire network 102's rows).
    assert sorted(m["stream"] for m in activations) == sorted(FULL_TABLE - {"talent"})
    assert "No ACTIVATE_VERSION for talent" in run.stderr
    assert "talent [network 102] skipped (403)" in run.stderr
    versions = {m["version"] for m in activations}
    assert len(versions) == 1
    (version,) = versions
    last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    first_activation = min(i for i, m in enumerate(run.messages) if m["type"] == "ACTIVATE_VERSION")
    assert first_activation > last_record
    for m in run.messages:
        if m["type"] == "RECORD" and "_sdc_deleted_at" not in m["record"]:
            assert m.get("version") == (version if m["stream"] in FULL_TABLE else None), m["stream"]


def test_a_run_that_fails_part_way_sends_no_activate_version(tmp_path, sandbox):
    config = {
        **sandbox.settings(),
        **FAST,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
        "retry_max_attempts": 2,
    }
    sandbox.faults.inject("503", provider="getro", path="^/networks/103/talent$", times=10)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert run.records["jobs"]  # records came...
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]  # ...but no deletes


def test_off_by_default(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges"), **FAST})
    assert run.returncode == 0, run.stderr
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert all("version" not in m for m in run.messages if m["type"] == "RECORD")


def test_a_resumed_run_remembers_what_the_interrupted_one_skipped(tmp_path, sandbox):
    """Network 102's talent is skipped (403), then the run fails on network 103: the resumed run
    does not read 102 again (finished), and must not take talent for whole either."""
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
        "retry_max_attempts": 2,
    }
    sandbox.faults.inject("503", provider="getro", path="^/networks/103/talent$", times=2)
    failed = run_in_process(tmp_path / "failed", config)
    assert failed.returncode != 0
    assert "talent [network 102] skipped (403)" in failed.state["resume"]["incomplete"]["talent"]
    sandbox.clear_log()
    resumed = run_in_process(tmp_path / "resumed", config, state=failed.state)
    assert resumed.returncode == 0, resumed.stderr
    assert not [r for r in sandbox.requests_to("getro") if r.path.startswith("/networks/102")]  # not read again
    activated = {m["stream"] for m in resumed.messages if m["type"] == "ACTIVATE_VERSION"}
    assert "talent" not in activated
    assert {"jobs", "companies", "networks"} <= activated
    assert "talent [network 102] skipped (403) (in the interrupted run)" in resumed.stderr
    assert "resume" not in resumed.state
