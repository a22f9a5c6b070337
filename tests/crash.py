"""Crash points, as a target sees them: it stops right after a STATE and the next run
resumes from that STATE. What reached it before the STATE (RECORD lines, and the records in
the files of BATCH messages) plus what the resumed run sends must be the emulator's data."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
import typing as t
from collections import defaultdict
from pathlib import Path

from tests.expected import by_key
from tests.helpers import PRIMARY_KEYS, TAP, run_in_process


def delivered(messages: list[dict]) -> dict[str, list[dict]]:
    """The records in ``messages``: RECORD lines and the contents of BATCH files."""
    out: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        if message["type"] == "RECORD":
            out[message["stream"]].append(message["record"])
        elif message["type"] == "BATCH":
            for uri in message["manifest"]:
                with gzip.open(uri.removeprefix("file://"), "rt") as lines:
                    out[message["stream"]].extend(json.loads(line) for line in lines)
    return out


def missing_or_wrong(got: dict[str, list[dict]], expected: dict[str, list[dict]]) -> dict[str, t.Any]:
    """Per stream: keys the emulator has that never arrived, keys that arrived it does not
    have, and records whose last value differs from the emulator's (by instant). A record that
    retires a removed job may be missing: a resumed run retires nothing of a network whose jobs the
    interrupted run listed (the next run does)."""
    problems: dict[str, t.Any] = {}
    for stream, records in expected.items():
        keys = PRIMARY_KEYS[stream]
        want = by_key(records, *keys)
        have = by_key(got.get(stream, []), *keys)
        optional = {k for k, r in want.items() if r.get("_sdc_deleted_at") is not None}
        missing = sorted(set(want) - set(have) - optional, key=str)[:5]
        extra = sorted(set(have) - set(want), key=str)[:5]
        wrong = [k for k in want if k in have and have[k] != want[k]][:3]
        if missing or extra or wrong:
            problems[stream] = {"missing": missing, "extra": extra, "differ": wrong}
    return problems


def spread(indexes: list[int], most: int) -> list[int]:
    """At most ``most`` of ``indexes``, evenly spread, the first and the last among them."""
    if len(indexes) <= most:
        return indexes
    step = (len(indexes) - 1) / (most - 1)
    return sorted({indexes[round(i * step)] for i in range(most)})


def batch_config(root: Path, size: int) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    return {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{root}"},
        "batch_size": size,
    }


def check_crash_points(
    tmp_path: Path,
    config: dict,
    expected: dict[str, list[dict]],
    *,
    catalog: dict | None = None,
    most: int = 24,
    with_batch: int | None = None,
) -> dict[str, t.Any]:
    """Run a clean sync, then resume from each of (at most ``most``) STATEs it wrote; returns
    figures for the test to assert on and print. Each resumed run writes its own files."""

    def conf(name: str) -> dict:
        if with_batch is None:
            return config
        return {**config, "batch_config": batch_config(tmp_path / name / "files", with_batch)}

    clean = run_in_process(tmp_path / "clean", conf("clean"), catalog=catalog)
    assert clean.returncode == 0, clean.stderr[-3000:]
    assert not missing_or_wrong(delivered(clean.messages), expected), "the clean sync itself is not whole"
    states = [i for i, m in enumerate(clean.messages) if m["type"] == "STATE"]
    cuts = spread(states, most)

    def resume(i: int) -> tuple[int, dict]:
        before = delivered(clean.messages[:i])
        state = clean.messages[i]["value"]
        run = run_in_process(tmp_path / f"cut{i}", conf(f"cut{i}"), catalog=catalog, state=state)
        assert run.returncode == 0, run.stderr[-3000:]
        got = {s: before.get(s, []) + delivered(run.messages).get(s, []) for s in expected}
        return i, missing_or_wrong(got, expected)

    # One after another: in-process runs take the main thread (a target stopping after a STATE
    # and a run resumed from it need no process; each resumed run is a run of its own).
    failures = {i: problems for i, problems in map(resume, cuts) if problems}
    return {"states": len(states), "cuts": len(cuts), "failures": failures}


def stop_at_random(
    tmp_path: Path, config: dict, *, catalog: dict | None, delay: float, sig: int
) -> tuple[int, list[str], str]:
    """Start the tap, send ``sig`` after ``delay`` seconds; its exit code, stdout lines, stderr."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    args = [*TAP, "--config", str(tmp_path / "config.json")]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=60)
    raw = (tmp_path / "stdout").read_bytes().decode()
    return proc.returncode, raw.split("\n"), (tmp_path / "stderr").read_text()


__all__ = ["check_crash_points", "delivered", "missing_or_wrong", "spread", "stop_at_random", "signal"]
