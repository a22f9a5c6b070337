"""BATCH that scales: a child stream writes files of up to the batch size, not one per parent,
and BATCH output loads through `meltano run` into PostgreSQL."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import meltano
from tests.conftest import FAST
from tests.expected import trackjobchanges_records
from tests.helpers import run_in_process
from tests.postgres import Cluster, pipeline_env


def batch_config(root, size: int) -> dict:
    return {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{root}"},
        "batch_size": size,
    }


def test_a_child_stream_writes_files_of_up_to_the_batch_size(tmp_path):
    with Sandbox(scale=2) as sandbox:
        files = tmp_path / "batches"
        files.mkdir()
        run = run_in_process(
            tmp_path, {**sandbox.settings("trackjobchanges"), **FAST, "batch_config": batch_config(files, 20)}
        )
        assert run.returncode == 0, run.stderr
        expected = trackjobchanges_records(sandbox.trackjobchanges, None)
        written: dict[str, list[dict]] = {}
        for message in run.messages:
            if message["type"] == "BATCH":
                for uri in message["manifest"]:
                    with gzip.open(uri.removeprefix("file://"), "rt") as lines:
                        written.setdefault(message["stream"], []).extend(json.loads(line) for line in lines)
        for stream in ("connections", "employments"):
            assert sorted(r["id"] for r in written[stream]) == sorted(r["id"] for r in expected[stream]), stream
        employment_files = [m for m in run.messages if m["type"] == "BATCH" and m["stream"] == "employments"]
        connections = len(expected["connections"])
        assert len(employment_files) == math.ceil(len(expected["employments"]) / 20) < connections
        assert run.messages[-1]["type"] == "STATE"
        assert "resume" not in run.state


@pytest.mark.e2e  # Meltano and PostgreSQL
def test_batch_output_loads_through_meltano_into_postgres(tmp_path):
    cluster = Cluster().start()
    try:
        with Sandbox(scale=2) as sandbox:
            files = tmp_path / "batches"
            files.mkdir()
            settings = {**sandbox.settings(), "batch_config": batch_config(files, 20)}
            env = pipeline_env(settings, cluster, "batched", tmp_path / "state")
            install = meltano("install", env=env, check=False)
            assert install.returncode == 0, install.stderr[-3000:]
            run = meltano(
                "--environment",
                "sandbox",
                "run",
                "tap-jobsources-trackjobchanges",
                "target-postgres",
                env=env,
                check=False,
            )
            assert run.returncode == 0, run.stderr[-3000:]
            expected = trackjobchanges_records(sandbox.trackjobchanges, None)
            for table in ("connections", "employments"):
                count = cluster.query(f'select count(*) from "batched"."{table}"')[0][0]
                assert count == len(expected[table]), table
            assert any(files.iterdir())  # it went through files, not RECORD messages
    finally:
        cluster.stop()
