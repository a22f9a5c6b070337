"""tap-jobsources benchmark: speed, requests, memory and state size against the sandbox.

    .venv/bin/python bench/benchmark.py        # about 200k records (a few minutes)
    .venv/bin/python bench/benchmark.py --scale 10 --skip-pacing   # a smoke run

Prints, per stream: records, requests made and the minimum possible, CPU seconds of the tap
process, records per CPU-second; then peak RSS and state size of a full run, peak RSS of a
small run, two baselines over the same Getro jobs pages (a stock singer-sdk RESTStream and a
bare requests loop) with the tap's CPU per record against each, and a paced Getro sync at the
default 30 requests/minute. Not part of the test suite.

The sandbox runs in its own process, and so does every program measured: CPU and peak RSS come
from wait4() on that process alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
TAP = [PY, "-m", "tap_jobsources"]
GETRO_PAGE, BINDBEE_PAGE, TJC_PAGE = 100, 100, 10  # TJC: the sandbox's fixed page size
LIFTED = {"getro_requests_per_minute": 10_000_000}
METRIC = re.compile(r'"metric":"http_request_count","value":(\d+),"tags":\{"stream":"(\w+)"')


class Measured:
    def __init__(self, args: list[str], workdir: Path, name: str) -> None:
        self.stdout_path, self.stderr_path = workdir / f"{name}.out", workdir / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(args, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.monotonic() - started
        self.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        self.rss_mb = usage.ru_maxrss / 1024
        if self.returncode:
            raise SystemExit(f"{name} failed:\n{self.stderr_path.read_text()[-3000:]}")

    def messages(self):
        with self.stdout_path.open() as lines:
            for line in lines:
                yield json.loads(line)

    def requests_by_stream(self) -> Counter:
        found = Counter()
        for value, stream in METRIC.findall(self.stderr_path.read_text()):
            found[stream] += int(value)
        return found


class SandboxProcess:
    def __init__(self, workdir: Path, *options: str) -> None:
        self.config_path = workdir / f"sandbox{abs(hash(options))}.json"
        counts_path = workdir / f"sandbox{abs(hash(options))}-counts.json"
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "jobsources_sandbox.cli",
                "--port",
                "0",
                "--counts-out",
                str(counts_path),
                "--config-out",
                str(self.config_path),
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not self.config_path.exists():
            if self.proc.poll() is not None:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.1)
        time.sleep(0.1)
        self.settings = json.loads(self.config_path.read_text())
        #: the emulator's own count of items, per list and partition (not what the tap emitted)
        self.counts = json.loads(counts_path.read_text())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def catalog_for(config_path: Path, streams: set[str] | None, workdir: Path) -> Path:
    """The discovered catalog with exactly ``streams`` selected (None: the defaults)."""
    catalog = json.loads(
        subprocess.run(
            [*TAP, "--config", str(config_path), "--discover"], check=True, capture_output=True, text=True
        ).stdout
    )
    if streams is not None:
        for entry in catalog["streams"]:
            for md in entry["metadata"]:
                if md["breadcrumb"] == []:
                    md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    name = "default" if streams is None else "-".join(sorted(streams)) or "none"
    return write(workdir / f"catalog-{name}.json", catalog)


def default_streams() -> list[str]:
    """The streams a default catalog reads, from the tap's registry (in the providers' order)."""
    from tap_jobsources.plugin import providers

    return [cls.name for p in providers() for cls in p.streams() if cls.selected_by_default]


class Output:
    """What a run wrote, counted as it streams by (the driver keeps no records: a large
    driver would inflate the peak RSS that wait4() reports for the programs it starts)."""

    def __init__(self, run: Measured) -> None:
        self.counts: Counter = Counter()
        self.networks: list[int] = []
        self.connections: list[int] = []
        self.state: dict = {}
        for message in run.messages():
            if message["type"] == "RECORD":
                stream, record = message["stream"], message["record"]
                self.counts[stream] += 1
                if stream == "networks":
                    self.networks.append(record["id"])
                elif stream == "connections":
                    self.connections.append(record["id"])
            elif message["type"] == "STATE":
                self.state = message["value"]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def minimum_requests(counts: dict) -> dict[str, int]:
    """Fewest requests a whole read can cost, from the emulator's own counts (not from what the
    tap emitted: a tap that drops records would lower its own bar): per partition
    ceil(n / page), at least one."""

    def paged(sizes: dict[str, int], page: int) -> int:
        return sum(max(1, math.ceil(n / page)) for n in sizes.values())

    networks = counts["networks"]
    hidden = {str(n) for n in counts["talent_hidden"]}
    return {
        "job_functions": 1,
        "experience_levels": 1,
        "networks": math.ceil(len(networks) / GETRO_PAGE) + len(networks),  # the list, then each detail
        "ats_jobs": paged(counts["ats_jobs"], BINDBEE_PAGE),
        "connections": max(1, math.ceil(counts["connections"] / TJC_PAGE)),
        "employments": paged(counts["employments"], TJC_PAGE),
        "account": 1,
        **{s: paged(counts[s], GETRO_PAGE) for s in ("companies", "jobs", "removed_jobs")},
        "talent": paged({n: 0 if n in hidden else k for n, k in counts["talent"].items()}, GETRO_PAGE),
    }


def instructions(sandbox: SandboxProcess, network_id: int, workdir: Path, timestamps: str) -> None:
    """The record path in instructions (valgrind's callgrind), which, unlike CPU seconds, do not
    move with what else the machine is doing: the tap and the bare loop over one network's jobs
    pages, each less its own start-up. The tap puts every time with an offset in UTC (the bare loop
    does not), so the figure is given for timestamps in the docs' form and in the emulator's mix."""
    one = write(workdir / "one-network.json", {**sandbox.settings, **LIFTED, "getro_network_ids": [network_id]})
    base = write(
        workdir / "one-network-base.json",
        {
            **{k: sandbox.settings[k] for k in ("getro_api_url", "getro_email", "getro_api_token")},
            "network_ids": [network_id],
        },
    )
    jobs = sandbox.counts["jobs"][str(network_id)]

    def counted(command: list[str]) -> int:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command], capture_output=True, text=True
        )
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode or not found:
            raise SystemExit(f"callgrind failed:\n{run.stderr[-2000:]}")
        return int(found.group(1))

    tap = counted([*TAP, "--config", str(one), "--catalog", str(catalog_for(one, {"jobs"}, workdir))])
    tap_start = counted([*TAP, "--config", str(one), "--catalog", str(catalog_for(one, set(), workdir))])
    bare = counted([PY, str(HERE / "bare_loop.py"), str(base)])
    bare_start = counted([PY, "-c", "import json, sys, requests"])
    per_tap, per_bare = (tap - tap_start) / jobs, (bare - bare_start) / jobs
    print(
        f"  instructions per record (callgrind, {jobs} records, less start-up), timestamps in {timestamps}: "
        f"tap {per_tap:,.0f}, bare loop {per_bare:,.0f}: tap / bare loop {per_tap / per_bare:.3f}x (goal <= 1.05x)"
    )


def baselines(sandbox: SandboxProcess, network_ids: list, config: Path, workdir: Path, repeat: int, forms: str) -> None:
    """CPU per record over the Getro jobs pages: the tap, a stock SDK stream and a bare loop
    (requests, parse, one json.dumps per record), best of ``repeat`` runs each."""
    jobs = sum(sandbox.counts["jobs"][str(n)] for n in network_ids)
    base_config = write(
        workdir / "baseline-config.json",
        {
            **{k: sandbox.settings[k] for k in ("getro_api_url", "getro_email", "getro_api_token")},
            "network_ids": network_ids,
        },
    )

    def best(command: list[str], name: str) -> float:  # least CPU of a few runs: the least disturbed
        return min(Measured(command, workdir, f"{name}-{i}").cpu for i in range(repeat))

    jobs_catalog = str(catalog_for(config, {"jobs"}, workdir))
    ours = best([*TAP, "--config", str(config), "--catalog", jobs_catalog], "jobs")
    startup_cpu = best(
        [*TAP, "--config", str(config), "--catalog", str(catalog_for(config, set(), workdir))], "startup"
    )
    bare = best([PY, str(HERE / "bare_loop.py"), str(base_config)], "bare")
    bare_startup = best([PY, "-c", "import json, sys, requests"], "bare-startup")
    stock = best([PY, str(HERE / "stock_tap.py"), "--config", str(base_config)], "stock")
    stock_startup = best([PY, "-c", "import singer_sdk, requests"], "stock-startup")
    print(
        f"\nGetro jobs pages, times in {forms}, {jobs} records, best of {repeat} runs: CPU per record "
        "(all of the process | less its start-up)"
    )
    rows = [
        ("tap-jobsources", ours, startup_cpu),
        ("stock SDK stream", stock, stock_startup),
        ("bare loop", bare, bare_startup),
    ]
    for label, cpu, start in rows:
        print(f"  {label:<18}{cpu / jobs * 1e6:>8.1f} us | {(cpu - start) / jobs * 1e6:>6.1f} us")
    net = lambda cpu, start: (cpu - start) / jobs  # noqa: E731
    print(
        f"  tap / bare loop:  {ours / bare:.2f}x | {net(ours, startup_cpu) / net(bare, bare_startup):.2f}x"
        "   (goal <= 1.05x less start-up; CPU seconds move with the machine's load: see the instructions below)"
    )
    print(f"  tap / stock SDK:  {ours / stock:.2f}x | {net(ours, startup_cpu) / net(stock, stock_startup):.2f}x")


def full_run(name: str, sandbox: SandboxProcess, workdir: Path) -> tuple[Measured, Output, Path]:
    config = write(workdir / f"{name}-config.json", {**sandbox.settings, **LIFTED})
    run = Measured([*TAP, "--config", str(config), "--catalog", str(catalog_for(config, None, workdir))], workdir, name)
    return run, Output(run), config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1000, help="sandbox scale (default 1000: about 200k records)")
    parser.add_argument("--networks", type=int, default=5, help="Getro networks (default 5)")
    parser.add_argument("--small-scale", type=int, default=50, help="scale of the small run for RSS (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each baseline comparison (default 3)")
    parser.add_argument("--skip-pacing", action="store_true", help="skip the 30 requests/minute run (about 20 s)")
    parser.add_argument(
        "--skip-instructions", action="store_true", help="skip counting instructions with valgrind (about a minute)"
    )
    parser.add_argument(
        "--medium-scale",
        type=int,
        default=10,
        help="scale of the latency-bound and resume runs (default 10: a medium data set)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tap-jobsources-bench-"))
    print(
        f"tap-jobsources benchmark on {platform.node()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; work files in {workdir}\n"
    )

    small = SandboxProcess(workdir, "--scale", str(args.small_scale), "--networks", str(args.networks))
    try:
        small_run, small_output, _ = full_run("small", small, workdir)
    finally:
        small.stop()

    big = SandboxProcess(workdir, "--scale", str(args.scale), "--networks", str(args.networks))
    try:
        run, output, config = full_run("full", big, workdir)
        total, state = output.total, output.state
        made, least = run.requests_by_stream(), minimum_requests(big.counts)
        from jobsources_sandbox.cli import records_by_stream

        whole = records_by_stream(big.counts)  # what a whole read must emit, by the emulator's count

        startup = Measured(
            [*TAP, "--config", str(config), "--catalog", str(catalog_for(config, set(), workdir))], workdir, "startup"
        )
        print(
            f"Full run: {total} records, {run.cpu:.1f} CPU-s ({total / run.cpu:,.0f} records/CPU-s), "
            f"{run.wall:.1f} s wall, peak RSS {run.rss_mb:.0f} MB, final state {len(json.dumps(state))} bytes. "
            f"Startup alone: {startup.cpu:.2f} CPU-s.\n"
        )
        header = f"{'stream':<18}{'records':>9}{'requests':>10}{'minimum':>9}{'CPU-s':>8}{'rec/CPU-s':>11}"
        print(header + "   (CPU: the stream alone, its unselected parents included, startup included)")
        for stream in sorted(default_streams()):
            alone = Measured(
                [*TAP, "--config", str(config), "--catalog", str(catalog_for(config, {stream}, workdir))],
                workdir,
                f"stream-{stream}",
            )
            n = output.counts[stream]
            if stream not in least:
                flag = "  <- no minimum known: add the stream to minimum_requests"
            else:
                flag = "" if made[stream] == least[stream] else "  <- not the minimum"
            if n != whole.get(stream, n):
                flag += f"  <- the emulator holds {whole[stream]}"
            print(
                f"{stream:<18}{n:>9}{made[stream]:>10}{least.get(stream, 0):>9}{alone.cpu:>8.2f}"
                f"{n / alone.cpu:>11,.0f}{flag}"
            )

        # Baselines over the same Getro jobs pages, in the emulator's mix of time forms, then
        # in the docs' form (UTC, Z), where the tap has no time to convert.
        baselines(big, output.networks, config, workdir, args.repeat, "the emulator's mixed forms")
        docs = SandboxProcess(
            workdir, "--scale", str(args.scale), "--networks", str(args.networks), "--timestamps", "docs"
        )
        try:
            docs_config = write(workdir / "docs-config.json", {**docs.settings, **LIFTED})
            baselines(docs, docs.counts["networks"], docs_config, workdir, args.repeat, "the docs' form (UTC, Z)")
        finally:
            docs.stop()
        if shutil.which("valgrind") and not args.skip_instructions:
            instructions(big, output.networks[0], workdir, "the emulator's mixed forms (Z, +00:00, other offsets)")
            docs = SandboxProcess(workdir, "--scale", str(args.scale), "--networks", "1", "--timestamps", "docs")
            try:
                instructions(docs, docs.counts["networks"][0], workdir, "the docs' form (UTC, Z)")
            finally:
                docs.stop()
    finally:
        big.stop()

    print(
        f"\nPeak RSS: {small_run.rss_mb:.0f} MB at {small_output.total} records, "
        f"{run.rss_mb:.0f} MB at {total} records "
        f"({run.rss_mb / small_run.rss_mb:.2f}x; target <= 1.2x)"
    )

    latency_bound(args.medium_scale)
    resume_cost(args.medium_scale)
    incremental_employments(args.medium_scale)
    moving_lists(args.medium_scale)
    if not args.skip_pacing:
        paced()
    return 0


LATENCY = 0.05  # seconds per answer
CAP = 8  # the server answers 429 past this many requests in flight
GROUPS = ["grp-default", "grp-sales", "grp-alumni"]


def latency_bound(scale: int) -> None:
    """TrackJobChanges and Bindbee at 50 ms an answer, against a server that refuses more than
    8 requests in flight: wall time against the same requests made one after another."""
    sys.path.insert(0, str(HERE.parent))
    from jobsources_sandbox import Sandbox

    print(
        f"\nLatency-bound streams at {LATENCY * 1000:.0f} ms an answer, server cap {CAP} in flight (429 past it), "
        f"scale {scale}: wall from first request to last answer, against requests x latency"
    )
    print(
        f"  {'streams':<26}{'concurrency':>12}{'requests':>10}{'serial s':>10}{'wall s':>8}{'ratio':>7}"
        f"{'peak':>6}{'429s':>6}  records equal to serial"
    )
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, provider, streams in (
            ("ats_jobs", "bindbee", {"ats_jobs"}),
            ("connections, employments", "trackjobchanges", {"connections", "employments"}),
            ("all four", None, {"ats_jobs", "connections", "employments"}),
        ):
            outputs = {}
            for concurrency in (1, CAP):
                with Sandbox(scale=scale, latency=LATENCY, max_in_flight=CAP) as sandbox:
                    names = (provider,) if provider else ("bindbee", "trackjobchanges")
                    settings = {
                        **sandbox.settings(*names),
                        "trackjobchanges_group_ids": GROUPS,
                        "trackjobchanges_max_concurrency": concurrency,
                        "bindbee_max_concurrency": concurrency,
                    }
                    config = write(Path(tmp) / "config.json", settings)
                    catalog = catalog_for(config, streams, Path(tmp))
                    out = subprocess.run(
                        [*TAP, "--config", str(config), "--catalog", str(catalog)],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    log = list(sandbox.log)
                    wall = log[-1].time + LATENCY - log[0].time
                    serial = len(log) * LATENCY
                    capped = sum(1 for r in log if r.fault == "cap")
                    outputs[concurrency] = sorted(
                        line
                        for line in out.splitlines()
                        if '"type":"RECORD"' in line
                        for line in [re.sub(r',"time_extracted":"[^"]*"', "", line)]
                    )
                    same = "yes" if outputs[concurrency] == outputs[1] else "NO"
                    print(
                        f"  {label:<26}{concurrency:>12}{len(log):>10}{serial:>10.1f}{wall:>8.1f}"
                        f"{wall / serial:>6.2f}x{sandbox.peak_in_flight:>6}{capped:>6}  {same}"
                    )
                    totals[(label, concurrency)] = wall / serial
    print(
        f"  goal: all four at concurrency {CAP} <= 0.30x their serial time (measured {totals[('all four', CAP)]:.2f}x)"
    )


def resume_cost(scale: int) -> None:
    """A full sync killed half way (SIGKILL) and resumed from its last STATE: what is asked again."""
    sys.path.insert(0, str(HERE.parent))
    from jobsources_sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox(scale=scale) as sandbox:
        settings = {**sandbox.settings(), **LIFTED, "getro_page_size": 20, "bindbee_page_size": 20}
        config = write(Path(tmp) / "config.json", settings)
        catalog = catalog_for(config, None, Path(tmp))
        command = [*TAP, "--config", str(config), "--catalog", str(catalog)]
        clean = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        total = clean.count('"type":"RECORD"')
        clean_requests = len(sandbox.log)
        sandbox.clear_log()

        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        seen, state = 0, None
        for line in proc.stdout:
            seen += '"type":"RECORD"' in line
            if line.startswith('{"type":"STATE"'):
                state = json.loads(line)["value"]
            if seen >= total // 2:
                proc.kill()
                break
        proc.wait()
        killed = [
            (r.path, tuple(sorted(r.query.items())), r.headers.get("x-connector-token"))
            for r in sandbox.log
            if r.status == 200
        ]
        sandbox.clear_log()
        state_path = write(Path(tmp) / "state.json", state)
        subprocess.run([*command, "--state", str(state_path)], capture_output=True, text=True, check=True)
        resumed = [(r.path, tuple(sorted(r.query.items())), r.headers.get("x-connector-token")) for r in sandbox.log]
        left = Counter(killed)
        repeated = []
        for key in resumed:
            if left[key]:
                left[key] -= 1
                repeated.append(key)
    print(
        f"\nResume, scale {scale}: a clean sync makes {clean_requests} requests; one killed at {seen} of {total} "
        f"records had made {len(killed)}; resumed from its last STATE it made {len(resumed)}, of which "
        f"{len(repeated)} asked again ({', '.join(sorted({k[0] for k in repeated})) or 'none'}); "
        f"state {len(json.dumps(state))} bytes."
    )


def incremental_employments(scale: int) -> None:
    """A second TrackJobChanges run after 5% of connections changed jobs, were re-checked or were
    added: the employments pages it asks for, against the goal, in both list shapes; and whether
    a target that upserts what both runs sent ends with the emulator's employments."""
    sys.path.insert(0, str(HERE.parent))
    from datetime import UTC, datetime, timedelta

    from jobsources_sandbox import Sandbox

    print(f"\nIncremental employments, scale {scale}: a second run after 5% of connections changed or were added")
    for shape in ("detail", "docs"):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Sandbox(scale=scale * 4, trackjobchanges_options={"list_shape": shape}) as sandbox,
        ):
            api = sandbox.trackjobchanges
            group = next(iter(api.connections))
            config = write(Path(tmp) / "config.json", sandbox.settings("trackjobchanges"))
            command = [*TAP, "--config", str(config)]
            first = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            state = [json.loads(line)["value"] for line in first.splitlines() if line.startswith('{"type":"STATE"')][-1]
            connections = list(api.connections[group])
            touched = max(2, math.ceil(len(connections) * 0.05))
            added = max(1, touched // 4)
            when = datetime.now(UTC) + timedelta(minutes=1)
            for i, connection in enumerate(connections[: touched - added]):
                (api.change_job if i % 2 == 0 else api.recheck)(connection["id"], when)
            for _ in range(added):
                api.add_connection(group, when)
            sandbox.clear_log()
            state_path = write(Path(tmp) / "state.json", state)
            second = subprocess.run([*command, "--state", str(state_path)], capture_output=True, text=True, check=True)
            pages = sum(1 for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments"))
            ended: dict = {}
            for line in first.splitlines() + second.stdout.splitlines():
                if line.startswith('{"type":"RECORD","stream":"employments"'):
                    record = json.loads(line)["record"]
                    ended[record["id"]] = record
            expected = {e["id"]: e for c in api.connections[group] for e in api.employments[c["id"]]}
            whole = set(ended) == set(expected) and all(
                ended[k]["current"] == v["current"] and ended[k]["ended_at"] == v["ended_at"]
                for k, v in expected.items()
            )
            changed = touched - added
            goal = 1.1 * (changed + added) + 2
            label = "list carries the fields" if shape == "detail" else "docs' list shape"
            flagged = sum(1 for c in api.connections[group] if c.get("has_new_job") is True)
            verdict = f"goal <= {goal:.1f}" if shape == "detail" else f"{flagged} flagged has_new_job, read each run"
            print(
                f"  {label:<26}{len(api.connections[group]):>5} connections, {changed} changed + {added} new: "
                f"{pages} employments pages ({verdict}); employments equal to the emulator: {'yes' if whole else 'NO'}"
            )


def moving_lists(scale: int) -> None:
    """Lists that lose their first item after each page answered (a job deactivated, a connection
    dropped), 5 times a list: the extra requests the reader makes to read again what shifted, per
    change, and whether every row listed for the whole read arrived."""
    sys.path.insert(0, str(HERE.parent))
    from jobsources_sandbox import Sandbox
    from jobsources_sandbox.misbehaviour import Misbehaviour

    def run(misbehaviour: Misbehaviour) -> tuple[int, set, set, int]:
        with tempfile.TemporaryDirectory() as tmp, Sandbox(scale=scale * 4, misbehaviour=misbehaviour) as sandbox:
            getro, tjc = sandbox.getro, sandbox.trackjobchanges
            group = next(iter(tjc.connections))

            def listed() -> set:
                jobs = {("jobs", n, j["id"]) for n, items in getro.jobs.items() for j in items}
                companies = {("companies", n, c["objectID"]) for n, items in getro.companies.items() for c in items}
                return jobs | companies | {("connections", c["id"]) for c in tjc.connections[group]}

            before = listed()
            config = {**sandbox.settings("getro", "trackjobchanges"), **LIFTED, "getro_page_size": 10}
            path = write(Path(tmp) / "config.json", config)
            catalog = catalog_for(path, {"networks", "companies", "jobs", "connections"}, Path(tmp))
            out = subprocess.run(
                [*TAP, "--config", str(path), "--catalog", str(catalog)], capture_output=True, text=True, check=True
            ).stdout
            got = set()
            for line in out.splitlines():
                if line.startswith('{"type":"RECORD"'):
                    m = json.loads(line)
                    r = m["record"]
                    got.add(
                        (m["stream"], r["id"])
                        if m["stream"] == "connections"
                        else (m["stream"], r.get("network_id"), r["id"])
                    )
            lists = 2 * len(getro.networks) + 1
            return len(sandbox.log), before & listed(), got, lists

    still, _, _, _ = run(Misbehaviour())
    moving, stayed, got, lists = run(Misbehaviour(drop_first=5))
    changes = 5 * lists
    print(
        f"\nLists that move while read, scale {scale}: {lists} lists (companies and jobs of each network, the "
        f"connections), each losing its first item after each of its first 5 pages: {changes} changes; "
        f"{moving} requests against {still} for the same lists holding still: {moving - still} extra, "
        f"{(moving - still) / changes:.2f} per change; every row listed for the whole read arrived: "
        f"{'yes' if stayed <= got else 'NO'}"
    )


def paced() -> None:
    """A Getro sync at the default 30 requests/minute, against a sandbox that answers 429 past 30."""
    sys.path.insert(0, str(HERE.parent))
    from jobsources_sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox(scale=1, networks=1, getro_rate_limit=30) as sandbox:
        config = write(Path(tmp) / "config.json", sandbox.settings("getro"))
        subprocess.run([*TAP, "--config", str(config)], check=True, capture_output=True)
        times = [r.time for r in sandbox.requests_to("getro")]
        statuses = Counter(r.status for r in sandbox.requests_to("getro"))
    span, ideal = times[-1] - times[0], (len(times) - 1) * 2.0
    print(
        f"\nPaced Getro sync at the default 30/min: {len(times)} requests in {span:.2f} s from first to last; "
        f"(requests - 1) x 2 s = {ideal:.1f} s ({(span / ideal - 1) * 100:+.1f}%; target within 5%); "
        f"429 answers: {statuses.get(429, 0)}"
    )


if __name__ == "__main__":
    sys.exit(main())
