"""The collaborators a stream holds, built and tested with fakes, without a tap process:
the checkpoint (the one writer of STATE), the sender, the partition reader, the stop flag."""

from __future__ import annotations

import json
import logging
import signal
import typing as t

import pytest
import requests
from singer_sdk.singerlib import Message, RecordMessage, StateMessage

from tap_jobsources.checkpoint import Checkpoint
from tap_jobsources.concurrency import AdaptiveLimit, Workers
from tap_jobsources.errors import FatalAPIError, RetriableAPIError
from tap_jobsources.pacing import Pacer
from tap_jobsources.plugin import ProviderOptions, providers
from tap_jobsources.redaction import Secrets
from tap_jobsources.runtime import ProviderServices
from tap_jobsources.sending import Sender, SendSettings
from tap_jobsources.signals import RunStopped, StopFlag
from tap_jobsources.stats import StreamStats

LOG = logging.getLogger("test")


class Sink:
    """A message writer that keeps what it was given, as lines."""

    def __init__(self) -> None:
        self.lines: list[dict] = []

    def write_message(self, message: Message) -> None:
        self.lines.append(json.loads(json.dumps(message.to_dict())))

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.lines if m["type"] == "STATE"]


# The checkpoint -------------------------------------------------------------------------


def test_a_state_waits_while_records_wait_for_a_file_and_follows_the_files():
    sink, state = Sink(), {"bookmarks": {}}
    files: list[list[dict]] = []
    checkpoint = Checkpoint(sink, state)
    buffer = checkpoint.buffer("jobs", 3, files.append)
    checkpoint.gathered(buffer, {"id": 1})
    state["bookmarks"]["jobs"] = {"page": 2}
    checkpoint.due()  # a record waits for a file: held
    assert sink.states == []
    assert checkpoint.held == 1
    checkpoint.gathered(buffer, {"id": 2})
    checkpoint.gathered(buffer, {"id": 3})  # full: the file, then the held STATE
    assert files == [[{"id": 1}, {"id": 2}, {"id": 3}]]
    assert sink.states == [{"bookmarks": {"jobs": {"page": 2}}}]


def test_a_full_buffer_closes_every_streams_files_first():
    sink, state = Sink(), {}
    files: dict[str, list[list[dict]]] = {"a": [], "b": []}
    checkpoint = Checkpoint(sink, state)
    a = checkpoint.buffer("a", 2, files["a"].append)
    b = checkpoint.buffer("b", 100, files["b"].append)
    checkpoint.gathered(b, {"id": "b1"})
    checkpoint.due()
    checkpoint.gathered(a, {"id": "a1"})
    checkpoint.gathered(a, {"id": "a2"})
    assert files == {"a": [[{"id": "a1"}, {"id": "a2"}]], "b": [[{"id": "b1"}]]}
    assert len(sink.states) == 1
    assert checkpoint.waiting == 0


def test_repeated_states_are_written_once_but_the_final_one_always():
    sink = Sink()
    checkpoint = Checkpoint(sink, {"bookmarks": {"x": 1}})
    checkpoint.due()
    checkpoint.due()
    checkpoint.write_state()  # what the SDK calls
    assert len(sink.states) == 1
    checkpoint.final()
    assert len(sink.states) == 2  # a stopped run's last line is its STATE


def test_the_final_state_closes_the_files_before_it():
    sink, written = Sink(), []
    checkpoint = Checkpoint(sink, {"v": 1})

    def write(records: list[dict]) -> None:
        written.append(records)
        sink.write_message(RecordMessage(stream="batch-file", record={"n": len(records)}))

    checkpoint.gathered(checkpoint.buffer("s", 10, write), {"id": 1})
    checkpoint.final()
    assert [m["type"] for m in sink.lines] == ["RECORD", "STATE"]
    assert written == [[{"id": 1}]]


# The sender -------------------------------------------------------------------------------


class FakeSession:
    """Answers with the canned responses in order, and counts the requests."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.sent = 0

    def send(self, prepared: requests.PreparedRequest, timeout: float, **kwargs: t.Any) -> requests.Response:
        status, body = self.answers.pop(0)
        self.sent += 1
        response = requests.Response()
        response.status_code, response._content, response.request = status, body, prepared
        return response


KEY = "tjk_secret_for_the_sender_test_0001"


def services(session: t.Any, concurrency: int = 1) -> ProviderServices:
    return ProviderServices(
        provider=next(p for p in providers() if p.key == "trackjobchanges"),
        options=ProviderOptions(api_url="http://127.0.0.1:9", secrets=(KEY,)),
        session=session,
        pacer=Pacer(None),
        limit=AdaptiveLimit(concurrency),
        workers=Workers(concurrency, "test"),
        secrets=Secrets([KEY]),
    )


def check(response: requests.Response) -> None:
    if response.status_code >= 500:
        raise RetriableAPIError(f"server error {response.status_code}", response)
    if response.status_code >= 400:
        raise FatalAPIError(f"refused {response.status_code}")


def sender(session: t.Any, attempts: int = 3) -> Sender:
    return Sender(
        services=services(session),
        stream_name="connections",
        logger=LOG,
        stats=StreamStats("connections", "/connections"),
        check=check,
        records_key="data",
        settings=SendSettings(max_attempts=attempts, backoff=0.001, timeout=1),
        stop=StopFlag(),
    )


def prepared() -> requests.PreparedRequest:
    return requests.Request("GET", "http://127.0.0.1:9/connections", params={"page": 1}).prepare()


def extract(payload: t.Any, response: requests.Response) -> list[dict]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise RetriableAPIError("no list", response)
    return payload["data"]


def test_the_sender_retries_a_server_error_and_a_body_without_its_list():
    session = FakeSession((503, b"busy"), (200, b'{"nothing": 1}'), (200, b'{"data": [{"id": 1}]}'))
    page = sender(session).send(prepared(), extract)
    assert page.records == [{"id": 1}]
    assert session.sent == 3


def test_the_sender_gives_up_with_a_message_naming_the_provider_and_endpoint():
    session = FakeSession((500, b"x"), (500, b"x"))
    with pytest.raises(FatalAPIError, match=r"TrackJobChanges GET /connections \(stream connections\).*2 attempts"):
        sender(session, attempts=2).send(prepared(), extract)


def test_the_sender_does_not_retry_a_refusal():
    session = FakeSession((401, b"{}"), (200, b'{"data": []}'))
    with pytest.raises(FatalAPIError, match="refused 401"):
        sender(session).send(prepared(), extract)
    assert session.sent == 1


def test_the_sender_masks_its_providers_secret_echoed_in_a_body(caplog):
    echoed = json.dumps({"data": [{"id": 1, "note": f"key={KEY}"}]}).encode()
    page = sender(FakeSession((200, echoed))).send(prepared(), extract)
    assert KEY not in json.dumps(page.records)
    assert page.records[0]["id"] == 1
    assert "echoed a credential" in caplog.text
    assert KEY not in caplog.text


# The partition reader: tests/test_reading.py


# The stop flag ----------------------------------------------------------------------------


def test_a_first_signal_only_sets_the_flag_outside_a_wait_and_stops_inside_one():
    flag = StopFlag()
    flag._handle(signal.SIGINT, None)  # not waiting: only the flag
    assert flag.stopping
    with pytest.raises(RunStopped) as stopped:
        flag.check()
    assert stopped.value.code == 130
    waiting = StopFlag()
    with pytest.raises(RunStopped), waiting.waiting():
        waiting._handle(signal.SIGTERM, None)  # waiting: at once


def test_a_state_message_is_what_the_checkpoint_writes():
    sink = Sink()
    Checkpoint(sink, {"a": 1}).final()
    assert sink.lines == [StateMessage(value={"a": 1}).to_dict()]


def test_a_second_signal_ends_at_once_but_never_inside_a_line(monkeypatch):
    from tap_jobsources import signals

    exits: list[int] = []
    monkeypatch.setattr(signals, "_hard_exit", exits.append)
    flag = StopFlag()
    flag._handle(signal.SIGTERM, None)
    with flag.writing():
        flag._handle(signal.SIGTERM, None)  # inside a write: it waits for the line to end
        assert exits == []
    assert exits == [143]
    flag._handle(signal.SIGINT, None)  # outside a write: at once
    assert exits == [143, 130]


def test_the_writers_state_line_is_the_sdks_byte_for_byte(capfd):
    from singer_sdk.singerlib import StateMessage

    from tap_jobsources.output import BufferedMsgSpecWriter

    value = {"bookmarks": {"jobs": {"partitions": [{"context": {"network_id": 1}, "x": "é", "n": None}]}}}
    writer = BufferedMsgSpecWriter()
    expected = bytes(writer.format_message(StateMessage(value=value)))
    Checkpoint(writer, value).final()  # the checkpoint writes through write_state
    assert capfd.readouterr().out.encode() == expected
