"""What each of the tap's speed measures buys, each against what the SDK (or requests) would do
in its place, over the same real pages and state.

Each measure is timed on its own (CPU time of this process, best of a few rounds) and printed
in microseconds per record, beside the bare loop's whole cost per record from the main
benchmark for scale. Run from the repository, once `.venv` exists:

    .venv/bin/python bench/measures.py

Not part of the suite; it prints figures and asserts nothing.
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
import time
import typing as t
from pathlib import Path

import requests
from benchmark import LIFTED, TAP, Measured, SandboxProcess, catalog_for, write
from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage
from singer_sdk.singerlib.catalog import MetadataMapping
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter

from tap_jobsources.decoding import decode
from tap_jobsources.output import BufferedMsgSpecWriter
from tap_jobsources.shaping import RecordShaper

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
LOG = logging.getLogger("measures")
LOG.addHandler(logging.NullHandler())
LOG.propagate = False


def best(fn: t.Callable[[], object], per: int) -> float:
    """Least CPU microseconds per item of ``ROUNDS`` calls of ``fn`` over ``per`` items."""
    times = []
    for _ in range(ROUNDS):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times) / per * 1e6


def line(what: str, ours: float, theirs: float, unit: str, alternative: str) -> None:
    print(
        f"  {what:<34}{ours:>8.2f} {unit}  against {theirs:>8.2f} ({alternative}): saves {theirs - ours:>7.2f} {unit}"
    )


class _Sink:
    """stdout for the writers: counts bytes, keeps none."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, data: t.Any) -> int:
        self.n += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tap-jobsources-measures-"))
    sandbox = SandboxProcess(workdir, "--scale", "50", "--networks", "2")
    try:
        settings = sandbox.settings
        network = sandbox.counts["networks"][0]
        session = requests.Session()
        headers = {"X-User-Email": settings["getro_email"], "X-User-Token": settings["getro_api_token"]}
        bodies, page = [], 1
        while True:
            answer = session.get(
                f"{settings['getro_api_url']}/networks/{network}/jobs",
                params={"page": page, "per_page": 100},
                headers=headers,
            )
            bodies.append(answer.content)
            if len(answer.json()["items"]) < 100:
                break
            page += 1
        config = write(workdir / "config.json", {**settings, **LIFTED})
        run = Measured(
            [*TAP, "--config", str(config), "--catalog", str(catalog_for(config, None, workdir))], workdir, "run"
        )
        state = [m["value"] for m in run.messages() if m["type"] == "STATE"][-1]
        employments = sum(1 for m in run.messages() if m["type"] == "RECORD" and m["stream"] == "employments")
    finally:
        sandbox.stop()

    records = [item for body in bodies for item in json.loads(body)["items"]]
    n = len(records)
    schema = json.loads((ROOT / "tap_jobsources/getro/schemas/jobs.json").read_text())
    print(
        f"Getro jobs pages: {len(bodies)} pages, {n} records; the whole bare loop costs about 20 us a record "
        f"(bench/benchmark.py).\nPer record, CPU, best of {ROUNDS} rounds:"
    )

    # 1. Parsing a page: msgspec (decoding.py) against json.
    line(
        "parse a page (msgspec)",
        best(lambda: [decode(b) for b in bodies], n),
        best(lambda: [json.loads(b) for b in bodies], n),
        "us",
        "json.loads",
    )

    # 2. Fitting a record to its schema (dates checked and put in UTC, nested types checked): the
    # pass written out for the schema, against the shaper's general walk, which it short-cuts. The
    # SDK's mask walk and conformance, for scale, check no date and convert no offset.
    copies = [copy.deepcopy(r) for r in records]
    fast = RecordShaper("jobs", schema, LOG, ["id"])
    walk = RecordShaper("jobs", schema, LOG, ["id"])
    walk._fits = lambda record: False
    [fast(r) for r in copies]  # the first pass puts the times in UTC; the rounds measure a fit
    line(
        "fit a record to its schema",
        best(lambda: [fast(r) for r in copies], n),
        best(lambda: [walk(r) for r in copies], n),
        "us",
        "the general walk",
    )
    mask = MetadataMapping.get_standard_metadata(schema=schema, key_properties=["id"]).resolve_selection()

    def sdk() -> None:
        for r in copies:
            pop_deselected_record_properties(r, schema, mask)
            conform_record_data_types("jobs", r, schema, TypeConformanceLevel.RECURSIVE, LOG)

    print(f"  {'':<34}(the SDK's mask walk and conformance, which check no date: {best(sdk, n):.2f} us)")

    # 3. The stream-map step the SDK runs for every record even with no map configured.
    same = SameRecordTransform(stream_alias="jobs", raw_schema=schema, key_properties=["id"], flattening_options=None)
    line("no stream-map step", 0.0, best(lambda: [same.transform(r) for r in copies], n), "us", "SameRecordTransform")

    # 4. Writing a RECORD line: one encode into a buffer, against building a RecordMessage and the
    # SDK's writers (its default json one, and its msgspec one).
    sink = _Sink()
    ours_writer = BufferedMsgSpecWriter()

    def buffered() -> None:
        for r in copies:
            ours_writer.write_record("jobs", r, None)
        ours_writer._buffer.clear()  # measured without the write to stdout

    def through(writer: t.Any) -> t.Callable[[], None]:
        def run_it() -> None:
            for r in copies:
                sink.write(writer.format_message(RecordMessage(stream="jobs", record=r, time_extracted=None)))

        return run_it

    ours = best(buffered, n)
    line("write a RECORD line", ours, best(through(SimpleSingerWriter()), n), "us", "RecordMessage + json writer")
    line("", ours, best(through(MsgSpecWriter()), n), "us", "RecordMessage + SDK msgspec writer")

    # 5. A STATE line once a page (100 records): encoded as it is, against the SDK's encoder,
    # which deep-copies the state first.
    def state_ours() -> None:
        for _ in range(1000):
            ours_writer._buffer += b'{"type":"STATE","value":'
            encoder.encode_into(state, ours_writer._buffer, -1)
            ours_writer._buffer.clear()

    msgspec_writer = MsgSpecWriter()
    ours = best(state_ours, 1000 * 100)
    theirs = best(lambda: [msgspec_writer.format_message(StateMessage(value=state)) for _ in range(1000)], 1000 * 100)
    line(f"a STATE a page ({len(json.dumps(state))} B state)", ours, theirs, "us", "SDK StateMessage, deep copy")

    # 6. Proxies looked up once a session, against requests' look-up on every request (per page).
    proxy_session = requests.Session()
    url = f"{settings['getro_api_url']}/networks/{network}/jobs"
    theirs = best(
        lambda: [proxy_session.merge_environment_settings(url, {}, None, None, None) for _ in range(1000)], 1000 * 100
    )
    line("no proxy look-up per request", 0.0, theirs, "us", "requests' trust_env, per page")

    # 7. One SCHEMA message per stream per run, against one per child partition (employments: one
    # partition per connection).
    employments_schema = json.loads((ROOT / "tap_jobsources/trackjobchanges/schemas/employments.json").read_text())
    message = SchemaMessage(stream="employments", schema=employments_schema, key_properties=["id"])
    schema_line = msgspec_writer.format_message(message)
    per = best(lambda: [msgspec_writer.format_message(message) for _ in range(1000)], 1000)
    connections = sum(1 for m in run.messages() if m["type"] == "RECORD" and m["stream"] == "connections")
    print(
        f"  one SCHEMA per stream: saves, per connection, a {len(schema_line):,} B line and {per:.1f} us "
        f"(here {employments} employments of {connections} connections: "
        f"{len(schema_line) * connections / max(employments, 1):,.0f} B of output a record)"
    )


if __name__ == "__main__":
    main()
