"""Metrics like the SDK's own: an http_request_duration METRIC per request, a summary per stream."""

from __future__ import annotations

import json
import re

from tests.conftest import FAST
from tests.helpers import run_in_process, streams

METRIC = re.compile(r"METRIC: (\{.*\})$")


def test_every_request_is_timed_and_every_stream_summed_up(tmp_path, sandbox):
    sandbox.faults.inject("503", provider="trackjobchanges", path="^/connections$")
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges", "bindbee"), **FAST})
    assert run.returncode == 0, run.stderr
    points = [json.loads(m.group(1)) for line in run.stderr.splitlines() if (m := METRIC.search(line))]
    timed = [p for p in points if p["metric"] == "http_request_duration"]
    assert len(timed) == len(sandbox.log)  # the failed attempt too
    assert {p["tags"]["stream"] for p in timed} == streams("trackjobchanges", "bindbee", default=True)
    assert [p["tags"]["http_status_code"] for p in timed if p["tags"]["status"] == "failed"] == [503]
    assert {p["type"] for p in timed} == {"timer"}
    assert min(p["value"] for p in timed) >= 0
    assert all(p["tags"]["endpoint"] for p in timed)

    lines = {m.group(1): m.group(0) for m in re.finditer(r"Stream (\w+): [\d,]+ records, .*", run.stderr)}
    employments = sum(
        len(v)
        for k, v in sandbox.trackjobchanges.employments.items()
        if any(c["id"] == k for c in sandbox.trackjobchanges.connections["grp-default"])
    )
    assert f"Stream employments: {employments} records" in lines["employments"]
    connection_requests = len([r for r in sandbox.log if r.path == "/connections"])
    assert f"{connection_requests} requests, 1 retries" in lines["connections"]
    assert "ats_jobs" in lines
