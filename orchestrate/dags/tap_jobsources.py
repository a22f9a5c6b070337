"""Airflow 3 DAG: one task per partition, mapped from the Meltano project's configuration.

The tasks come from the project's `meltano.yml`: each extractor that inherits from `tap-jobsources`
carries, as a `tap_jobsources` annotation (Meltano ignores it), what the DAG needs to run it (its
task, the setting that splits it into partitions and where the config lists them, its pool, its
settings for the weekly full run). scripts/make_plugin_files.py writes them from the providers'
plug-ins, so this file names no provider.

`partitions` reads the configured partitions (Getro networks, Bindbee connector names,
TrackJobChanges groups: `meltano config`; only ids and names leave it, never a credential), and each
becomes a mapped task: a `meltano el` of that extractor limited to that partition through a
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

The weekly full run: each extractor's task runs with its provider's "read whole" settings (every
connection's employments, every job's details, Bindbee's jobs without modified_after).

The models: once every extract task of a run has finished, whether it succeeded or not (a failed
partition fails its own task; the others' rows are loaded and worth building on), `build_models`
runs `meltano invoke dbt-postgres:build` (the warehouse models of transform/, docs/warehouse.md):
dbt-duckdb with target-duckdb, the transformer TAP_JOBSOURCES_TRANSFORMER names otherwise, none
with `none`.

Environment: TAP_JOBSOURCES_PROJECT (the Meltano project; default: this repository),
MELTANO_BIN (default `meltano`), TAP_JOBSOURCES_LOADER (default `target-postgres`),
TAP_JOBSOURCES_TRANSFORMER (default: dbt-postgres for target-postgres, dbt-duckdb for
target-duckdb; `none`: no build_models task), MELTANO_ENVIRONMENT (default: the project's
`default_environment`), TAP_JOBSOURCES_TASK_RETRIES (default 2, 15 minutes apart).
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
TRANSFORMER = os.environ.get("TAP_JOBSOURCES_TRANSFORMER") or "dbt-" + LOADER.removeprefix("target-")
NO_DELETES = {"TAP_JOBSOURCES_EMIT_ACTIVATE_VERSION_MESSAGES": "false"}


def project_file(project: str) -> dict:
    try:
        found = yaml.safe_load((Path(project) / "meltano.yml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return found if isinstance(found, dict) else {}


def default_environment(project: str) -> str | None:
    """The project's `default_environment` (what Meltano uses when none is named)."""
    return project_file(project).get("default_environment")


def task_extractors(project: str) -> tuple[str, list[dict]]:
    """The extractor the others inherit from, and the others with what the DAG needs to run them
    (their `tap_jobsources` annotations, written from the providers by scripts/make_plugin_files.py)."""
    extractors = (project_file(project).get("plugins") or {}).get("extractors") or []
    tasks = [e for e in extractors if isinstance((e.get("annotations") or {}).get("tap_jobsources"), dict)]
    base = next((e["inherit_from"] for e in tasks if e.get("inherit_from")), "tap-jobsources")
    return base, [{"name": e["name"], **e["annotations"]["tap_jobsources"]} for e in tasks]


ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT") or default_environment(PROJECT)
BASE, EXTRACTORS = task_extractors(PROJECT)


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


def listed(config: dict, where: str) -> list:
    """The partitions a setting lists: ``getro_network_ids``, or ``bindbee_connectors.name`` (the
    ``name`` of each entry)."""
    setting, _, field = where.partition(".")
    values = as_list(config.get(setting))
    return [v.get(field) for v in values if isinstance(v, dict) and v.get(field)] if field else values


def label(extractor: dict) -> str:
    return extractor["name"].removeprefix(f"{BASE}-")


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


def partitions_of(extractor: dict, config: dict) -> list[dict[str, str]]:
    """One task's environment per partition the config lists (ids and names only); none listed: one
    task reading them all, or none (``all_when_none``); the extractor's provider not set up: none."""
    if not all(config.get(name) for name in extractor.get("enabled_by", [])):
        return []
    name, setting = extractor["name"], extractor["partition_setting"]
    found = listed(config, extractor["partitions_from"])
    if not found:
        return (
            [partition_env(name, f"{label(extractor)}-{extractor.get('all_label', 'all')}")]
            if extractor.get("all_when_none")
            else []
        )
    return [partition_env(name, f"{label(extractor)}-{value}", **{setting: [value]}) for value in found]


def create_tables(partition: str) -> BashOperator:
    """Every table created (or altered) once, before the tasks that load into it run side by side:
    one run of the extractor the others inherit from (one Meltano start, not four in a row).
    Each DAG has its own id for it: Meltano refuses a job whose id is already running."""
    command = meltano("el", BASE, LOADER, "--state-id", state_id(BASE, partition))
    return BashOperator(
        task_id="create_tables", bash_command=command, append_env=True, env={"TAP_JOBSOURCES_SCHEMA_ONLY": "true"}
    )


def build_models() -> BashOperator | None:
    """The warehouse models built (dbt build: models, snapshot, tests) once every extract task of
    the run is done, failed ones included: the rows the others loaded are there to build on."""
    if TRANSFORMER.lower() == "none":
        return None
    return BashOperator(
        task_id="build_models", bash_command=meltano("invoke", f"{TRANSFORMER}:build"), trigger_rule="all_done"
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
    description="tap-jobsources: one task per partition of each extractor (meltano.yml's annotations)",
    schedule="0 */6 * * *",  # Getro: the same request at most once every 6 hours
    **COMMON,
) as dag:

    @task(retries=0)
    def partitions() -> dict[str, list[dict[str, str]]]:
        """The configured partitions of each extractor, as its mapped tasks' environments."""
        shown = subprocess.run(
            ["bash", "-c", meltano("config", "--unsafe", "print", BASE, "--format=json")],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode:  # the output may quote settings: never echo it
            raise RuntimeError(f"`meltano config {BASE}` failed (exit {shown.returncode}).")
        config = json.loads(shown.stdout)
        return {e["name"]: partitions_of(e, config) for e in EXTRACTORS if e.get("partition_setting")}

    @task
    def of(found: dict[str, list[dict[str, str]]], extractor: str) -> list[dict[str, str]]:
        """One extractor's partitions (a mapped task maps over one task's whole result)."""
        return found[extractor]

    found = partitions()
    tables = create_tables("tables")
    extracts = []
    for extractor in EXTRACTORS:
        pool = extractor.get("pool") or "default_pool"
        if extractor.get("partition_setting"):
            extracts.append(
                BashOperator.partial(
                    task_id=extractor["task"], bash_command=el(extractor["name"]), append_env=True, pool=pool
                ).expand(env=of.override(task_id=f"{extractor['task']}s")(found, extractor["name"]))
            )
        else:
            # Read whole by one task (the account-wide reference lists): it may send ACTIVATE_VERSION.
            extracts.append(
                BashOperator(
                    task_id=extractor["task"],
                    bash_command=el(extractor["name"]),
                    append_env=True,
                    pool=pool,
                    env={"JOBSOURCES_STATE_ID": state_id(extractor["name"], label(extractor))},
                )
            )
    tables >> extracts
    if (models := build_models()) is not None:
        extracts >> models


with DAG(
    dag_id="tap_jobsources_full",
    description="tap-jobsources: one task per extractor, every partition (with deletes, if enabled)",
    schedule="@weekly",
    **COMMON,
) as full_dag:
    tables = create_tables("tables-full")
    extracts = []
    for extractor in EXTRACTORS:
        name = label(extractor)
        extract = BashOperator(
            task_id=f"extract_{name.replace('-', '_')}",
            bash_command=el(extractor["name"]),
            append_env=True,
            pool=extractor.get("pool") or "default_pool",
            # Each provider's "read whole" settings (every connection's employments, every job's
            # details, every Bindbee job): the weekly run may retire what vanished.
            env={"JOBSOURCES_STATE_ID": state_id(extractor["name"], f"{name}-full"), **extractor.get("full_run", {})},
        )
        tables >> extract
        extracts.append(extract)
    if (models := build_models()) is not None:
        extracts >> models
