"""The tap as users install it: a built wheel (not an editable checkout) in a fresh virtualenv."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FAST

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {f"tap_jobsources/{p}/schemas/" for p in ("getro", "bindbee", "trackjobchanges")}


@pytest.mark.timeout(900)
def test_the_built_wheel_installs_and_syncs_and_holds_its_schemas(tmp_path, sandbox):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(dist.glob("tap_jobsources-*.whl"))
    sdist = next(dist.glob("tap_jobsources-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert all(any(n.startswith(s) and n.endswith(".json") for n in names) for s in SCHEMAS)
    assert not [n for n in names if n.startswith(("jobsources_sandbox", "tests/"))]  # the emulator is not shipped
    members = tarfile.open(sdist).getnames()
    assert all(any(s in m and m.endswith(".json") for m in members) for s in SCHEMAS)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=600)
    tap = str(env_dir / "bin" / "tap-jobsources")
    about = json.loads(
        subprocess.run([tap, "--about", "--format=json"], check=True, capture_output=True, text=True).stdout
    )
    assert about["name"] == "tap-jobsources"
    assert "getro_api_token" in about["settings"]["properties"]

    config = tmp_path / "config.json"
    config.write_text(json.dumps({**sandbox.settings("trackjobchanges", "getro"), **FAST}))
    run = subprocess.run([tap, "--config", str(config)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    streams = {json.loads(line)["stream"] for line in run.stdout.splitlines() if '"type":"RECORD"' in line}
    assert {"connections", "employments", "jobs", "talent", "job_functions"} <= streams
