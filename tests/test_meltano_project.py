"""A user's own Meltano project: the tap added from the Hub definition this repository ships,
as the README says, gets only what it asked for and refuses a mistyped start_date by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import meltano, sandbox_env
from tests.helpers import readme_select, streams

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).with_name("meltano"))


def in_project(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_JOBSOURCES_", "MELTANO_"))}
    return subprocess.run(
        [MELTANO, *args],
        cwd=project,
        env={**base, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("user")
    made = in_project(where, "init", "mine", "--no_usage_stats")
    assert made.returncode == 0, made.stderr[-2000:]
    project = where / "mine"
    hub = ROOT / "hub" / "tap-jobsources--jobsources.yml"
    added = in_project(
        project, "add", "--plugin-type", "extractor", "--no-install", "--from-ref", str(hub), "tap-jobsources"
    )
    assert added.returncode == 0, added.stderr[-2000:]
    # As the README says: point pip_url at the code (here, this checkout).
    config = yaml.safe_load((project / "meltano.yml").read_text())
    config["plugins"]["extractors"][0]["pip_url"] = str(ROOT)
    (project / "meltano.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    installed = in_project(project, "install", "extractor", "tap-jobsources")
    assert installed.returncode == 0, installed.stderr[-3000:]
    # `meltano add --from-ref` drops the definition's select (Meltano 4.4): the README's step.
    chosen = in_project(project, "config", "set", "tap-jobsources", "_select", json.dumps(readme_select()))
    assert chosen.returncode == 0, chosen.stderr[-2000:]
    return project


def test_the_detail_streams_are_off_and_defaults_show_as_the_tap_has_them(project):
    with Sandbox() as sandbox:
        env = {k: v for k, v in sandbox_env(sandbox.settings("getro")).items() if k.startswith("TAP_JOBSOURCES_")}
        listed = in_project(project, "select", "tap-jobsources", "--list", "--all", env=env)
        assert listed.returncode == 0, listed.stderr[-3000:]
    # A stream whose only field is its key (job_functions) shows that field as automatic, never selected.
    selected = {
        line.split()[-1].split(".")[0]
        for line in listed.stdout.splitlines()
        if "[selected" in line or "[automatic" in line
    }
    excluded = {line.split()[-1].split(".")[0] for line in listed.stdout.splitlines() if "[excluded" in line}
    assert streams("getro", default=True) <= selected, listed.stdout
    assert streams("getro", default=False) <= excluded, listed.stdout
    assert not selected & streams(default=False), listed.stdout
    shown = in_project(project, "config", "list", "tap-jobsources", "--all")
    assert shown.returncode == 0, shown.stderr[-2000:]
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    assert "https://api.getro.com/v2" in lines["getro_api_url"], shown.stdout
    assert "100" in lines["getro_page_size"], shown.stdout
    assert "None" not in lines["getro_page_size"], shown.stdout


@pytest.mark.parametrize("typed", ["2O26-01-01", "2026-13-01"])
def test_a_mistyped_start_date_stops_before_any_request_naming_the_setting(project, typed):
    with Sandbox() as sandbox:
        env = {k: v for k, v in sandbox_env(sandbox.settings("bindbee")).items() if k.startswith("TAP_JOBSOURCES_")}
        set_it = in_project(project, "config", "set", "tap-jobsources", "start_date", typed)
        assert set_it.returncode == 0, set_it.stderr[-2000:]
        try:
            run = in_project(project, "invoke", "tap-jobsources", env=env)
        finally:
            in_project(project, "config", "unset", "tap-jobsources", "start_date")
        assert run.returncode != 0
        assert "start_date" in run.stderr, run.stderr[-3000:]
        assert typed in run.stderr, run.stderr[-3000:]
        assert sandbox.log == []


def test_a_mistyped_start_date_through_meltano_run_in_this_project(tmp_path):
    """The repository's own project, `meltano run` into target-jsonl's stand-in (DuckDB)."""
    with Sandbox() as sandbox:
        env = sandbox_env(
            {**sandbox.settings("bindbee"), "start_date": "2O26-01-01"},
            TARGET_DUCKDB_FILEPATH=str(tmp_path / "typo.duckdb"),
            MELTANO_STATE_BACKEND_URI=f"file://{tmp_path / 'state'}",
        )
        run = meltano(
            "--environment", "sandbox", "run", "tap-jobsources-bindbee", "target-duckdb", env=env, check=False
        )
        assert run.returncode != 0
        assert "start_date" in run.stderr, run.stderr[-3000:]
        assert "2O26-01-01" in run.stderr, run.stderr[-3000:]
        assert sandbox.log == []
