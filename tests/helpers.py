"""Run the real tap CLI as a subprocess and read its Singer output; the streams the tap declares,
from its registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tap_jobsources.plugin import providers

TAP = [sys.executable, "-m", "tap_jobsources"]

# The streams, as the registry declares them (tap_jobsources.plugin.providers()) ------------------
# A test that enumerates streams enumerates these: a new stream is in them without a test's edit.

#: Every stream class, by name, in the providers' order.
STREAMS = {cls.name: cls for provider in providers() for cls in provider.streams()}
#: Each stream's provider key.
PROVIDER_OF = {cls.name: provider.key for provider in providers() for cls in provider.streams()}
#: Each stream's primary key.
PRIMARY_KEYS = {name: tuple(cls.primary_keys or ()) for name, cls in STREAMS.items()}


def readme_select() -> list[str]:
    """The ``_select`` the README has a user set (``meltano add --from-ref`` drops the Hub's)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "config set tap-jobsources _select" in line)
    return json.loads(line.split("_select", 1)[1].strip().strip("'"))


def full_table(name: str) -> bool:
    key = STREAMS[name].replication_key
    return not isinstance(key, str)  # a stream class without one has the SDK's property here


def streams(*provider_keys: str, default: bool | None = None, whole: bool | None = None) -> set[str]:
    """The names of the streams of the named providers (none named: every provider's); ``default``:
    only those a catalog selects by default (True) or only those it does not (False); ``whole``:
    only the full-table streams (True) or only the incremental ones (False)."""
    return {
        name
        for name, cls in STREAMS.items()
        if (not provider_keys or PROVIDER_OF[name] in provider_keys)
        and (default is None or cls.selected_by_default == default)
        and (whole is None or full_table(name) == whole)
    }


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict] = field(default_factory=list)

    @property
    def records(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for m in self.messages:
            if m["type"] == "RECORD":
                out[m["stream"]].append(m["record"])
        return out

    @property
    def listed(self) -> dict[str, list[dict]]:
        """The records of rows the source lists (not those that retire a row: ``_sdc_deleted_at``)."""
        return {k: [r for r in v if r.get("_sdc_deleted_at") is None] for k, v in self.records.items()}

    @property
    def retired(self) -> dict[str, list[dict]]:
        """The records that retire a row (``_sdc_deleted_at`` set: Getro's removed jobs in jobs)."""
        return {k: [r for r in v if r.get("_sdc_deleted_at") is not None] for k, v in self.records.items()}

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict:
        return self.states[-1] if self.states else {}

    def counts(self) -> Counter:
        return Counter({k: len(v) for k, v in self.records.items()})


def tap_args(
    tmp_path: Path,
    config: dict | None,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    extra_args: list[str] | None = None,
) -> list[str]:
    """The tap's arguments for a run: its config (None: no --config), state and catalog
    written to files in ``tmp_path``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = []
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
        args += ["--config", str(tmp_path / "config.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / "state.json")]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    return args + (extra_args or [])


def parse_messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"type"')]


def run_tap(
    tmp_path: Path,
    config: dict,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    env: dict | None = None,
    timeout: float = 240,
    extra_args: list[str] | None = None,
) -> TapRun:
    """The tap as a process (``python -m tap_jobsources``): for what needs one (signals, kills,
    the interpreter's own start and exit). Anything else: ``run_in_process``, the same answer."""
    args = [*TAP, *tap_args(tmp_path, config, state=state, catalog=catalog, extra_args=extra_args)]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env={**clean_env, **(env or {})})
    return TapRun(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


def run_in_process(
    tmp_path: Path,
    config: dict | None,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    env: dict | None = None,
    timeout: float = 240,
    extra_args: list[str] | None = None,
) -> TapRun:
    """``run_tap``'s answer without a process: the tap, the emulator and the reader of its
    output in this one (``tests/harness.py``)."""
    from tests import harness

    return harness.run_in_process(
        tmp_path, config, state=state, catalog=catalog, env=env, timeout=timeout, extra_args=extra_args
    )


def discover(tmp_path: Path, config: dict) -> dict:
    run = run_tap(tmp_path, config, extra_args=["--discover"])
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def discover_in_process(tmp_path: Path, config: dict) -> dict:
    run = run_in_process(tmp_path, config, extra_args=["--discover"])
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def select(catalog: dict, streams: dict[str, bool]) -> dict:
    """A copy of ``catalog`` with the named streams selected (True) or deselected (False)."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in streams:
            for md in entry["metadata"]:
                if md["breadcrumb"] == []:
                    md["metadata"]["selected"] = streams[entry["tap_stream_id"]]
    return catalog


def only(catalog: dict, names: set[str]) -> dict:
    """``catalog`` with exactly ``names`` selected."""
    return select(catalog, {e["tap_stream_id"]: e["tap_stream_id"] in names for e in catalog["streams"]})


def selected(catalog: dict) -> set[str]:
    """The streams ``catalog`` selects (a stream says nothing: its default)."""
    roots = {
        e["tap_stream_id"]: next(m["metadata"] for m in e["metadata"] if m["breadcrumb"] == [])
        for e in catalog["streams"]
    }
    return {name for name, root in roots.items() if root.get("selected", root.get("selected-by-default", False))}


def select_all(catalog: dict) -> dict:
    """``catalog`` with every stream selected, those off by default too."""
    return only(catalog, {e["tap_stream_id"] for e in catalog["streams"]})


def keys(records: list[dict], *fields: str) -> list[tuple]:
    return [tuple(r[f] for f in fields) for r in records]


def table_keys(table: str, records: list[dict]) -> list[tuple]:
    """A table's primary keys, sorted (a list: a key present twice shows)."""
    return sorted(keys(records, *PRIMARY_KEYS[table]))


def stored_keys(cluster, schema: str, table: str) -> list[tuple]:
    """The primary keys of a table a target loaded into PostgreSQL, sorted."""
    columns = ", ".join(f'"{c}"' for c in PRIMARY_KEYS[table])
    return sorted(cluster.query(f'select {columns} from "{schema}"."{table}"'))


def assert_no_duplicates(records: list[dict], *fields: str) -> None:
    found = Counter(keys(records, *fields))
    dupes = {k: n for k, n in found.items() if n > 1}
    assert not dupes, f"duplicate primary keys: {dupes}"


def assert_records_match_schemas(run: TapRun) -> None:
    """Every RECORD validates against the latest SCHEMA of its stream, as a strict target checks."""
    import jsonschema

    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    validators = {}
    for m in run.messages:
        if m["type"] == "SCHEMA":
            validators[m["stream"]] = jsonschema.Draft7Validator(m["schema"], format_checker=checker)
        elif m["type"] == "RECORD":
            errors = list(validators[m["stream"]].iter_errors(m["record"]))
            assert not errors, (m["stream"], m["record"], [e.message for e in errors])


def all_records(sandbox) -> dict[str, list[dict]]:
    """What a full sync of every provider (every stream selected, no groups) must emit."""
    from tests.expected import bindbee_records, getro_records, trackjobchanges_records

    return {
        **getro_records(sandbox.getro),
        "ats_jobs": bindbee_records(sandbox.bindbee),
        **trackjobchanges_records(sandbox.trackjobchanges, None),
    }


def default_records(records: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Of ``records`` (by stream), the streams a default catalog reads."""
    selected = streams(default=True)
    return {name: rows for name, rows in records.items() if name in selected}


def run_until_killed(tmp_path, config, catalog, kill_when, *, drain: bool = False) -> TapRun:
    """Start the tap, SIGKILL it as soon as ``kill_when(message)`` says so, return what it wrote.
    ``drain``: also every whole line it wrote before the kill landed (what a target reading all of
    its input sees; the tap may run some pages past the line that triggered the kill)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    proc = subprocess.Popen(
        [*TAP, "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")},
    )
    messages = []
    for line in proc.stdout:
        message = json.loads(line)
        messages.append(message)
        if kill_when(message):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    if drain:
        for line in proc.stdout:
            if not line.endswith("\n"):
                break  # cut by the kill: a target would not get past it either
            messages.append(json.loads(line))
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the tap finished before it could be killed"
    return TapRun(proc.returncode, "", "", messages)
