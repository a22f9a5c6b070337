"""The dbt project's shape (transform/), read as files: every stream has its source and staging
model, every model its description and tests, and Meltano's dbt plugins what they need. The models
themselves are built and checked in test_warehouse_models.py (e2e)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import PRIMARY_KEYS

ROOT = Path(__file__).resolve().parents[1]
TRANSFORM = ROOT / "transform"
PROVIDERS = {"getro", "bindbee", "trackjobchanges"}


def model_files() -> dict[str, Path]:
    return {p.stem: p for p in (TRANSFORM / "models").rglob("*.sql")}


def model_docs() -> dict[str, dict]:
    docs = {}
    for path in (TRANSFORM / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            docs[model["name"]] = model
    return docs


def data_tests_of(column: dict) -> list[str]:
    return [test if isinstance(test, str) else next(iter(test)) for test in column.get("data_tests", [])]


def test_every_stream_is_a_source_with_a_staging_model():
    sources = yaml.safe_load((TRANSFORM / "models" / "staging" / "_sources.yml").read_text())["sources"]
    tables = {t["name"] for s in sources for t in s["tables"]}
    assert tables == set(PRIMARY_KEYS)
    staging = {p.stem: p.read_text() for p in (TRANSFORM / "models" / "staging").rglob("stg_*.sql")}
    for table in tables:
        readers = [name for name, sql in staging.items() if f"'jobsources', '{table}'" in sql]
        assert any(name.split("__")[1] == table for name in readers), table
    assert {name.split("__")[0].removeprefix("stg_") for name in staging} == PROVIDERS


def test_every_model_is_described_and_tested_with_its_key_unique():
    files, docs = model_files(), model_docs()
    assert set(files) == set(docs)
    for name, model in docs.items():
        assert model.get("description"), name
        columns = model.get("columns", [])
        assert any(data_tests_of(c) for c in columns), f"{name} has no test"
        first = columns[0]
        assert "not_null" in data_tests_of(first), name
        if "unique" not in data_tests_of(first):  # a bridge (job, location): its key goes to its parent
            assert "relationships" in data_tests_of(first), name


def test_one_naming_convention_in_the_staging_and_mart_columns():
    """Timestamps end in _at, dates in _on, booleans start with is_: no raw flag names are left."""
    raw_flags = {"featured", "manually_posted", "confidential", "current", "verified", "in_eu", "has_new_job"}
    for name, path in model_files().items():
        sql = path.read_text().lower()
        for flag in raw_flags:
            assert f" as {flag}," not in sql, (name, flag)
            assert f" as {flag}\n" not in sql, (name, flag)
        assert "deactivated_at as deactivated_at" not in sql


def test_the_marts_the_issue_names_exist():
    assert {"jobs", "job_history", "companies", "connection_job_changes"} <= set(model_files())
    snapshot = yaml.safe_load((TRANSFORM / "snapshots" / "jobs_snapshot.yml").read_text())["snapshots"][0]
    assert snapshot["relation"] == "ref('jobs')"
    assert set(snapshot["config"]["check_cols"]) == {"title", "status", "locations", "description"}


def test_meltano_runs_dbt_on_both_warehouses_from_one_virtualenv():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    utilities = {u["name"]: u for u in project["plugins"]["utilities"]}
    base = utilities["dbt"]
    # The DuckDB the dbt adapter writes with must be the one target-duckdb 0.8 reads.
    loader = next(p for p in project["plugins"]["loaders"] if p["name"] == "target-duckdb")
    assert "duckdb<1.2" in base["pip_url"].split()
    assert "duckdb<1.2" in loader["pip_url"].split()
    assert "build" in base["commands"]
    for name, target in (("dbt-duckdb", "duckdb"), ("dbt-postgres", "postgres")):
        assert utilities[name]["inherit_from"] == "dbt"
        assert "pip_url" not in utilities[name]  # shares the parent's virtualenv
        assert utilities[name]["env"]["DBT_TARGET"] == target
    profiles = yaml.safe_load((TRANSFORM / "profiles.yml").read_text())["jobsources"]["outputs"]
    assert set(profiles) == {"duckdb", "postgres"}


def test_the_plugin_definitions_for_other_projects_are_this_projects_dbt():
    """transform/meltano/dbt-*.yml (for `meltano add --from-ref` in a project of one's own) declare
    what this project's meltano.yml does through inheritance."""
    utilities = {u["name"]: u for u in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["utilities"]}
    base = utilities["dbt"]
    for name in ("dbt-duckdb", "dbt-postgres"):
        definition = yaml.safe_load((TRANSFORM / "meltano" / f"{name}.yml").read_text())
        assert definition["name"] == name
        for key in ("namespace", "pip_url", "executable", "commands"):
            assert definition[key] == base[key], (name, key)
        assert definition["env"] == {**base["env"], **utilities[name]["env"]}, name
