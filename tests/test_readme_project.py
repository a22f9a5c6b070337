"""The README's "Add it to your own Meltano project", run as written: its shell blocks, in order,
in a folder of their own, against a copy of the clone (nothing installed in it but the `.venv` the
quick start makes) and the sandbox, into a PostgreSQL cluster of the test's own. Only what is the
reader's to choose is replaced: where the clone is, the sandbox's port, the database's port and
password. The block of real credentials is the one left out (the sandbox's stand in for them)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from tests.postgres import Cluster, free_port
from tests.test_pipelines import expected_counts

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Add it to your own Meltano project"
#: What a clone holds that the README's commands use: the tap's code, its Hub definition, the
#: loaders' lock files, the warehouse models. Not what a run left in the source tree.
CLONE_FILES = ("hub", "plugins", "transform", "tap_jobsources", "pyproject.toml", "README.md", "LICENSE")


def readme_blocks() -> list[str]:
    """The ```bash blocks of the README's section on a Meltano project of one's own."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```bash\n(.*?)^```", section, flags=re.M | re.S)


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"the README no longer says {old!r}"
    return text.replace(old, new)


def clone_copy(where: Path) -> Path:
    where.mkdir(parents=True)
    for name in CLONE_FILES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "target", "logs")
            shutil.copytree(source, where / name, ignore=ignore)
        else:
            shutil.copy2(source, where / name)
    (where / ".venv").symlink_to(Path(sys.executable).parents[1])  # the quick start's .venv
    return where


def newcomer_script(clone: Path, cluster: Cluster) -> str:
    blocks = readme_blocks()
    credentials = [b for b in blocks if "getro_email me@example.com" in b]
    assert len(credentials) == 1
    steps = [b for b in blocks if b not in credentials]
    script = "\n".join(steps)
    script = replace(script, "CLONE=/path/to/tap-jobsources", f"CLONE={clone}")
    port = free_port()
    script = replace(script, "--port 8765 --env-out .env &", f"--port {port} --env-out .env &")
    # Between that line and the next a reader reads on; a script waits for the sandbox's .env.
    script = replace(
        script,
        "--env-out .env &",
        "--env-out .env &\nfor _ in $(seq 100); do grep -q TAP_JOBSOURCES_ .env 2>/dev/null && break; sleep 0.1; done",
    )
    script = replace(script, "TARGET_POSTGRES_PORT=5432", f"TARGET_POSTGRES_PORT={cluster.port}")
    script = replace(script, "TARGET_POSTGRES_PASSWORD=...", f"TARGET_POSTGRES_PASSWORD={cluster.settings['password']}")
    return "set -euo pipefail\n" + script + "\nkill %1\n"


def test_the_readme_project_path_loads_the_sandbox_and_builds_the_models(tmp_path):
    clone = clone_copy(tmp_path / "clone")
    cluster = Cluster().start()
    try:
        script = newcomer_script(clone, cluster)
        (tmp_path / "newcomer.sh").write_text(script)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_JOBSOURCES_", "MELTANO_", "TARGET_"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `meltano`
        env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        # A session of its own: whatever the script leaves running (the sandbox, if it fails
        # before `kill %1`) is stopped with it.
        bash = subprocess.Popen(
            ["bash", str(tmp_path / "newcomer.sh")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            listed, errors = bash.communicate(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(bash.pid, signal.SIGKILL)
        assert bash.returncode == 0, (listed + errors)[-5000:]
        tables = cluster.query(
            "select table_name from information_schema.tables where table_schema = 'jobsources' order by 1"
        )
        counts = {t: cluster.query(f'select count(*) from jobsources."{t}"')[0][0] for (t,) in tables}
        schemas = {s for (s,) in cluster.query("select schema_name from information_schema.schemata")}
        jobs = cluster.query("select source, count(*) from analytics.jobs group by source order by source")
    finally:
        cluster.stop()
    assert "[excluded   ] job_details." in listed
    assert "[excluded   ] company_details." in listed
    assert "melty" not in schemas
    with Sandbox() as reference:  # the sandbox the README starts: same seed, same data
        assert counts == expected_counts(reference, live=False)
        getro = sum(map(len, reference.getro.jobs.values())) + sum(map(len, reference.getro.removed_jobs.values()))
        ats = sum(map(len, reference.bindbee.jobs.values()))
    assert jobs == [("bindbee", ats), ("getro", getro)]
