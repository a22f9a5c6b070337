"""``tap-jobsources-sandbox``: the emulator of all three APIs, for trying the tap without credentials."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from jobsources_sandbox.server import Sandbox


def records_by_stream(counts: dict) -> dict[str, int]:
    """Records a default sync with the printed settings writes, per stream (the default
    TrackJobChanges group, no job_details, no talent of a network that hides it; jobs: also a
    record retiring each removed job the list does not show)."""
    hidden = {str(n) for n in counts["talent_hidden"]}
    return {
        "job_functions": counts["job_functions"],
        "experience_levels": counts["experience_levels"],
        "networks": len(counts["networks"]),
        **{s: sum(counts[s].values()) for s in ("companies", "removed_jobs")},
        "jobs": sum(counts["jobs"].values()) + sum(counts["removed_unlisted"].values()),
        "talent": sum(n for network, n in counts["talent"].items() if network not in hidden),
        "ats_jobs": sum(counts["ats_jobs"].values()),
        "connections": counts["connections"],
        "employments": sum(counts["employments"].values()),
        "account": 1,
    }


def readable_records(counts: dict) -> int:
    """All of :func:`records_by_stream`: what the banner counts."""
    return sum(records_by_stream(counts).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tap-jobsources-sandbox",
        description="Serve an emulator of the Getro, Bindbee and TrackJobChanges APIs on 127.0.0.1, "
        "and print the tap settings that point at it.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port; default 8765)")
    parser.add_argument("--scale", type=int, default=1, help="data size: about 250 records per unit (default 1)")
    parser.add_argument("--networks", type=int, default=3, help="Getro networks (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    parser.add_argument(
        "--getro-rate-limit",
        type=int,
        default=None,
        help="requests per minute past which Getro answers 429 (default: no limit)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer takes (default 0)")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="answer 429 to a request past this many in flight (default: no cap)",
    )
    parser.add_argument(
        "--timestamps",
        choices=["mixed", "docs"],
        default="mixed",
        help="mixed: every form the docs allow (Z, +00:00, other offsets); docs: UTC with Z only (default mixed)",
    )
    parser.add_argument("--config-out", type=Path, help="also write the settings to this JSON file")
    parser.add_argument(
        "--env-out",
        type=Path,
        help="also write the settings as TAP_JOBSOURCES_* variables to this file, in the .env form Meltano "
        "reads (a Meltano project's own .env: `meltano run tap-jobsources ...` then reads the sandbox); "
        "its other lines are kept, its TAP_JOBSOURCES_* ones replaced",
    )
    parser.add_argument(
        "--counts-out", type=Path, help="also write how many items each list holds, per partition (JSON)"
    )
    args = parser.parse_args(argv)

    sandbox = Sandbox(
        port=args.port,
        scale=args.scale,
        seed=args.seed,
        networks=args.networks,
        getro_rate_limit=args.getro_rate_limit,
        latency=args.latency,
        max_in_flight=args.max_in_flight,
        timestamps=args.timestamps,
    )
    settings = sandbox.settings()
    if not args.getro_rate_limit:
        settings["getro_requests_per_minute"] = 600  # the sandbox has no rate limit to respect
    text = json.dumps(settings, indent=2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sandbox.start()
    if args.counts_out:
        args.counts_out.write_text(json.dumps(sandbox.counts()) + "\n")
    if args.config_out:  # written once the sandbox listens: a script may wait for the file
        args.config_out.write_text(text + "\n")
    if args.env_out:
        from jobsources_sandbox.tap_config import dotenv

        existing = args.env_out.read_text() if args.env_out.exists() else ""
        args.env_out.write_text(dotenv(settings, existing))
    print(text, flush=True)
    print(
        f"# tap-jobsources sandbox listening on {sandbox.url}: a sync with these settings reads "
        f"{readable_records(sandbox.counts())} records (job_details not selected); Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
