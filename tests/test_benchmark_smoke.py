"""The benchmark runs end to end at a tiny size (a smoke test: its figures are not judged here),
and every stream makes exactly the minimum number of requests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import streams

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)  # the benchmark's own bound is the 600 s below (valgrind included), not pytest's 300
def test_benchmark_smoke_run_prints_its_figures():
    run = subprocess.run(
        [
            sys.executable,
            "bench/benchmark.py",
            "--scale",
            "4",
            "--small-scale",
            "2",
            "--skip-pacing",
            "--medium-scale",
            "1",
            "--repeat",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert re.search(r"Full run: \d+ records, [\d.]+ CPU-s .* peak RSS \d+ MB, final state \d+ bytes", out)
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+[\d,]+(.*)$", out, flags=re.M)
    assert {r[0] for r in rows} == streams(default=True)
    for stream, _records, made, minimum, flag in rows:
        assert made == minimum, stream
        assert not flag.strip(), stream
    # CPU against the baselines, in the emulator's mixed time forms and in the docs' form.
    assert len(re.findall(r"^  tap / bare loop:", out, flags=re.M)) == 2
    assert "tap / stock SDK:" in out
    counted = re.findall(r"instructions per record .*: tap [\d,]+, bare loop [\d,]+: tap / bare loop [\d.]+x", out)
    assert len(counted) == 2, out  # both timestamp forms; valgrind is on every machine of this kind
    assert re.search(r"Peak RSS: \d+ MB at \d+ records, \d+ MB at \d+ records", out)
    assert re.search(r"all four\s+8\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+\d+\s+\d+\s+yes", out), out
    assert re.search(r"resumed from its last STATE it made \d+, of which \d+ asked again", out), out
    fields = re.search(
        r"list carries the fields\s+\d+ connections, (\d+) changed \+ (\d+) new: (\d+) employments pages "
        r"\(goal <= [\d.]+\); employments equal to the emulator: yes",
        out,
    )
    assert fields, out
    changed, new, pages = map(int, fields.groups())
    assert pages <= 1.1 * (changed + new) + 2
    docs = re.search(r"docs' list shape\s+(\d+) connections, .*: (\d+) employments pages .*emulator: yes", out)
    assert docs, out
    assert int(docs.group(2)) < int(docs.group(1)), out  # the docs' shape pays off too
    moved = re.search(
        r"(\d+) changes; (\d+) requests against (\d+) .*: (\d+) extra, [\d.]+ per change; .*arrived: yes", out
    )
    assert moved, out
    assert int(moved.group(4)) <= int(moved.group(1)) + 2, out  # about one page read again per change


def test_speed_measures_print_what_each_buys():
    run = subprocess.run([sys.executable, "bench/measures.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    saved = re.findall(r"against\s+[\d.]+ \((.+?)\): saves\s+-?[\d.]+ us", run.stdout)
    assert len(saved) == 7, run.stdout  # parse, fit, stream map, two writers, STATE, proxies
    assert re.search(r"one SCHEMA per stream: saves, per connection, a [\d,]+ B line", run.stdout), run.stdout
