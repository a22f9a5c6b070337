"""A throwaway PostgreSQL cluster for the pipeline tests: its own data directory and port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """``initdb`` + ``pg_ctl start`` on 127.0.0.1:<free port>, trust auth; ``stop()`` removes it."""

    def __init__(self) -> None:
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: scripts/test.sh installs it (apt-get install postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="tap-jobsources-pg-"))
        self.port = free_port()
        # PostgreSQL refuses to run as root: run it as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True, text=True)

    def start(self) -> Cluster:
        data = str(self.dir / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def settings(self) -> dict[str, str]:
        return {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": "postgres",
            "database": "postgres",
            "password": "unused-with-trust-auth",
        }

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as con:
            con.execute(f'create database "{name}"')

    def query(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres") as con:
            cursor = con.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


def pipeline_env(settings: dict, cluster: Cluster, schema: str, state_dir) -> dict[str, str]:
    """Meltano's environment for the tap's ``settings`` into ``schema`` of ``cluster``, with its
    state kept in ``state_dir``."""
    from jobsources_sandbox.quickstart import sandbox_env

    return sandbox_env(
        settings,
        **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in cluster.settings.items()},
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
        MELTANO_STATE_BACKEND_URI=f"file://{state_dir}",
    )
