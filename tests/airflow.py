"""A real Airflow 3 for the DAG tests: its own virtualenv (.venv-airflow), and, for the scheduler
test, the processes Airflow 3 runs in production (api-server, dag-processor, scheduler) with their
metadata in PostgreSQL, and either the LocalExecutor or the CeleryExecutor with a Redis broker and
Celery workers, each standing for a machine of its own (its own Airflow home, DAG folder and
Meltano project)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
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
MELTANO = ROOT / ".venv" / "bin" / "meltano"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "TAP_JOBSOURCES_PROJECT": str(ROOT),
        "MELTANO_BIN": str(MELTANO),
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


#: What a machine of the Meltano project holds: the project and the tap's code (its `pip_url`
#: is `-e .`), the lock files, the DAG, the warehouse models. Not the emulator, not the tests,
#: nothing installed.
MACHINE_FILES = (
    "meltano.yml",
    "plugins",
    "orchestrate",
    "transform",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "tap_jobsources",
)


def project_copy(where: Path) -> Path:
    """A copy of the Meltano project as a machine of its own gets it (a clone of the repository):
    nothing installed, no `.meltano`."""
    where.mkdir(parents=True)
    for name in MACHINE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, where / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "target", "logs")
            )
        else:
            shutil.copy2(source, where / name)
    return where


@dataclass
class TaskInstance:
    task_id: str
    map_index: int
    state: str | None
    start: datetime | None
    end: datetime | None


class Redis:
    """A throwaway ``redis-server`` (Debian's package) on 127.0.0.1:<free port>, with a password,
    nothing written to disk: the Celery broker."""

    def __init__(self, home: Path) -> None:
        self.home, self.port, self.password = home, free_port(), secrets.token_hex(12)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(server).exists():
            raise RuntimeError("redis-server is missing: scripts/test.sh installs it (apt-get install redis-server)")
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "redis.conf"  # the password in a file, not on a command line
        config.write_text(
            f'port {self.port}\nbind 127.0.0.1\nrequirepass {self.password}\nsave ""\nappendonly no\n'
            f"dir {self.home}\nlogfile {self.home / 'redis.log'}\n"
        )
        self.process = subprocess.Popen([server, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                    if b"PONG" in s.recv(100):
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Scheduler:
    """``airflow api-server``, ``dag-processor`` and ``scheduler``, the metadata in the database
    ``database`` of ``cluster``; ``env`` reaches every process and task. LocalExecutor
    (``parallelism`` task processes beside the scheduler), or, given a ``broker``, the
    CeleryExecutor: tasks then run on the workers ``start_worker`` adds."""

    def __init__(
        self,
        home: Path,
        cluster: Cluster,
        env: dict[str, str],
        parallelism: int = 6,
        *,
        database: str = "airflow",
        broker: Redis | None = None,
    ) -> None:
        self.home, self.cluster, self.database = home, cluster, database
        api = free_port()
        self.env = {
            **env,
            **airflow_env(home, PATH=env.get("PATH", "/usr/bin:/bin")),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if broker else "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/{database}",
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
        if broker:
            self.env["AIRFLOW__CELERY__BROKER_URL"] = broker.url
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.homes = [home]

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(AIRFLOW), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=True
        )

    def _spawn(self, args: list[str], env: dict[str, str], log: Path) -> None:
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(AIRFLOW), *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # stopped as a group, workers and tasks with it
            )
        self.processes.append((process, log))

    def start(self) -> Scheduler:
        self.cluster.create_database(self.database)
        self.airflow("db", "migrate")
        for command in ("api-server", "dag-processor", "scheduler"):
            self._spawn([command], self.env, self.home / f"{command}.log")
        return self

    def start_worker(self, name: str, home: Path, env: dict[str, str], concurrency: int) -> None:
        """A Celery worker standing for a machine of its own: its own Airflow home (task logs),
        its own DAG folder and Meltano project (``env``); the broker, the metadata database and
        the api-server are the deployment's."""
        home.mkdir(parents=True, exist_ok=True)
        worker_env = {**self.env, **env, "AIRFLOW_HOME": str(home)}
        # One machine here: no log server (each would take port 8793); tasks log to the worker's home.
        self._spawn(["celery", "worker", "-H", name, "-c", str(concurrency), "-s"], worker_env, home / "worker.log")
        self.homes.append(home)

    def stop(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process, _ in self.processes:
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

        with psycopg.connect(host="127.0.0.1", port=self.cluster.port, user="postgres", dbname=self.database) as con:
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

    def ran_on(self, dag_id: str, run_id: str) -> dict[tuple[str, int], Path]:
        """(task, map index) -> the Airflow home (machine) whose worker logged that task of the run."""
        found = {}
        for home in self.homes:
            for log in (home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").glob("task_id=*/**/attempt=*.log"):
                parts = dict(p.split("=", 1) for p in log.relative_to(home / "logs").parts[:-1] if "=" in p)
                found[(parts["task_id"], int(parts.get("map_index", -1)))] = home
        return found

    def alive(self) -> None:
        for process, log in self.processes:
            if process.poll() is not None:
                text = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {' '.join(process.args[1:])} exited with {process.returncode}:\n{text}")

    def logs(self) -> str:
        found = [p for home in self.homes for p in (home / "logs").rglob("*") if p.is_file()]
        found += [log for _, log in self.processes]
        return "".join(p.read_text(errors="replace") for p in found if p.exists())


# The DAG tap_jobsources as the scheduler tests check it -------------------------------------------

DAG = "tap_jobsources"
GETRO_TASKS = ("getro_network", "getro_reference_lists")


def expected_keys(sandbox) -> dict[str, list[tuple]]:
    """Each table's primary keys, as the emulator holds the data now (of the streams selected by default)."""
    from tests.expected import bindbee_records, getro_records, trackjobchanges_records
    from tests.helpers import default_records, table_keys

    groups = list(sandbox.trackjobchanges.connections)
    records = {
        **getro_records(sandbox.getro),
        "ats_jobs": bindbee_records(sandbox.bindbee),
        **trackjobchanges_records(sandbox.trackjobchanges, groups),
    }
    return {table: table_keys(table, rows) for table, rows in default_records(records).items()}


def assert_warehouse_is_the_emulator(postgres: Cluster, schema: str, sandbox) -> None:
    from tests.helpers import stored_keys

    for table, keys in expected_keys(sandbox).items():
        assert stored_keys(postgres, schema, table) == keys, table  # every row, none twice


def overlap(a: TaskInstance, b: TaskInstance) -> bool:
    assert a.start
    assert a.end
    assert b.start
    assert b.end
    return a.start < b.end and b.start < a.end


def assert_ran_as_designed(instances: list[TaskInstance]) -> None:
    """One task per partition (three of each provider); the Getro tasks (one pool slot) never
    overlap; the tasks of one extractor do; nothing loads before create_tables is done."""
    import itertools

    by_task: dict[str, list[TaskInstance]] = {}
    for ti in instances:
        by_task.setdefault(ti.task_id, []).append(ti)
    mapped = ("getro_network", "bindbee_connector", "trackjobchanges_group")
    assert {t: len(v) for t, v in by_task.items() if t in mapped} == dict.fromkeys(mapped, 3)
    getro = [ti for ti in instances if ti.task_id in GETRO_TASKS]
    assert not [(a.task_id, b.task_id) for a, b in itertools.combinations(getro, 2) if overlap(a, b)]
    for task in ("bindbee_connector", "trackjobchanges_group"):
        assert any(overlap(a, b) for a, b in itertools.combinations(by_task[task], 2)), f"{task}: never side by side"
    (tables,) = by_task["create_tables"]
    assert tables.end
    assert all(ti.start and ti.start >= tables.end for t in GETRO_TASKS for ti in by_task[t])


def run_dag(airflow: Scheduler, run_id: str, runs: set[str]) -> list[TaskInstance]:
    """Trigger a run of the DAG and wait for it: it and every one of its tasks succeed."""
    airflow.trigger(DAG, run_id)
    state = airflow.wait_for_run(DAG, run_id)
    # No run but the test's own (the scheduler's cron is off).
    assert {r for (r,) in airflow.query("select run_id from dag_run where dag_id = %s", DAG)} <= runs
    instances = airflow.task_instances(DAG, run_id)
    failed = [(ti.task_id, ti.map_index, ti.state) for ti in instances if ti.state != "success"]
    assert state == "success", (failed, airflow.logs()[-6000:])
    assert not failed, (failed, airflow.logs()[-6000:])
    return instances


def change_the_sources(sandbox) -> dict:
    """Between two runs: a renamed Bindbee job, a job change and a new connection, a newly
    removed Getro job. What changed, for the checks."""
    from datetime import UTC, timedelta

    now = datetime.now(UTC) - timedelta(minutes=1)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    renamed = sandbox.bindbee.jobs["lever"][5]
    renamed.update(name="RENAMED", modified_at=stamp)
    tjc = sandbox.trackjobchanges
    moved = tjc.connections["grp-sales"][2]["id"]
    tjc.change_job(moved, now)
    added = tjc.add_connection("grp-alumni", now)["id"]
    sandbox.getro.removed_jobs[102].append(
        {**sandbox.getro.removed_jobs[102][0], "id": 102_888_888, "deactivated_at": stamp}
    )
    return {"renamed": renamed["id"], "moved": moved, "added": added}


def assert_the_changes_loaded(postgres: Cluster, schema: str, sandbox, changed: dict) -> None:
    assert postgres.query(
        f"select name from {schema}.ats_jobs where connector = 'lever' and id = %s", changed["renamed"]
    ) == [("RENAMED",)]
    current = postgres.query(
        f"select id from {schema}.employments where connection_id = %s and current", changed["moved"]
    )
    assert current == [(sandbox.trackjobchanges.employments[changed["moved"]][-1]["id"],)]


def assert_incremental(sandbox, changed: dict) -> None:
    """The second run went on from the first's state: Bindbee from its bookmark, Getro's removed
    jobs from theirs, employments only of the connections that changed or are new."""
    jobs = sandbox.requests_to("bindbee", "/jobs")
    assert jobs
    assert all(r.query.get("modified_after") for r in jobs)
    removed = [r for r in sandbox.requests_to("getro") if r.path.endswith("/jobs/removed")]
    assert removed
    assert all(r.query.get("deactivated_from") for r in removed)
    employments = sandbox.requests_to("trackjobchanges", "/connections/")
    read = {int(r.path.split("/")[2]) for r in employments if r.path.endswith("/employments")}
    # Every changed or new connection's employments; beside them only those the documented list shape
    # cannot rule out (flagged has_new_job, or stamped inside the cut-off's margin): never all of them.
    assert {changed["moved"], changed["added"]} <= read
    everyone = [c for group in sandbox.trackjobchanges.connections.values() for c in group]
    assert len(read) < len(everyone) / 2, (len(read), len(everyone))
    flagged = {c["id"] for c in everyone if c.get("has_new_job") is True}
    assert len(read - flagged - {changed["moved"], changed["added"]}) <= 3, read - flagged


def sandbox_secrets(sandbox) -> list[str]:
    return [
        sandbox.getro.token,
        sandbox.bindbee.api_key,
        sandbox.trackjobchanges.api_key,
        *sandbox.bindbee.tokens.values(),
    ]


#: The Meltano environment production runs in (meltano.yml ships it; docs/production.md shows it),
#: and the variables that page tells each machine to set besides the tap's and target's settings.
ENVIRONMENT = "prod"
MELTANO_VARIABLES = ("MELTANO_ENVIRONMENT", "MELTANO_DATABASE_URI", "MELTANO_STATE_BACKEND_URI")
