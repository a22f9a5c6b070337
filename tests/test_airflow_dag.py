"""The Airflow DAG loads in a real Airflow (its own virtualenv, .venv-airflow) with the expected tasks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"

LOAD = """
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
dag = bag.dags.get("tap_jobsources")
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "tasks": {t.task_id: {"upstream": sorted(t.upstream_task_ids), "command": t.bash_command} for t in dag.tasks}
             if dag else None,
}))
"""


def test_dag_loads_with_one_independent_task_per_provider(tmp_path):
    assert AIRFLOW_PYTHON.exists(), "scripts/test.sh creates .venv-airflow with Apache Airflow"
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", LOAD, str(ROOT / "orchestrate" / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    tasks = result["tasks"]
    assert set(tasks) == {"extract_getro", "extract_bindbee", "extract_trackjobchanges"}
    for name, task in tasks.items():
        provider = name.removeprefix("extract_")
        assert task["upstream"] == []  # parallel: no task waits for, or fails with, another
        assert f"run --state-id-suffix {provider} tap-jobsources-{provider} target-postgres" in task["command"]
