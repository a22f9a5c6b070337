"""Write catalogs/<provider>.json and catalogs/all.json from `tap-jobsources --discover`.

`.venv/bin/python scripts/make_catalogs.py --check` exits 1 when the committed catalogs drift from discovery.
Discovery makes no request, so placeholder credentials are enough (and no secret lands in a file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDERS = {
    "getro": {"getro_email": "you@example.com", "getro_api_token": "placeholder"},
    "bindbee": {"bindbee_api_key": "placeholder", "bindbee_connectors": [{"name": "my-ats", "token": "placeholder"}]},
    "trackjobchanges": {"trackjobchanges_api_key": "placeholder"},
}


def discover(config: dict) -> str:
    """``tap-jobsources --discover`` with ``config``, as a process: its output."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(config, f)
        f.flush()
        return subprocess.run(
            [sys.executable, "-m", "tap_jobsources", "--config", f.name, "--discover"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def catalogs(discover: t.Callable[[dict], str] = discover) -> dict[str, str]:
    """Each catalog file's text (``discover``: how the tap is asked; the tests ask it in-process)."""
    configs = {**PLACEHOLDERS, "all": {k: v for config in PLACEHOLDERS.values() for k, v in config.items()}}
    return {
        name: json.dumps(json.loads(discover(config)), indent=2, sort_keys=True) + "\n"
        for name, config in configs.items()
    }


def drifted(found: dict[str, str]) -> list[str]:
    """The catalog files whose text is not ``found``'s."""
    paths = {name: ROOT / "catalogs" / f"{name}.json" for name in found}
    return [str(p.relative_to(ROOT)) for name, p in paths.items() if not p.exists() or p.read_text() != found[name]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    found = catalogs()
    drift = drifted(found) if args.check else []
    if not args.check:
        for name, text in found.items():
            (ROOT / "catalogs" / f"{name}.json").write_text(text)
    if drift:
        print(
            f"Catalogs drifted from discovery: {', '.join(drift)}. Run: .venv/bin/python scripts/make_catalogs.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
