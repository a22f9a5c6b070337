"""A real Airflow 3 for the DAG tests: its own virtualenv (.venv-airflow), and, for the scheduler
test, the processes Airflow 3 runs in production (api-server, dag-processor, scheduler with the
LocalExecutor) with their metadata in PostgreSQL."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.postgres import Cluster, free_port

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAG_FILE = ROOT / "orchestrate" / "dags" / "tap_jobsources.py"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "TAP_JOBSOURCES_PROJECT": str(ROOT),
        "MELTANO_BIN": str(ROOT / ".venv" / "bin" / "meltano"),
        "PATH": "/usr/bin:/bin",
        "TAP_JOBSOURCES_TASK_RETRIES": "0",  # a failed task fails the test run at once
        **extra,
    }


def dag_settings(sandbox, **overrides: object) -> dict:
    """The tap's settings the DAG tests run with: the sandbox's three providers, three networks,
    every TrackJobChanges group, no pacing, quick retries."""
    return {
        **sandbox.settings(),
        "getro_requests_per_minute": 60000,
        "retry_backoff_seconds": 0.05,
        "retry_max_attempts": 2,
        "getro_network_ids": [101, 102, 103],
        "trackjobchanges_group_ids": list(sandbox.trackjobchanges.connections),
        **overrides,
    }


@dataclass
class TaskInstance:
    task_id: str
    map_index: int
    state: str | None
    start: datetime | None
    end: datetime | None


class Scheduler:
    """``airflow api-server``, ``dag-processor`` and ``scheduler`` (LocalExecutor, ``parallelism``
    workers), the metadata in the database ``airflow`` of ``cluster``; ``env`` reaches every task."""

    def __init__(self, home: Path, cluster: Cluster, env: dict[str, str], parallelism: int = 6) -> None:
        self.home, self.cluster = home, cluster
        api = free_port()
        self.env = {
            **env,
            **airflow_env(home, PATH=env.get("PATH", "/usr/bin:/bin")),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/airflow",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api}/execution/",
            # Every process signs and checks the tasks' tokens with the same keys.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            # Only the runs a test triggers, whatever the hour (the DAG's cron would add its own).
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
        self.processes: list[subprocess.Popen] = []

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(AIRFLOW), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=True
        )

    def start(self) -> Scheduler:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.cluster.port, user="postgres", dbname="postgres", autocommit=True
        ) as con:
            con.execute("create database airflow")
        self.airflow("db", "migrate")
        for command in ("api-server", "dag-processor", "scheduler"):
            log = (self.home / f"{command}.log").open("w")
            self.processes.append(
                subprocess.Popen(
                    [str(AIRFLOW), command],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stopped as a group, workers and tasks with it
                )
            )
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the scheduler's workers may outlive it
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()

    def query(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.cluster.port, user="postgres", dbname="airflow") as con:
            return con.execute(sql, params).fetchall()

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query("select 1 from dag where dag_id = %s", dag_id):
                return
            self.alive()
            time.sleep(1)
        raise TimeoutError(f"the dag-processor did not load {dag_id} in {timeout} s")

    def trigger(self, dag_id: str, run_id: str) -> None:
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.query("select state from dag_run where dag_id = %s and run_id = %s", dag_id, run_id)
            if found and found[0][0] in ("success", "failed"):
                return found[0][0]
            self.alive()
            time.sleep(2)
        raise TimeoutError(f"{dag_id} {run_id} did not finish in {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        rows = self.query(
            "select task_id, map_index, state, start_date, end_date from task_instance"
            " where dag_id = %s and run_id = %s order by task_id, map_index",
            dag_id,
            run_id,
        )
        return [TaskInstance(*row) for row in rows]

    def alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                log = (self.home / f"{process.args[1]}.log").read_text(errors="replace")
                raise RuntimeError(f"airflow {process.args[1]} exited with {process.returncode}:\n{log[-3000:]}")

    def logs(self) -> str:
        found = [p for p in (self.home / "logs").rglob("*") if p.is_file()]
        found += [self.home / f"{p.args[1]}.log" for p in self.processes]
        return "".join(p.read_text(errors="replace") for p in found if p.exists())
