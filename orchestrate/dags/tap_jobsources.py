"""Airflow 3 DAG: one task per partition, mapped from the Meltano project's configuration.

`partitions` reads the configured Getro networks, Bindbee connector names and TrackJobChanges
groups (`meltano config`; only ids and names leave it, never a credential), and each becomes
a mapped task: a `meltano el` of that provider's extractor limited to that partition through a
`TAP_JOBSOURCES_*` variable (`getro_network_ids`, `bindbee_connector_names`,
`trackjobchanges_group_ids`), with a state id of its own. A failing partition fails its own task
only. With no networks (or groups) configured, one task reads them all.

Side by side: mapped tasks of one extractor run at once, so each is a `meltano el` (a folder of
its own under `.meltano/run/elt/`; parallel `meltano run`s of one plugin share
`.meltano/run/<plugin>/` and delete each other's catalog) with an explicit `--state-id`, the id
`meltano run` would give it: `<environment>:<extractor>-to-<loader>:<partition>`, so existing
state carries over. Before them, `create_tables` sends every stream's SCHEMA alone
(`schema_only`) through `tap-jobsources`, the extractor the four inherit from (its selection
covers theirs: select there every stream they load), so the loader creates or alters each table
once, not in several processes at the same moment (target-postgres fails on that).

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
MELTANO_ENVIRONMENT (default: the project's `default_environment`), TAP_JOBSOURCES_TASK_RETRIES
(default 2, 15 minutes apart).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

PROJECT = os.environ.get("TAP_JOBSOURCES_PROJECT", str(Path(__file__).resolve().parents[2]))
MELTANO = os.environ.get("MELTANO_BIN", "meltano")
LOADER = os.environ.get("TAP_JOBSOURCES_LOADER", "target-postgres")
GETRO_POOL = "tap_jobsources_getro"
NO_DELETES = {"TAP_JOBSOURCES_EMIT_ACTIVATE_VERSION_MESSAGES": "false"}
BASE = "tap-jobsources"  # the extractor the four below inherit from
GETRO, GETRO_LISTS, BINDBEE, TRACKJOBCHANGES = EXTRACTORS = (
    "tap-jobsources-getro",
    "tap-jobsources-getro-lists",
    "tap-jobsources-bindbee",
    "tap-jobsources-trackjobchanges",
)


def default_environment(project: str) -> str | None:
    """The project's `default_environment` (what Meltano uses when none is named)."""
    try:
        found = yaml.safe_load((Path(project) / "meltano.yml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return found.get("default_environment") if isinstance(found, dict) else None


ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT") or default_environment(PROJECT)


def meltano(*args: str) -> str:
    environment = f"--environment {shlex.quote(ENVIRONMENT)} " if ENVIRONMENT else ""
    return f"cd {shlex.quote(PROJECT)} && {shlex.quote(MELTANO)} {environment}{' '.join(map(shlex.quote, args))}"


def as_list(value: object) -> list:
    """A list setting as `meltano config` prints it: a list, or the text it was given as (the
    settings of ids and names are of Meltano's string kind, so `101,102` passes): JSON or
    comma-separated."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    return list(value or [])


def state_id(extractor: str, partition: str) -> str:
    """The id `meltano run` gives a run with MELTANO_RUN_STATE_ID_SUFFIX=<partition>."""
    pair = f"{extractor}-to-{LOADER}:{partition}"
    return f"{ENVIRONMENT}:{pair}" if ENVIRONMENT else pair


def el(extractor: str) -> str:
    """One partition's run; its state id comes from the task's environment."""
    return meltano("el", extractor, LOADER) + ' --state-id "$JOBSOURCES_STATE_ID"'


def partition_env(extractor: str, partition: str, **settings: object) -> dict[str, str]:
    env = {f"TAP_JOBSOURCES_{k.upper()}": json.dumps(v) for k, v in settings.items()}
    return {**env, **NO_DELETES, "JOBSOURCES_STATE_ID": state_id(extractor, partition)}


def create_tables(partition: str) -> BashOperator:
    """Every table created (or altered) once, before the tasks that load into it run side by side:
    one run of the extractor the others inherit from (one Meltano start, not four in a row).
    Each DAG has its own id for it: Meltano refuses a job whose id is already running."""
    command = meltano("el", BASE, LOADER, "--state-id", state_id(BASE, partition))
    return BashOperator(
        task_id="create_tables", bash_command=command, append_env=True, env={"TAP_JOBSOURCES_SCHEMA_ONLY": "true"}
    )


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
        networks = as_list(config.get("getro_network_ids")) or [None]
        connectors = [c["name"] for c in config.get("bindbee_connectors") or [] if isinstance(c, dict)]
        groups = as_list(config.get("trackjobchanges_group_ids")) or [None]
        getro = config.get("getro_api_token") and config.get("getro_email")
        return {
            "getro": [
                partition_env(GETRO, f"getro-{n}", getro_network_ids=[n]) if n else partition_env(GETRO, "getro-all")
                for n in networks
            ]
            if getro
            else [],
            "bindbee": [partition_env(BINDBEE, f"bindbee-{c}", bindbee_connector_names=[c]) for c in connectors],
            "trackjobchanges": [
                partition_env(TRACKJOBCHANGES, f"trackjobchanges-{g}", trackjobchanges_group_ids=[g])
                if g
                else partition_env(TRACKJOBCHANGES, "trackjobchanges-default")
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
    tables = create_tables("tables")
    extract = [
        BashOperator.partial(task_id="getro_network", bash_command=el(GETRO), append_env=True, pool=GETRO_POOL).expand(
            env=of.override(task_id="getro_networks")(found, "getro")
        ),
        BashOperator.partial(task_id="bindbee_connector", bash_command=el(BINDBEE), append_env=True).expand(
            env=of.override(task_id="bindbee_connectors")(found, "bindbee")
        ),
        BashOperator.partial(task_id="trackjobchanges_group", bash_command=el(TRACKJOBCHANGES), append_env=True).expand(
            env=of.override(task_id="trackjobchanges_groups")(found, "trackjobchanges")
        ),
        # Account-wide reference lists: one task reads them whole (and may send ACTIVATE_VERSION).
        BashOperator(
            task_id="getro_reference_lists",
            bash_command=el(GETRO_LISTS),
            append_env=True,
            pool=GETRO_POOL,
            env={"JOBSOURCES_STATE_ID": state_id(GETRO_LISTS, "getro-lists")},
        ),
    ]
    tables >> extract


with DAG(
    dag_id="tap_jobsources_full",
    description="tap-jobsources: one task per provider, every partition (with deletes, if enabled)",
    schedule="@weekly",
    **COMMON,
) as full_dag:
    tables = create_tables("tables-full")
    for extractor in EXTRACTORS:
        name = extractor.removeprefix("tap-jobsources-")
        tables >> BashOperator(
            task_id=f"extract_{name.replace('-', '_')}",
            bash_command=el(extractor),
            append_env=True,
            pool=GETRO_POOL if name.startswith("getro") else "default_pool",
            # The weekly run reads every connection's employments (and so may retire rows).
            env={
                "JOBSOURCES_STATE_ID": state_id(extractor, f"{name}-full"),
                "TAP_JOBSOURCES_TRACKJOBCHANGES_EMPLOYMENTS": "all",
            },
        )
