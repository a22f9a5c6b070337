"""Airflow DAG: one `meltano run` per provider, in parallel, each with its own state id.

The tasks do not depend on each other, so a provider that fails (its API down, its key
revoked) stops neither of the others, and Airflow retries it on its own. Each extractor is a
Meltano plugin inheriting from tap-jobsources (see meltano.yml); its state id is
`<environment>:<extractor>-to-<loader>:<suffix>`, so no two tasks share a bookmark.

To scale out, add entries to EXTRACTORS: e.g. a `tap-jobsources-getro-99` plugin in
meltano.yml with `getro_network_ids: [99]`, or one per Bindbee connector. More networks or
connectors then become more tasks, each paced and resumed on its own.

Environment: TAP_JOBSOURCES_PROJECT (the Meltano project; default: this repository),
MELTANO_BIN (default `meltano`), TAP_JOBSOURCES_LOADER (default `target-postgres`),
MELTANO_ENVIRONMENT (default: the project's default environment).
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator

PROJECT = os.environ.get("TAP_JOBSOURCES_PROJECT", str(Path(__file__).resolve().parents[2]))
MELTANO = os.environ.get("MELTANO_BIN", "meltano")
LOADER = os.environ.get("TAP_JOBSOURCES_LOADER", "target-postgres")
ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT")

#: task suffix -> Meltano extractor (each selects one provider's streams)
EXTRACTORS = {
    "getro": "tap-jobsources-getro",
    "bindbee": "tap-jobsources-bindbee",
    "trackjobchanges": "tap-jobsources-trackjobchanges",
}


def meltano_run(name: str, extractor: str) -> str:
    env = f"--environment {shlex.quote(ENVIRONMENT)} " if ENVIRONMENT else ""
    return (
        f"cd {shlex.quote(PROJECT)} && {shlex.quote(MELTANO)} {env}run "
        f"--state-id-suffix {shlex.quote(name)} {shlex.quote(extractor)} {shlex.quote(LOADER)}"
    )


with DAG(
    dag_id="tap_jobsources",
    description="Extract Getro, Bindbee and TrackJobChanges in parallel with tap-jobsources",
    # Getro supports paging through everything once every 6 hours.
    schedule="0 */6 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=15)},
    tags=["tap-jobsources", "meltano"],
) as dag:
    for name, extractor in EXTRACTORS.items():
        BashOperator(task_id=f"extract_{name}", bash_command=meltano_run(name, extractor))
