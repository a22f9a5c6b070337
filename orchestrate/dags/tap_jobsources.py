"""Airflow 3 DAG: one task per partition, mapped from the Meltano project's configuration.

`partitions` reads the configured Getro networks, Bindbee connector names and TrackJobChanges
groups (`meltano config`; only ids and names leave it, never a credential), and each becomes
a mapped task: a `meltano run` of that provider's extractor limited to that partition through a
`TAP_JOBSOURCES_*` variable (`getro_network_ids`, `bindbee_connector_names`,
`trackjobchanges_group_ids`), with its own state id (`MELTANO_RUN_STATE_ID_SUFFIX`). A failing
partition fails its own task only. With no networks (or groups) configured, one task reads them all.

Getro's limit is per account: every Getro task takes a slot of the pool `tap_jobsources_getro`
(created with `airflow pools set tap_jobsources_getro 1 "Getro API quota"`). With S slots, set
`getro_requests_per_minute` to 30 / S, so that the tasks running together stay within Getro's 30
requests a minute (1 slot: 30; 2 slots: 15; 3 slots: 10).

Deletes: ACTIVATE_VERSION is table-wide in Singer, so a partition's task must never send it (it
would retire the rows of every other partition). The mapped tasks run with
`emit_activate_version_messages` off; only the Getro reference lists, read whole by one task, may
send it. To retire rows that vanished from a partitioned table, run the unpartitioned DAG
`tap_jobsources_full` (one task per provider) now and then with deletes on.

Employments: the mapped tasks read only the employments of connections that changed
(`trackjobchanges_employments: changed`); `tap_jobsources_full`, weekly, reads every
connection's (`all`).

Environment: TAP_JOBSOURCES_PROJECT (the Meltano project; default: this repository),
MELTANO_BIN (default `meltano`), TAP_JOBSOURCES_LOADER (default `target-postgres`),
MELTANO_ENVIRONMENT (default: the project's default environment), TAP_JOBSOURCES_TASK_RETRIES
(default 2, 15 minutes apart).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

PROJECT = os.environ.get("TAP_JOBSOURCES_PROJECT", str(Path(__file__).resolve().parents[2]))
MELTANO = os.environ.get("MELTANO_BIN", "meltano")
LOADER = os.environ.get("TAP_JOBSOURCES_LOADER", "target-postgres")
ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT")
GETRO_POOL = "tap_jobsources_getro"
NO_DELETES = {"TAP_JOBSOURCES_EMIT_ACTIVATE_VERSION_MESSAGES": "false"}


def meltano(*args: str) -> str:
    environment = f"--environment {shlex.quote(ENVIRONMENT)} " if ENVIRONMENT else ""
    return f"cd {shlex.quote(PROJECT)} && {shlex.quote(MELTANO)} {environment}{' '.join(map(shlex.quote, args))}"


def run(extractor: str) -> str:
    return meltano("run", extractor, LOADER)


def partition_env(suffix: str, **settings: object) -> dict[str, str]:
    env = {f"TAP_JOBSOURCES_{k.upper()}": json.dumps(v) for k, v in settings.items()}
    return {**env, **NO_DELETES, "MELTANO_RUN_STATE_ID_SUFFIX": suffix}


# A failed task is tried again later (the tap resumes it from its last STATE).
DEFAULTS = {"retries": int(os.environ.get("TAP_JOBSOURCES_TASK_RETRIES", "2")), "retry_delay": timedelta(minutes=15)}

COMMON = {
    "start_date": datetime(2026, 1, 1),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULTS,
    "tags": ["tap-jobsources", "meltano"],
}

with DAG(
    dag_id="tap_jobsources",
    description="tap-jobsources: one task per Getro network, Bindbee connector and TrackJobChanges group",
    schedule="0 */6 * * *",  # Getro: the same request at most once every 6 hours
    **COMMON,
) as dag:

    @task(retries=0)
    def partitions() -> dict[str, list[dict[str, str]]]:
        """The configured partitions, as each mapped task's environment (ids and names only)."""
        shown = subprocess.run(
            ["bash", "-c", meltano("config", "--unsafe", "print", "tap-jobsources", "--format=json")],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode:  # the output may quote settings: never echo it
            raise RuntimeError(f"`meltano config tap-jobsources` failed (exit {shown.returncode}).")
        config = json.loads(shown.stdout)
        networks = config.get("getro_network_ids") or [None]
        connectors = [c["name"] for c in config.get("bindbee_connectors") or [] if isinstance(c, dict)]
        groups = config.get("trackjobchanges_group_ids") or [None]
        getro = config.get("getro_api_token") and config.get("getro_email")
        return {
            "getro": [
                partition_env(f"getro-{n}", getro_network_ids=[n]) if n else partition_env("getro-all")
                for n in networks
            ]
            if getro
            else [],
            "bindbee": [partition_env(f"bindbee-{c}", bindbee_connector_names=[c]) for c in connectors],
            "trackjobchanges": [
                partition_env(f"trackjobchanges-{g}", trackjobchanges_group_ids=[g])
                if g
                else partition_env("trackjobchanges-default")
                for g in groups
            ]
            if config.get("trackjobchanges_api_key")
            else [],
        }

    @task
    def of(found: dict[str, list[dict[str, str]]], provider: str) -> list[dict[str, str]]:
        """One provider's partitions (a mapped task maps over one task's whole result)."""
        return found[provider]

    found = partitions()
    BashOperator.partial(
        task_id="getro_network", bash_command=run("tap-jobsources-getro"), append_env=True, pool=GETRO_POOL
    ).expand(env=of.override(task_id="getro_networks")(found, "getro"))
    BashOperator.partial(
        task_id="bindbee_connector", bash_command=run("tap-jobsources-bindbee"), append_env=True
    ).expand(env=of.override(task_id="bindbee_connectors")(found, "bindbee"))
    BashOperator.partial(
        task_id="trackjobchanges_group", bash_command=run("tap-jobsources-trackjobchanges"), append_env=True
    ).expand(env=of.override(task_id="trackjobchanges_groups")(found, "trackjobchanges"))
    # Account-wide reference lists: one task reads them whole (and may send ACTIVATE_VERSION).
    BashOperator(
        task_id="getro_reference_lists",
        bash_command=run("tap-jobsources-getro-lists"),
        append_env=True,
        pool=GETRO_POOL,
        env={"MELTANO_RUN_STATE_ID_SUFFIX": "getro-lists"},
    )


with DAG(
    dag_id="tap_jobsources_full",
    description="tap-jobsources: one task per provider, every partition (with deletes, if enabled)",
    schedule="@weekly",
    **COMMON,
) as full_dag:
    for extractor in ("getro", "getro-lists", "bindbee", "trackjobchanges"):
        BashOperator(
            task_id=f"extract_{extractor.replace('-', '_')}",
            bash_command=run(f"tap-jobsources-{extractor}"),
            append_env=True,
            pool=GETRO_POOL if extractor.startswith("getro") else "default_pool",
            # The weekly run reads every connection's employments (and so may retire rows).
            env={
                "MELTANO_RUN_STATE_ID_SUFFIX": f"{extractor}-full",
                "TAP_JOBSOURCES_TRACKJOBCHANGES_EMPLOYMENTS": "all",
            },
        )
