"""Write catalogs/<provider>.json and catalogs/all.json from `tap-jobsources --discover`.

`python scripts/make_catalogs.py --check` exits 1 when the committed catalogs drift from discovery.
Discovery makes no request, so placeholder credentials are enough (and no secret lands in a file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDERS = {
    "getro": {"getro_email": "you@example.com", "getro_api_token": "placeholder"},
    "bindbee": {"bindbee_api_key": "placeholder", "bindbee_connectors": [{"name": "my-ats", "token": "placeholder"}]},
    "trackjobchanges": {"trackjobchanges_api_key": "placeholder"},
}


def discover(config: dict) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(config, f)
        f.flush()
        out = subprocess.run(
            [sys.executable, "-m", "tap_jobsources", "--config", f.name, "--discover"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.dumps(json.loads(out), indent=2, sort_keys=True) + "\n"


def catalogs() -> dict[str, str]:
    found = {name: discover(config) for name, config in PLACEHOLDERS.items()}
    found["all"] = discover({k: v for config in PLACEHOLDERS.values() for k, v in config.items()})
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    drift = []
    for name, text in catalogs().items():
        path = ROOT / "catalogs" / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                drift.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    if drift:
        print(
            f"Catalogs drifted from discovery: {', '.join(drift)}. Run: python scripts/make_catalogs.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
