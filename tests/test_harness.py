"""The in-process harness (tests/harness.py) answers as the process does, and leaves no trace."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import warnings
from collections import Counter

import pytest
import requests

from jobsources_sandbox.http import Answer
from tap_jobsources import redaction
from tap_jobsources.signals import STOP
from tests.conftest import FAST
from tests.helpers import PRIMARY_KEYS, TapRun, keys, run_in_process, run_tap

_STAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \| ")


def log_lines(stderr: str) -> Counter:
    """The log lines without what changes from run to run (clock times, durations, timings,
    the process id); as a multiset, since threads may order some lines either way."""
    out, lines = [], iter(stderr.splitlines())
    for line in lines:
        # A traceback's frames above cli.main: only a process has them (runpy's, frozen, show no source).
        if 'File "<frozen runpy>"' in line:
            continue
        if 'tap_jobsources/__main__.py"' in line:
            next(lines)  # and its source line
            continue
        line = _LOG_PREFIX.sub("", line)
        # How many kept-alive connections urllib3 opened depends on when the server closed the idle
        # ones: a matter of timing, in a process or not.
        if "urllib3.connectionpool" in line and ("Starting new HTTP connection" in line or "Resetting dropped" in line):
            continue
        line = re.sub(r'"(value|pid)":[0-9.e-]+', r'"\1":N', line)
        line = re.sub(r"\d+(\.\d+)? ?(s|ms|seconds)\b", "N s", line)
        out.append(_STAMP.sub("T", line))
    return Counter(out)


def summary(run: TapRun) -> dict:
    """All of a run a test may assert on, less what differs between two identical runs."""
    rest = json.dumps({k: v for k, v in run.state.items() if k != "bookmarks"})
    state = json.loads(re.sub(r'"version": \d+', '"version": 0', _STAMP.sub("T", rest)))  # run's start, in ms
    records = {
        stream: sorted(keys(rows, *PRIMARY_KEYS[stream])) + [json.dumps(r, sort_keys=True) for r in rows]
        for stream, rows in run.records.items()
    }
    return {
        "returncode": run.returncode,
        "records": {stream: sorted(map(str, rows)) for stream, rows in records.items()},
        "bookmarks": run.state.get("bookmarks"),
        "state": state,
        "schemas": sorted(m["stream"] for m in run.messages if m["type"] == "SCHEMA"),
        "other": [m for m in run.messages if m["type"] not in ("RECORD", "STATE", "SCHEMA")],
        "stdout_is_messages": all(line.startswith('{"type"') for line in run.stdout.splitlines()),
        "log": log_lines(run.stderr),
    }


def three_runs(runner, tmp_path, sandbox) -> tuple[list[dict], Counter]:
    """A failing run (DEBUG logs, a secret echoed by the server), a full sync at WARNING,
    then an incremental one from its state with settings from the environment."""
    config = {**sandbox.settings(), **FAST, "retry_max_attempts": 1}
    secret = config["getro_api_token"]

    def echo(request):
        if request.provider == "getro" and request.path == "/networks":
            return Answer(401, {"error": f"bad token {request.headers.get('x-api-token', secret)}"})
        return None

    sandbox.intercepts.append(echo)
    failed = runner(tmp_path / "1", config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    sandbox.intercepts.remove(echo)
    assert secret not in failed.stderr
    full = runner(tmp_path / "2", config, env={"TAP_JOBSOURCES_LOGLEVEL": "WARNING"})
    incremental = runner(
        tmp_path / "3",
        config,
        state=full.state,
        extra_args=["--config", "ENV"],
        env={"TAP_JOBSOURCES_GETRO_PAGE_SIZE": "5", "TAP_JOBSOURCES_BINDBEE_PAGE_SIZE": "3"},
    )
    asked = Counter((r.provider, r.path, tuple(sorted(r.query.items()))) for r in sandbox.log)
    sandbox.clear_log()
    return [summary(run) for run in (failed, full, incremental)], asked


@pytest.mark.e2e
def test_consecutive_runs_in_process_equal_runs_as_processes(tmp_path, sandbox):
    processes, asked_by_processes = three_runs(run_tap, tmp_path / "process", sandbox)
    in_process, asked_in_process = three_runs(run_in_process, tmp_path / "in", sandbox)
    assert [p["returncode"] for p in processes] == [1, 0, 0]
    assert processes[1]["records"]
    assert processes[2]["records"]
    for process, here in zip(processes, in_process, strict=True):
        for key in process:
            assert here[key] == process[key], key
    assert asked_in_process == asked_by_processes


def snapshot() -> dict:
    root = logging.getLogger()
    loggers = [root] + [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return {
        "environ": dict(os.environ),
        "argv": list(sys.argv),
        "streams": (sys.stdout, sys.stderr),
        "excepthook": sys.excepthook,
        "signals": (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)),
        "stop": dict(STOP.__dict__),
        "secrets": set(redaction.ACTIVE.values),
        "loggers": {lg.name: (lg.level, list(lg.handlers), list(lg.filters), lg.propagate) for lg in loggers},
        "handler_filters": {id(h): list(h.filters) for lg in loggers for h in lg.handlers},
        "warning_filters": list(warnings.filters),
        "showwarning": warnings.showwarning,
    }


def test_a_run_leaves_the_test_process_as_it_found_it(tmp_path, sandbox):
    config = {**sandbox.settings(), **FAST}
    before = snapshot()
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG", "TAP_JOBSOURCES_X": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    after = snapshot()
    # Loggers first made by the run are new here as they would be in a fresh process.
    after["loggers"] = {k: v for k, v in after["loggers"].items() if k in before["loggers"]}
    after["handler_filters"] = {k: v for k, v in after["handler_filters"].items() if k in before["handler_filters"]}
    for key in before:
        assert after[key] == before[key], key


def test_stdout_and_exit_codes_as_a_process_gives_them(tmp_path, sandbox):
    config = {**sandbox.settings(), **FAST}
    about = run_in_process(tmp_path / "about", {}, extra_args=["--about", "--format=json"])
    assert about.returncode == 0
    assert json.loads(about.stdout)["name"] == "tap-jobsources"
    discovered = run_in_process(tmp_path / "discover", config, extra_args=["--discover"])
    assert discovered.returncode == 0
    assert json.loads(discovered.stdout)["streams"]
    usage = run_in_process(tmp_path / "usage", config, extra_args=["--no-such-option"])
    assert usage.returncode == 2
    assert "No such option" in usage.stderr
    assert usage.stdout == ""
    bad = run_in_process(tmp_path / "bad", {**config, "getro_page_size": 0})
    assert bad.returncode == 1
    assert "getro_page_size" in bad.stderr
    assert not bad.messages
    assert sandbox.log == []


def test_a_session_of_a_finished_run_sends_nothing_more(tmp_path, sandbox):
    import tests.harness as harness

    harness._CURRENT.append(-1)  # a session made "during" a run that is over
    try:
        session = requests.Session()
    finally:
        harness._CURRENT.pop()
    with pytest.raises(requests.ConnectionError, match="is over"):
        session.get(sandbox.base_url("getro") + "/networks")
    assert sandbox.log == []
    requests.Session().get(sandbox.base_url("getro") + "/networks")  # made outside any run: as usual
    assert len(sandbox.log) == 1
