"""The quick start: the sandbox, then ``meltano run tap-jobsources target-duckdb dbt-duckdb:build``,
then row counts and a few answers from the warehouse models (transform/).

Run it with ``bash scripts/quickstart.sh`` from the project's root (it installs what it needs).
The project is the folder, from the current one up, whose ``meltano.yml`` declares tap-jobsources.
Each run after the first serves the sandbox a day later: a job renamed, one taken down, one posted,
an ATS job's status changed, a connection's new job (``move_on``), so that the answers show what
changed since the last run. ``--fresh`` starts again from the first day with an empty warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobsources_sandbox.server import Sandbox
from jobsources_sandbox.timestamps import stamp


def find_project(start: Path | None = None) -> Path:
    """The tap-jobsources Meltano project this is run in (this file may live in site-packages)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        meltano_yml = folder / "meltano.yml"
        if meltano_yml.is_file() and "tap-jobsources" in meltano_yml.read_text():
            return folder
    raise SystemExit(f"No tap-jobsources Meltano project (meltano.yml) in {here} or above: run this from a clone.")


PROJECT = find_project()
DUCKDB_FILE = PROJECT / "output" / "warehouse.duckdb"
RUNS_FILE = PROJECT / "output" / "quickstart-runs.json"  # when each run of the quick start was
SCHEMA = "jobsources"
MODELS = "analytics"  # transform/profiles.yml's default schema for the models


def sandbox_env(settings: dict[str, t.Any], **extra: str) -> dict[str, str]:
    """Environment for meltano: the tap's settings as TAP_JOBSOURCES_* (arrays as JSON)."""
    from jobsources_sandbox.tap_config import meltano_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    env.update(meltano_env(settings))
    env.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.update(extra)
    return env


def meltano(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the project's meltano (from the same virtualenv as this Python) in the project root."""
    executable = Path(sys.executable).with_name("meltano")
    return subprocess.run([str(executable), *args], cwd=PROJECT, env=env, text=True, capture_output=True, check=check)


def duckdb_row_counts(
    path: Path = DUCKDB_FILE, schema: str = SCHEMA, loaded_since: datetime | None = None
) -> dict[str, int]:
    """Rows of each table of ``schema``; with ``loaded_since``, only those loaded since then
    (``_sdc_batched_at``, which target-duckdb stamps with the local clock's ``datetime.now()``)."""
    import duckdb

    where = "" if loaded_since is None else " where _sdc_batched_at >= ?"
    params = [] if loaded_since is None else [loaded_since]
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        return {
            table: con.execute(f'select count(*) from "{schema}"."{table}"{where}', params).fetchone()[0]
            for table in tables
        }


def row_count_lines(counts: dict[str, int], loaded: dict[str, int]) -> list[str]:
    """The table of rows the quick start prints: each table's rows, and those this run loaded
    where they differ (rows an earlier run loaded and this one did not read again stay:
    target-duckdb retires nothing). This run's total is what the banner said a sync reads."""
    total, this_run = sum(counts.values()), sum(loaded.values())
    lines = [
        f"Rows in {DUCKDB_FILE.relative_to(PROJECT)}, schema {SCHEMA}: {total} in all, {this_run} loaded by this run"
    ]
    if total != this_run:
        lines[0] += f" (and {total - this_run} an earlier run loaded, not read again: target-duckdb retires nothing)"
    for table, count in counts.items():
        line = f"  {table:<20} {count:>6}"
        if loaded.get(table, 0) != count:
            line += f"  ({loaded.get(table, 0)} by this run)"
        lines.append(line)
    return lines


def move_on(sandbox: Sandbox, day: int, when: datetime) -> list[str]:
    """The sources on the quick start's ``day`` (2, 3 ...) at ``when``: a Getro job renamed, one
    taken down (in removed_jobs), one left out of the list (not removed: one complete read that
    misses a job does not close it), one posted, a Bindbee job's status changed, a connection's new
    job. What changed, in words."""
    getro, bindbee, tjc = sandbox.getro, sandbox.bindbee, sandbox.trackjobchanges
    rng = random.Random(day)
    renamed = getro.jobs[101][day % len(getro.jobs[101])]
    renamed["title"] = f"Senior {renamed['title']}"
    taken_down = getro.jobs[102].pop(day % len(getro.jobs[102]))
    fields = ("created_at", "id", "job_functions", "locations", "company", "title", "url")
    getro.removed_jobs[102].append({**{k: taken_down[k] for k in fields}, "deactivated_at": stamp(when)})
    missed = getro.jobs[103].pop(0)
    posted = getro.add_job(rng, 103, 103_800_000 + day, getro.companies[103][0])
    posted.update(created_at=stamp(when), title=f"Job posted on day {day}")
    ats = bindbee.jobs["greenhouse"][day % len(bindbee.jobs["greenhouse"])]
    ats.update(status="CLOSED" if ats["status"] == "OPEN" else "OPEN", modified_at=stamp(when))
    group = tjc.connections[next(iter(tjc.connections))]
    connection = group[day % len(group)]
    tjc.change_job(connection["id"], when)["company"] = f"Day {day} Ventures"
    return [
        f"Getro job {renamed['id']} renamed, job {taken_down['id']} taken down, job {posted['id']} posted",
        f"Getro job {missed['id']} left out of the list (not taken down: it stays open)",
        f"Bindbee job {ats['id']} now {ats['status']}",
        f"connection {connection['id']} moved to Day {day} Ventures",
    ]


def answers(since: datetime, first_run: bool, path: Path = DUCKDB_FILE) -> list[str]:
    """A few questions the models answer, and their answers (docs/warehouse.md has more).
    ``since``: when this run started (UTC), for the changes it brought."""
    import duckdb

    lines = []
    with duckdb.connect(str(path), read_only=True) as con:

        def rows(sql: str, *params: t.Any) -> list[tuple]:
            return con.execute(sql.replace("{m}", MODELS), list(params)).fetchall()

        lines.append("Open jobs by source (analytics.jobs):")
        for source, open_jobs, total in rows(
            "select source, count(*) filter (where is_open), count(*) from {m}.jobs group by source order by source"
        ):
            lines.append(f"  {source}: {open_jobs} open of {total}")
        lines.append("Companies with the most open jobs (analytics.companies):")
        for name, network, open_jobs in rows(
            "select company_name, network_name, open_jobs from {m}.companies"
            " order by open_jobs desc, company_key limit 3"
        ):
            lines.append(f"  {name} ({network}): {open_jobs} open")
        changes = rows(
            "select change, job_key, previous_title, title, previous_status, status from {m}.job_history"
            " where changed_at >= ? order by change, job_key",
            since.astimezone(UTC).replace(tzinfo=None),
        )
        if first_run:
            lines.append(f"Changes since the last run (analytics.job_history): first run, {len(changes)} jobs seen")
        else:
            lines.append(f"Changes since the last run (analytics.job_history): {len(changes)}")
        for change, key, old_title, title, old_status, status in [] if first_run else changes:
            what = [f"title {old_title!r} -> {title!r}"] if change == "changed" and old_title != title else []
            what += [f"status {old_status} -> {status}"] if change == "changed" and old_status != status else []
            lines.append(f"  {change} {key}: " + (", ".join(what) or f"{title!r}, {status}"))
        lines.append("Latest moves in your network (analytics.connection_job_changes):")
        for first, last, before, after, moved_on in rows(
            "select first_name, last_name, from_company, to_company, moved_on from {m}.connection_job_changes"
            " order by moved_on desc nulls last, to_employment_id desc limit 3"
        ):
            lines.append(f"  {first} {last}: {before} -> {after} ({moved_on or 'date unknown'})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quickstart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", action="store_true", help="start again: an empty warehouse, the first day")
    args = parser.parse_args(argv)
    DUCKDB_FILE.parent.mkdir(exist_ok=True)
    if args.fresh or not DUCKDB_FILE.exists():
        DUCKDB_FILE.unlink(missing_ok=True)
        RUNS_FILE.unlink(missing_ok=True)
    runs = json.loads(RUNS_FILE.read_text()) if RUNS_FILE.exists() else []
    started = datetime.now(UTC)
    runs.append(started.isoformat(timespec="seconds"))
    with Sandbox(port=0) as sandbox:
        from jobsources_sandbox.cli import readable_records

        moved = []
        for day, when in enumerate(runs[1:], start=2):
            moved = move_on(sandbox, day, datetime.fromisoformat(when) - timedelta(minutes=1))
        settings = {**sandbox.settings(), "getro_requests_per_minute": 600}
        env = sandbox_env(settings, MELTANO_STATE_BACKEND_URI=f"file://{PROJECT / 'output' / 'state'}")
        print(
            f"Sandbox on {sandbox.url}, day {len(runs)}: a sync reads {readable_records(sandbox.counts())} of its "
            f"{sandbox.record_count()} records (not job_details, nor hidden talent, nor the other TrackJobChanges "
            "groups). Installing plugins...",
            flush=True,
        )
        for line in moved:
            print(f"  since the last run: {line}")
        meltano("install", "extractor", "tap-jobsources", env=env)
        meltano("install", "loader", "target-duckdb", env=env)
        meltano("install", "utility", "dbt-duckdb", env=env)
        command = ("run", "--full-refresh", "tap-jobsources", "target-duckdb", "dbt-duckdb:build")
        print(f"Running: meltano --environment sandbox {' '.join(command)}", flush=True)
        loaded_since = datetime.now()  # naive and local, as target-duckdb stamps _sdc_batched_at
        run = meltano("--environment", "sandbox", *command, env=env, check=False)
        if run.returncode:
            sys.stderr.write(run.stderr[-5000:])
            print("The pipeline failed (see above).", file=sys.stderr)
            return run.returncode
    RUNS_FILE.write_text(json.dumps(runs))
    print()
    print("\n".join(row_count_lines(duckdb_row_counts(), duckdb_row_counts(loaded_since=loaded_since))))
    print()
    print("\n".join(answers(started, first_run=len(runs) == 1)))
    print("\nMore: docs/warehouse.md. Run it again for the next day's changes; --fresh starts over.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
