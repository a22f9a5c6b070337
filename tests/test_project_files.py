"""The files users rely on stay true to the tap: catalogs, README settings, meltano.yml."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import typing as t
from pathlib import Path

import yaml

from tap_jobsources.plugin import providers
from tap_jobsources.settings import config_schema
from tests.helpers import run_in_process, streams

ROOT = Path(__file__).resolve().parents[1]


def script(name: str) -> t.Any:
    """A generator of scripts/ as a module, to run its checks in this process (a process each
    would spend most of its time starting the tap)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogs_match_discovery(tmp_path):
    runs = iter(range(10))

    def discover(config: dict) -> str:
        run = run_in_process(tmp_path / str(next(runs)), config, extra_args=["--discover"])
        assert run.returncode == 0, run.stderr
        return run.stdout

    assert script("make_catalogs").drifted(script("make_catalogs").catalogs(discover)) == []


def settings_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if re.match(r"^\| [a-z_]+ \|", line)]


def test_readme_settings_table_agrees_with_about(tmp_path):
    run = run_in_process(tmp_path, None, extra_args=["--about", "--format=markdown"])
    assert run.returncode == 0, run.stderr
    about = run.stdout
    own = set(config_schema()["properties"])
    expected = [row for row in settings_rows(about) if row.split("|")[1].strip() in own]
    assert len(expected) == len(own)
    readme = (ROOT / "README.md").read_text()
    assert [row for row in settings_rows(readme) if row.split("|")[1].strip() in own] == expected


def test_meltano_yml_declares_every_setting_with_its_kind_and_secrets_as_sensitive():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-jobsources")
    declared = {s["name"]: s for s in extractor["settings"]}
    assert set(declared) >= set(config_schema()["properties"])
    assert all(s.get("kind") for s in declared.values())
    secrets = {name for p in providers() for name in p.secrets} | {"bindbee_connectors"}
    assert {n for n, s in declared.items() if s.get("sensitive")} == secrets
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    assert loaders["target-postgres"]["variant"] == "meltanolabs"
    assert "duckdb<1.2" in loaders["target-duckdb"]["pip_url"]
    assert (ROOT / "plugins/loaders/target-postgres--meltanolabs.lock").exists()


# A path of one machine, in a tracked file: a home, a temporary or a work folder.
MACHINE_PATH = re.compile(r"(?<![\w.$-])/(?:tmp|home|root|work|Users|private/var)/[\w.-]+")


def tracked_files() -> list[tuple[str, str]]:
    """(mode, path) of every file git tracks here."""
    listing = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        import pytest

        pytest.skip("not a git checkout")
    return [(entry.split()[0], entry.split("\t", 1)[1]) for entry in listing.stdout.split("\0") if entry]


def test_no_tracked_file_leaves_the_repository_or_names_a_machines_path():
    problems = []
    for mode, path in tracked_files():
        file = ROOT / path
        if mode == "120000":  # a symlink: where it points must be inside the repository
            target = (file.parent / file.readlink()).resolve()
            if file.readlink().is_absolute() or not target.is_relative_to(ROOT):
                problems.append(f"{path} is a symlink to {file.readlink()}, outside the repository")
            continue
        if not file.is_file():
            continue
        text = file.read_bytes()
        if b"\0" in text:
            continue
        for match in MACHINE_PATH.finditer(text.decode("utf-8", "replace")):
            problems.append(f"{path} names a path of one machine: {match.group()}")
    assert not problems, "\n".join(problems)


def test_local_virtualenvs_are_ignored_as_files_and_as_folders():
    for name in (".venv", ".venv-airflow"):
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", name], cwd=ROOT)
        assert check.returncode == 0, f"{name} is not ignored"


def test_what_the_docs_have_a_clone_write_is_ignored():
    """`tap-jobsources-sandbox --env-out .env` and `meltano config set` write credentials to
    `.env` (production.md: it is not committed); airflow.md's AIRFLOW_HOME is `.airflow`; the
    README's `pip install ./sandbox` builds in `sandbox/build/`."""
    for name in (".env", ".airflow/airflow.cfg", "sandbox/build/lib/x.py"):
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", name], cwd=ROOT)
        assert check.returncode == 0, f"{name} is not ignored"


def test_the_loaders_lock_files_install_what_meltano_yml_pins():
    """A project of one's own adds the loaders from these lock files (README): without the pins it
    would get the newest target-postgres, and a duckdb that reads each load's first row as a header."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for loader in project["plugins"]["loaders"]:
        lock = json.loads((ROOT / "plugins" / "loaders" / f"{loader['name']}--{loader['variant']}.lock").read_text())
        assert lock["pip_url"] == loader["pip_url"], loader["name"]


def test_the_docs_run_the_repositorys_scripts_with_the_python_that_has_the_tap():
    """`python scripts/make_catalogs.py` as written fails outside an activated `.venv` (no tap, no
    singer_sdk in the system's Python): the docs say `.venv/bin/python`, as for the benchmark."""
    bare = re.compile(r"(?<![\w/.-])python3? (scripts|bench)/")
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [f"{page.name}: {m.group()}" for page in pages for m in bare.finditer(page.read_text())]
    assert found == []


def test_the_emulator_shares_no_code_with_the_tap():
    """The sandbox is a test oracle: a bug it shared with the tap could never be caught."""
    import ast

    for path in (ROOT / "sandbox").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "tap_jobsources" for n in names), path
    # And the tap ships none of it.
    project = (ROOT / "pyproject.toml").read_text()
    assert 'include = ["tap_jobsources*"]' in project
    assert not (ROOT / "tap_jobsources" / "sandbox").exists()


def test_meltano_yml_and_the_hub_definition_match_about(tmp_path):
    """Capabilities exactly as --about reports them, every setting labelled, no drift."""
    answered = run_in_process(tmp_path, None, extra_args=["--about", "--format=json"])
    assert answered.returncode == 0, answered.stderr
    about = json.loads(answered.stdout)
    generator = script("make_plugin_files")
    assert generator.stale(generator.files(about)) == []
    hub = yaml.safe_load((ROOT / "hub" / "tap-jobsources--jobsources.yml").read_text())
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-jobsources")
    for definition in (hub, extractor):
        assert set(definition["capabilities"]) == set(about["capabilities"])
        assert {"batch", "test", "structured-logging"} <= set(definition["capabilities"])
        for field in ("label", "kind", "description"):
            assert [s["name"] for s in definition["settings"] if not s.get(field)] == [], field
        assert {s["name"] for s in definition["settings"]} == set(about["settings"]["properties"])
    assert {s["name"] for s in hub["settings"] if s.get("sensitive")} == {
        "getro_api_token",
        "bindbee_api_key",
        "bindbee_connectors",
        "trackjobchanges_api_key",
    }


def test_the_sandbox_banner_counts_what_its_printed_settings_read(tmp_path):
    from jobsources_sandbox import Sandbox
    from jobsources_sandbox.cli import records_by_stream

    with Sandbox() as sandbox:
        settings = {**sandbox.settings(), "getro_requests_per_minute": 60_000}
        run = run_in_process(tmp_path, settings)
        assert run.returncode == 0, run.stderr[-2000:]
        banner = {name: n for name, n in records_by_stream(sandbox.counts()).items() if n}
        assert dict(run.counts()) == banner


def test_the_sandbox_banner_counts_every_stream_a_default_catalog_reads():
    """The emulator imports nothing from the tap: its own list of streams is checked here."""
    from jobsources_sandbox import Sandbox
    from jobsources_sandbox.cli import records_by_stream

    with Sandbox() as sandbox:
        assert set(records_by_stream(sandbox.counts())) == streams(default=True)


def undescribed(node: dict, where: str = "") -> list[str]:
    """The fields of a schema, at any depth, that have no description."""
    found = []
    for name, spec in (node.get("properties") or {}).items():
        if not spec.get("description"):
            found.append(f"{where}{name}")
        found += undescribed(spec, f"{where}{name}.")
        if isinstance(spec.get("items"), dict):
            found += undescribed(spec["items"], f"{where}{name}[].")
    return found


def test_every_field_has_a_description_and_the_data_dictionary_is_current():
    for path in sorted((ROOT / "tap_jobsources").glob("*/schemas/*.json")):
        assert not undescribed(json.loads(path.read_text())), path.name
    assert (ROOT / "docs" / "streams.md").read_text() == script("make_data_dictionary").dictionary()


def test_the_production_page_shows_the_prod_environment_the_project_ships():
    """docs/production.md shows the `prod` environment of meltano.yml, which the scheduler test
    runs (test_airflow_scheduler.py), and the Meltano variables each machine sets there."""
    from tests.airflow import ENVIRONMENT, MELTANO_VARIABLES

    page = (ROOT / "docs" / "production.md").read_text()
    shown = [yaml.safe_load(b.split("\n", 1)[1]) for b in page.split("```")[1::2] if b.startswith("yaml")]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (prod,) = [e for e in project["environments"] if e["name"] == ENVIRONMENT]
    assert {"environments": [prod]} in shown
    for variable in MELTANO_VARIABLES:
        assert f"{variable}=" in page, variable
    assert "MELTANO_STATE_BACKEND_URI=systemdb" in page
    # Meltano 4.4 has no state backend for postgresql:// URIs ("No state backend found").
    assert not re.search(r"MELTANO_STATE_BACKEND_URI[=:] *postgres", page)


def test_the_readme_shows_the_target_duckdb_pins_the_project_uses():
    """A user's own project gets target-duckdb's two fixes from the README: the `duckdb<1.2` pin
    and `add_metadata_columns`, as this project's meltano.yml has them."""
    import textwrap

    readme = (ROOT / "README.md").read_text()
    blocks = [textwrap.dedent(b.split("\n", 1)[1]) for b in readme.split("```")[1::2] if b.startswith("yaml")]
    (shown,) = [yaml.safe_load(b)["loaders"][0] for b in blocks if "target-duckdb" in b]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-duckdb"]
    assert shown["pip_url"] == loader["pip_url"]
    assert "duckdb<1.2" in shown["pip_url"]
    assert shown["config"]["add_metadata_columns"] is loader["config"]["add_metadata_columns"] is True


#: What must follow each ``type: ignore``: ``[code]``, the error it silences, then ``  # why``.
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
EXPLAINED = re.compile(r"^\[[\w-]+(, [\w-]+)*\]  # \S")


def test_every_type_ignore_names_its_error_code_and_a_reason():
    bare = [
        f"{path}:{number}"
        for _, path in tracked_files()
        if path.endswith(".py")
        for number, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if (found := IGNORE.search(line)) and not EXPLAINED.match(found["rest"])
    ]
    assert bare == []
