"""The quick start: the sandbox, then ``meltano run tap-jobsources target-duckdb``, then row counts.

Run it with ``bash scripts/quickstart.sh`` from the project's root (it installs what it needs).
The project is the folder, from the current one up, whose ``meltano.yml`` declares tap-jobsources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

from jobsources_sandbox.server import Sandbox


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
SCHEMA = "jobsources"


def sandbox_env(settings: dict[str, t.Any], **extra: str) -> dict[str, str]:
    """Environment for meltano: the tap's settings as TAP_JOBSOURCES_* (arrays as JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    for name, value in settings.items():
        env[f"TAP_JOBSOURCES_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    env.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.update(extra)
    return env


def meltano(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the project's meltano (from the same virtualenv as this Python) in the project root."""
    executable = Path(sys.executable).with_name("meltano")
    return subprocess.run([str(executable), *args], cwd=PROJECT, env=env, text=True, capture_output=True, check=check)


def duckdb_row_counts(path: Path = DUCKDB_FILE, schema: str = SCHEMA) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        return {table: con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0] for table in tables}


def main() -> int:
    DUCKDB_FILE.parent.mkdir(exist_ok=True)
    DUCKDB_FILE.unlink(missing_ok=True)
    with Sandbox(port=0) as sandbox:
        settings = {**sandbox.settings(), "getro_requests_per_minute": 600}
        env = sandbox_env(settings, MELTANO_STATE_BACKEND_URI=f"file://{PROJECT / 'output' / 'state'}")
        print(f"Sandbox on {sandbox.url} with {sandbox.record_count()} records. Installing plugins...", flush=True)
        meltano("install", "extractor", "tap-jobsources", env=env)
        meltano("install", "loader", "target-duckdb", env=env)
        print("Running: meltano --environment sandbox run --full-refresh tap-jobsources target-duckdb", flush=True)
        run = meltano(
            "--environment", "sandbox", "run", "--full-refresh", "tap-jobsources", "target-duckdb", env=env, check=False
        )
        if run.returncode:
            sys.stderr.write(run.stderr[-5000:])
            print("The pipeline failed (see above).", file=sys.stderr)
            return run.returncode
    print(f"\nRows in {DUCKDB_FILE.relative_to(PROJECT)}, schema {SCHEMA}:")
    for table, count in duckdb_row_counts().items():
        print(f"  {table:<20} {count:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
