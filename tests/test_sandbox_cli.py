"""tap-jobsources-sandbox's files for trying the tap: the settings as JSON and as a Meltano `.env`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from dotenv import dotenv_values

from jobsources_sandbox.tap_config import meltano_env

pytestmark = pytest.mark.e2e  # the sandbox's command, as a process


def test_env_out_writes_the_settings_as_the_variables_meltano_reads(tmp_path):
    env_file, config_file = tmp_path / ".env", tmp_path / "sandbox.json"
    env_file.write_text("TARGET_POSTGRES_HOST=db.example.com\nTAP_JOBSOURCES_GETRO_EMAIL=old@example.com\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "jobsources_sandbox.cli", "--port", "0", "--env-out", str(env_file)]
        + ["--config-out", str(config_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (env_file.exists() and config_file.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        settings = json.loads(config_file.read_text())
        written = dotenv_values(env_file)  # as Meltano reads a project's .env (python-dotenv)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The project's other variables kept, the tap's replaced.
    assert written == {"TARGET_POSTGRES_HOST": "db.example.com", **meltano_env(settings)}
    # Lists and objects as JSON, as Meltano's array settings and the tap read them from a variable.
    assert json.loads(written["TAP_JOBSOURCES_BINDBEE_CONNECTORS"]) == settings["bindbee_connectors"]
    assert written["TAP_JOBSOURCES_GETRO_API_URL"].startswith("http://127.0.0.1:")
