"""Every setting of `tap-jobsources --about` survives Meltano on its way to the tap, in every form
the tap reads, both ways a user gives it: `meltano config set` and its `TAP_JOBSOURCES_*` variable.

A project made of the Hub definition this repository ships (the one a user's project adds; the
project's own meltano.yml declares the same settings, see test_project_files.py) gets every
setting at once, one form per round, a fraction wherever a number takes one. After each round,
`meltano invoke --dump=config tap-jobsources` writes the config file Meltano hands the tap (what
the tap receives), and the tap reads that very file (what it makes of it): each setting must come
out as the value given, of its type. The forms come from each setting's JSON Schema in `--about`,
so a setting added to the tap is covered without editing this file.

Lean: `meltano config set` takes one setting per command, so the commands of a round run in one
Python process through Meltano's own entry point (`meltano.cli.main`, what the `meltano` script
calls), instead of one process of several seconds each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tap_jobsources.tap import TapJobSources
from tests.helpers import TAP

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).with_name("meltano"))
HUB = ROOT / "hub" / "tap-jobsources--jobsources.yml"

#: Settings whose values the schema cannot make up (the SDK's objects): a valid example each.
EXAMPLES: dict[str, dict] = {
    "stream_maps": {"jobs": {"title_upper": "title.upper()"}},
    "stream_map_config": {"salt": "pepper"},
    "faker_config": {"seed": 7, "locale": "en_US"},
    "batch_config": {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": "file://batches"},
        "batch_size": 10,
    },
}


def _types(spec: dict) -> list[str]:
    kinds = spec.get("type", [])
    return [k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null"]


def _number(spec: dict, fraction: bool) -> float:
    """A value within the setting's bounds, other than its default."""
    low = spec.get("minimum", spec.get("exclusiveMinimum", 0))
    high = spec.get("maximum", low + 1000)
    value = low + (0.5 if fraction else max(1, (high - low) // 3))
    if value == spec.get("default") or value > high:
        value = low + (0.25 if fraction else 1)
    return value


def _item(spec: dict, letter: str) -> dict:
    """One object of an array of objects, from its properties (``name``: the letter, so that
    name lists can refer to it)."""
    props = spec.get("properties") or {}
    return {p: letter if p == "name" else f"{p}-{letter}-0123456789" for p in props}


def forms(name: str, spec: dict) -> list[tuple[str, object]]:
    """Every form the tap reads a setting in, as the text a user types, with what the tap must
    make of it."""
    types = _types(spec)
    if name in EXAMPLES:
        return [(json.dumps(EXAMPLES[name]), EXAMPLES[name])]
    if spec.get("enum"):
        return [(v, v) for v in spec["enum"]]
    kind = types[0]
    if kind == "boolean":
        return [("true", True), ("false", False)]
    if kind == "integer":
        value = int(_number(spec, fraction=False))
        return [(str(value), value)]
    if kind == "number":
        whole, fraction = int(_number(spec, fraction=False)), _number(spec, fraction=True)
        return [(str(whole), whole), (str(fraction), fraction)]
    if kind == "array":
        items = spec.get("items") or {}
        if "object" in _types(items):
            value = [_item(items, "a"), _item(items, "b")]
            return [(json.dumps(value), value)]
        values: list = [101, 102] if "integer" in _types(items) else ["a", "b"]
        return [
            (json.dumps(values), values),  # JSON
            (",".join(map(str, values)), values),  # comma-separated
            (str(values[0]), values[:1]),  # one item
        ]
    if kind == "object":
        return [('{"key": "value"}', {"key": "value"})]
    if spec.get("format") == "date-time":
        return [("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"), ("2026-01-02", "2026-01-02")]
    if spec.get("secret"):
        return [(f"{name}-s3cr3t-0123456789",) * 2]
    if str(spec.get("default", "")).startswith("http"):
        return [(f"http://127.0.0.1:9/{name}",) * 2]
    return [(f"text-{name}",) * 2]


def about() -> dict:
    shown = subprocess.run([*TAP, "--about", "--format=json"], capture_output=True, text=True, check=True)
    return json.loads(shown.stdout)["settings"]["properties"]


def rounds() -> list[dict[str, tuple[str, object]]]:
    """Round r gives each setting its r-th form (the last again when it has fewer)."""
    every = {name: forms(name, spec) for name, spec in about().items()}
    count = max(len(f) for f in every.values())
    return [{name: f[min(r, len(f) - 1)] for name, f in every.items()} for r in range(count)]


ROUNDS = rounds()


def clean_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_JOBSOURCES_", "MELTANO_"))}
    return {**base, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def project(where: Path) -> Path:
    """A Meltano project whose extractor is the Hub definition (nothing to install: Meltano
    writes the tap's config file without running it)."""
    where.mkdir(parents=True)
    definition = yaml.safe_load(HUB.read_text())
    definition["pip_url"] = str(ROOT)
    (where / "meltano.yml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "default_environment": "dev",
                "project_id": "settings-check",
                "send_anonymous_usage_stats": False,
                "plugins": {"extractors": [definition]},
                "environments": [{"name": "dev"}],
            },
            sort_keys=False,
        )
    )
    return where


# `meltano config set tap-jobsources NAME VALUE` for each pair, through Meltano's entry point.
CONFIG_SET = textwrap.dedent(
    """
    import json, sys
    from meltano.cli import main

    failed = {}
    for name, value in json.load(sys.stdin).items():
        sys.argv = ["meltano", "config", "set", "tap-jobsources", name, value]
        try:
            main()
        except SystemExit as exit:
            if exit.code:
                failed[name] = exit.code
        except Exception as error:
            failed[name] = f"{type(error).__name__}: {error}"
    print(json.dumps(failed))
    """
)


def config_set(where: Path, values: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CONFIG_SET],
        input=json.dumps(values),
        cwd=where,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def dumped_config(where: Path, env: dict[str, str]) -> Path:
    """The config file Meltano hands the tap."""
    dumped = subprocess.run(
        [MELTANO, "invoke", "--dump=config", "tap-jobsources"],
        cwd=where,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in dumped.stderr.splitlines() if "Error" in line and "│" not in line]
    assert dumped.returncode == 0, f"Meltano refused the settings: {errors or dumped.stderr[-3000:]}"
    path = where / "received.json"
    path.write_text(dumped.stdout)
    return path


def assert_the_tap_reads(path: Path, given: dict[str, tuple[str, object]], how: str) -> None:
    received = json.loads(path.read_text())
    # The tap reads the file as its command line does (TapJobSources --config FILE).
    parsed = TapJobSources(config=path, validate_config=True).config
    wrong = {}
    for name, (text, expected) in given.items():
        value = parsed.get(name)
        if value != expected or type(value) is not type(expected) and not {type(value), type(expected)} <= {int, float}:
            wrong[name] = f"given {text!r}, Meltano passed {received.get(name)!r}, the tap read {value!r}"
    assert not wrong, f"{how}:\n" + "\n".join(f"  {n}: {w}" for n, w in sorted(wrong.items()))


@pytest.mark.parametrize("form", range(len(ROUNDS)))
def test_every_setting_in_every_form_through_meltano_config_set_and_its_variable(tmp_path, form):
    given = ROUNDS[form]
    texts = {name: text for name, (text, _) in given.items()}

    by_variable = project(tmp_path / "env")
    env = {f"TAP_JOBSOURCES_{name.upper()}": text for name, text in texts.items()}
    assert_the_tap_reads(dumped_config(by_variable, env), given, "TAP_JOBSOURCES_* variables")

    by_config_set = project(tmp_path / "set")
    refused = config_set(by_config_set, texts)
    assert not refused, f"meltano config set refused: {refused}"
    assert_the_tap_reads(dumped_config(by_config_set, {}), given, "meltano config set")


def test_the_forms_cover_a_fraction_for_every_number_and_text_lists_for_every_list():
    """The test above is only as good as its forms: every number setting gets a fraction, every
    list of ids or names its JSON, comma-separated and one-item forms."""
    for name, spec in about().items():
        texts = [text for text, _ in forms(name, spec)]
        if _types(spec)[0] == "number":
            assert any("." in text for text in texts), name
        if _types(spec)[0] == "array" and "object" not in _types(spec.get("items") or {}):
            assert len(texts) == 3, name
            assert "," in texts[1], name
            assert not texts[2].startswith("["), name
