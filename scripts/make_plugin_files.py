"""Write the extractor's plugin definition from the tap itself: the extractors of meltano.yml (the
tap's capabilities and settings, and one extractor per provider's task, with the streams it selects
and what the Airflow DAG needs to run it, as annotations) and the Meltano Hub definition
hub/tap-jobsources--jobsources.yml. All of it comes from `--about` and the providers' plug-ins.

`.venv/bin/python scripts/make_plugin_files.py --check` exits 1 when either drifts.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MELTANO_YML = ROOT / "meltano.yml"
HUB_FILE = ROOT / "hub" / "tap-jobsources--jobsources.yml"


def about() -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tap_jobsources", "--about", "--format=json"], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def kind(spec: dict) -> str:
    """The Meltano kind of a setting: one that passes on every form the tap reads, from
    `meltano config set` and from its TAP_JOBSOURCES_* variable alike (Meltano 4.4,
    tests/test_meltano_settings.py sets each setting both ways)."""
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if spec.get("secret"):
        return "password"
    if spec.get("enum"):
        return "options"
    if spec.get("format") == "date-time":
        # Not date_iso8601: Meltano rewrites what it cannot read (2O26-01-01 became today), so a
        # typo would pass as another date. As text, the tap sees it and refuses it by name.
        return "string"
    if types[0] == "number":
        # As text, read by the tap: Meltano's integer kind refuses 0.5 (int("0.5")), and its
        # decimal kind takes `config set` but hands a value from a variable on as a Decimal,
        # which it then cannot write into the tap's config file ("not JSON serializable").
        return "string"
    if types[0] == "array" and "object" not in str((spec.get("items") or {}).get("type")):
        # As text, read by the tap (JSON or comma-separated): Meltano's array kind refuses
        # `grp-a,grp-b` and a single `101`, which the tap takes.
        return "string"
    return {"integer": "integer", "string": "string", "boolean": "boolean", "array": "array", "object": "object"}[
        types[0]
    ]


def settings(info: dict) -> list[dict]:
    own = info["settings"]["properties"]
    from tap_jobsources.settings import config_schema

    ours = list(config_schema()["properties"])
    rows = []
    for name in ours + [n for n in own if n not in ours]:  # the tap's, then the SDK's (batch, maps ...)
        spec = own[name]
        description = " ".join(spec.get("description", "").split())
        row: dict = {"name": name, "label": spec["title"], "kind": kind(spec), "description": description}
        if spec.get("enum"):
            row["options"] = [{"label": v, "value": v} for v in spec["enum"]]
        if spec.get("secret") or name == "bindbee_connectors":  # its tokens are secrets
            row["sensitive"] = True
        if "default" in spec:  # what `meltano config list` shows, as --about has it
            row["value"] = spec["default"]
        rows.append(row)
    return rows


def hub_definition(info: dict) -> dict:
    return {
        "name": "tap-jobsources",
        "namespace": "tap_jobsources",
        "variant": "jobsources",
        "label": "Job sources (Getro, Bindbee, TrackJobChanges)",
        "description": info["description"],
        "pip_url": "tap-jobsources",
        "executable": "tap-jobsources",
        "capabilities": sorted(info["capabilities"]),
        "settings_group_validation": [list(p.credentials) for p in providers()],
        "settings": settings(info),
        # A stream that costs a request per item (job_details) is off unless a project selects it.
        "select": ["*.*", *(f"!{name}.*" for name in unselected())],
    }


def providers() -> tuple:
    from tap_jobsources.plugin import providers as registered

    return registered()


def unselected() -> list[str]:
    return [cls.name for p in providers() for cls in p.streams() if not cls.selected_by_default]


def task_extractors() -> list[dict]:
    """One extractor per provider task (``inherit_from: tap-jobsources``): the streams it selects,
    and, as annotations Meltano ignores, what the Airflow DAG needs to run it."""
    entries = []
    for provider in providers():
        for extractor in provider.extractors:
            dag = {"task": extractor.task, "enabled_by": list(provider.credentials)}
            if extractor.partition_setting:
                dag["partition_setting"] = extractor.partition_setting
                dag["partitions_from"] = extractor.partitions_from
                dag["all_when_none"] = extractor.all_when_none
                if extractor.all_when_none:
                    dag["all_label"] = extractor.all_label
            if extractor.pool:
                dag["pool"] = extractor.pool
            if extractor.full_run:
                dag["full_run"] = dict(extractor.full_run)
            entries.append(
                {
                    "name": extractor.name,
                    "inherit_from": "tap-jobsources",
                    "select": [f"{name}.*" for name in extractor.streams],
                    "annotations": {"tap_jobsources": dag},
                }
            )
    return entries


def extractors_block(definition: dict) -> str:
    """meltano.yml's extractors, as YAML text."""
    base = {
        "name": "tap-jobsources",
        "namespace": "tap_jobsources",
        "pip_url": "-e .",
        "executable": "tap-jobsources",
        "select": definition["select"],
        "capabilities": definition["capabilities"],
        "settings_group_validation": definition["settings_group_validation"],
        "settings": definition["settings"],
    }
    text = yaml.safe_dump({"extractors": [base, *task_extractors()]}, sort_keys=False, width=100, allow_unicode=True)
    return "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())


EXTRACTORS = re.compile(r"(?ms)^  extractors:\n.*?(?=^  loaders:)")


def updated_meltano_yml(definition: dict) -> str:
    return EXTRACTORS.sub(lambda _: extractors_block(definition), MELTANO_YML.read_text(), count=1)


def files(info: dict) -> dict[Path, str]:
    """The Hub file's and meltano.yml's text, from ``--about``'s answer ``info``."""
    definition = hub_definition(info)
    hub_text = "# Generated by scripts/make_plugin_files.py from `tap-jobsources --about`: do not edit.\n"
    hub_text += yaml.safe_dump(definition, sort_keys=False, width=100, allow_unicode=True)
    return {HUB_FILE: hub_text, MELTANO_YML: updated_meltano_yml(definition)}


def stale(texts: dict[Path, str]) -> list[str]:
    """The files whose committed text is not ``texts``'."""
    return [p.name for p, text in texts.items() if not p.exists() or p.read_text() != text]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    texts = files(about())
    if args.check:
        if out_of_date := stale(texts):
            print(
                f"Out of date: {', '.join(out_of_date)}. Run .venv/bin/python scripts/make_plugin_files.py",
                file=sys.stderr,
            )
            return 1
        return 0
    HUB_FILE.parent.mkdir(exist_ok=True)
    for path, text in texts.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
