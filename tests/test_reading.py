"""The reader's page loop against lists that move, pages that lie and totals that disagree, with a
fake stream and an in-memory list server (no HTTP, no process): what each check proves, and what
it costs. The same behaviours against the emulator over HTTP are in tests/test_moving_lists.py."""

from __future__ import annotations

import logging
import signal
import typing as t
from datetime import UTC, datetime

import pytest
from singer_sdk import metrics

from tap_jobsources.bindbee.streams import cursor_info as bindbee_cursor_info
from tap_jobsources.checkpoint import Checkpoint
from tap_jobsources.completeness import Proof
from tap_jobsources.concurrency import AdaptiveLimit, Workers
from tap_jobsources.errors import FatalAPIError
from tap_jobsources.getro.paging import list_info, talent_info
from tap_jobsources.pacing import Pacer
from tap_jobsources.paging import CursorPages, NumberedPages, Page, PageInfo, Paging
from tap_jobsources.plugin import ProviderOptions, providers
from tap_jobsources.reading import LIST, Reader
from tap_jobsources.redaction import Secrets
from tap_jobsources.runtime import ProviderServices, Runtime
from tap_jobsources.settings import Settings
from tap_jobsources.signals import RunStopped, StopFlag
from tap_jobsources.state import RunState

LOG = logging.getLogger("test-reading")


class ListServer:
    """A page-numbered list as Getro serves one: ``items[(page-1)*size : page*size]`` and a total.
    ``after_answer(server, page)`` may change the list after each answer (a list that moves)."""

    def __init__(self, count: int, size: int, **options: t.Any) -> None:
        self.items = [{"id": i} for i in range(count)]
        self.size = size
        self.asked: list[int] = []
        self.after_answer: t.Callable[[ListServer, int], None] = options.get("after_answer", lambda s, p: None)
        self.total: t.Callable[[ListServer], int | None] = options.get("total", lambda s: len(s.items))
        self.empty_once: set[int] = set(options.get("empty_once", ()))
        self.always_empty: set[int] = set(options.get("always_empty", ()))
        self.short_once: set[int] = set(options.get("short_once", ()))
        self.always_short: set[int] = set(options.get("always_short", ()))
        self.text_ids_from: int | None = options.get("text_ids_from")
        self.meta: t.Callable[[ListServer, int], dict] | None = options.get("meta")

    def answer(self, page: int) -> dict:
        self.asked.append(page)
        items = self.items[(page - 1) * self.size : page * self.size]
        if page in self.empty_once:
            self.empty_once.discard(page)
            items = []
        if page in self.always_empty:
            items = []
        if page in self.short_once:
            self.short_once.discard(page)
            items = items[: len(items) // 2]
        if page in self.always_short:
            items = items[: len(items) // 2]
        if self.text_ids_from is not None and page >= self.text_ids_from:
            items = [{**i, "id": str(i["id"])} for i in items]  # a rolling deploy: ids as text from here on
        meta = self.meta(self, page) if self.meta else {"total": self.total(self)}
        payload = {"items": [dict(i) for i in items], "meta": meta}
        self.after_answer(self, page)
        return payload


class FakeSender:
    def __init__(self, answer: t.Callable[[t.Any], t.Any]) -> None:
        self.answer = answer

    def send(self, prepared: t.Any, extract: t.Any) -> Page:
        payload = self.answer(prepared)
        return Page(extract(payload, None), payload=payload)


class FakeStream:
    """What the reader asks of a stream, and no more."""

    name = "jobs"
    replication_key = None
    replication_method = "FULL_TABLE"
    skip_on: t.ClassVar[dict] = {}
    strategy = LIST
    proof = Proof.TOTAL
    prefetched = False
    prefetch_partitions = False
    read_ahead = 0
    partitions = None
    read_children: t.ClassVar[tuple] = ()
    descendants: t.ClassVar[tuple] = ()
    provider_name = "Getro"
    logger = LOG

    def __init__(self, answer: t.Callable[[t.Any], t.Any], paging: Paging) -> None:
        self.sender = FakeSender(answer)
        self._paging = paging
        self.reader: Reader

    def paging(self) -> Paging:
        return self._paging

    def request(self, part: t.Any, token: t.Any = None, path: str | None = None) -> t.Any:
        return token

    def extract(self, payload: t.Any, response: t.Any) -> list[dict]:
        return payload["items"]

    def item_key(self, item: dict) -> t.Any:
        return item.get("id")

    def request_counter(self, context: t.Any) -> metrics.Counter:
        return metrics.Counter(metrics.Metric.HTTP_REQUEST_COUNT, {})

    def generate_child_contexts(self, record: dict, context: t.Any) -> t.Iterable[t.Any]:
        return ()

    def get_context_state(self, context: t.Any) -> dict:
        return {}


class Sink:
    def __init__(self) -> None:
        self.states: list[dict] = []

    def write_message(self, message: t.Any) -> None:
        import json

        self.states.append(json.loads(json.dumps(message.to_dict()["value"])))


def settings(**overrides: t.Any) -> Settings:
    values: dict[str, t.Any] = {
        "start_date": None,
        "request_timeout": 10.0,
        "retry_max_attempts": 3,
        "retry_backoff_seconds": 0.001,
        "max_response_bytes": 1 << 20,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
        "resume_within_hours": 24.0,
        "progress_interval_seconds": 30.0,
        "on_invalid_primary_key": "fail",
        "max_pages_per_partition": 1000,
        "schema_only": False,
        "user_agent": None,
        "providers": {},
    }
    return Settings(**{**values, **overrides})


def reader_for(
    answer: t.Callable[[t.Any], t.Any], paging: Paging, state: dict | None = None, **setting: t.Any
) -> tuple[Reader, FakeStream, Runtime, Sink]:
    state = state if state is not None else {"bookmarks": {}}
    sink = Sink()
    run_state = RunState(state, version=1, run_start=datetime.now(UTC), within_hours=24, sections=(), logger=LOG)
    runtime = Runtime(settings(**setting), state=run_state, checkpoint=Checkpoint(sink, state), stop=StopFlag())
    services = ProviderServices(
        provider=providers()[0],
        options=ProviderOptions(api_url="http://127.0.0.1:9"),
        session=t.cast(t.Any, None),
        pacer=Pacer(None),
        limit=AdaptiveLimit(1),
        workers=Workers(1, "test"),
        secrets=Secrets(),
    )
    stream = FakeStream(answer, paging)
    stream.reader = Reader(t.cast(t.Any, stream), runtime, services)
    return stream.reader, stream, runtime, sink


def read(server: ListServer, paging: Paging | None = None, **kwargs: t.Any) -> tuple[list[int], Runtime, Reader]:
    reader, _, runtime, _ = reader_for(server.answer, paging or NumberedPages(list_info, size=server.size), **kwargs)
    ids = [r["id"] for r in reader.records(None)]
    return ids, runtime, reader


# Paging as the documents say -------------------------------------------------------------------


def test_a_list_ends_at_its_total_without_an_empty_request_and_is_proven():
    server = ListServer(20, 10)
    ids, runtime, _ = read(server)
    assert ids == list(range(20))
    assert server.asked == [1, 2]  # the total reached: no third, empty request
    assert not runtime.ledger.incomplete


def test_without_a_total_a_short_page_ends_the_list_but_the_read_is_not_proven():
    server = ListServer(15, 10, meta=lambda s, p: {})
    ids, runtime, _ = read(server)
    assert ids == list(range(15))
    assert server.asked == [1, 2]
    assert "gave no total" in runtime.ledger.incomplete["jobs"][0]


def test_a_server_that_caps_pages_below_per_page_is_paged_to_its_total():
    server = ListServer(120, 50)  # serves 50 a page although 100 are asked
    ids, runtime, _ = read(server, NumberedPages(list_info, size=100))
    assert ids == list(range(120))
    assert server.asked == [1, 2, 3]
    assert not runtime.ledger.incomplete


def test_talent_pages_follow_next_page_and_total_items():
    def meta(server: ListServer, page: int) -> dict:
        pages = -(-len(server.items) // server.size)
        return {
            "total_items": len(server.items),
            "total_pages": pages,
            "current_page": page,
            "next_page": page + 1 if page < pages else None,
        }

    server = ListServer(5, 2, meta=meta)
    ids, runtime, _ = read(server, NumberedPages(talent_info, size=2))
    assert ids == list(range(5))
    assert server.asked == [1, 2, 3]
    assert not runtime.ledger.incomplete


# Lists that move while they are read ------------------------------------------------------------


def losing_first_item(times: int) -> t.Callable[[ListServer, int], None]:
    """After each answer, the list loses its first item (a job deactivated), ``times`` times."""
    left = {"n": times}

    def change(server: ListServer, page: int) -> None:
        if left["n"] and server.items:
            left["n"] -= 1
            server.items.pop(0)

    return change


@pytest.mark.parametrize("count", [95, 40, 100])
def test_a_list_losing_its_first_item_after_each_page_loses_nothing_that_stayed_listed(count):
    # 40 and 100: the items read and then removed must not pass for positions read (the list ends by
    # position, not by the number of items seen).
    server = ListServer(count, 10, after_answer=losing_first_item(5))
    stayed = [i["id"] for i in server.items[5:]]  # listed for the whole read
    ids, runtime, reader = read(server)
    assert set(stayed) <= set(ids), sorted(set(stayed) - set(ids))
    assert len(ids) == len(set(ids))  # none twice
    assert not runtime.ledger.incomplete  # proven: every shrink was read again
    # What it cost: about one page read again per change (the benchmark reports the same figure).
    assert len(server.asked) - -(-count // 10) <= 5 + 2, server.asked


def test_without_the_read_again_such_a_list_would_lose_rows():
    """The same list read page after page with no look back loses one row per change: what the
    check above prevents (this is the failure the tap had)."""
    server = ListServer(95, 10, after_answer=losing_first_item(5))
    stayed = {i["id"] for i in server.items[5:]}
    seen: set[int] = set()
    page = 1
    while True:
        items = server.answer(page)["items"]
        seen |= {i["id"] for i in items}
        if len(items) < 10:
            break
        page += 1
    assert stayed - seen


def test_a_list_that_keeps_moving_is_named_unproven_at_a_bounded_cost(caplog):
    server = ListServer(200, 10, after_answer=losing_first_item(10_000))
    ids, runtime, _ = read(server)
    reasons = runtime.ledger.incomplete["jobs"]
    assert any("kept moving" in r for r in reasons), reasons
    assert len(server.asked) <= 2 * 20 + 5  # never more than about twice the pages
    assert "could not prove the read complete" in caplog.text
    assert "No ACTIVATE_VERSION for jobs" in caplog.text


def test_a_list_that_grows_before_the_read_position_is_proven_and_its_shifted_row_is_sent_again():
    def grow(server: ListServer, page: int) -> None:
        if page == 1:
            server.items.insert(0, {"id": 1000})  # a new job at the top

    server = ListServer(25, 10, after_answer=grow)
    ids, runtime, _ = read(server)
    assert set(range(25)) <= set(ids)
    assert [i for i in ids if ids.count(i) > 1] == [9, 9]  # the row pushed onto page 2: upserted, never dropped
    assert not runtime.ledger.incomplete


# Pages and totals that lie ----------------------------------------------------------------------


def test_an_empty_page_where_the_total_says_more_is_asked_again():
    server = ListServer(250, 100, empty_once={2})
    ids, runtime, _ = read(server)
    assert ids == list(range(250))
    assert server.asked == [1, 2, 2, 3]
    assert not runtime.ledger.incomplete


def test_a_short_page_after_full_ones_is_asked_again_and_nothing_goes_out_twice():
    server = ListServer(30, 10, short_once={2})
    ids, runtime, _ = read(server)
    assert ids == list(range(30))
    assert server.asked == [1, 2, 2, 3]
    assert not runtime.ledger.incomplete


def test_a_page_that_stays_empty_where_the_total_says_more_is_named_and_retires_nothing(caplog):
    server = ListServer(250, 100, always_empty={2})
    ids, runtime, _ = read(server)
    assert ids == list(range(100))
    reason = runtime.ledger.incomplete["jobs"][0]
    assert "page 2 came back empty 3 times" in reason
    assert "250" in reason
    assert "Getro jobs: could not prove the read complete" in caplog.text


def test_a_total_below_what_the_pages_hold_does_not_end_the_list():
    server = ListServer(250, 100, total=lambda s: 150)
    ids, runtime, _ = read(server)
    assert ids == list(range(250))
    assert server.asked == [1, 2, 3]
    assert not runtime.ledger.incomplete


def test_a_total_above_what_the_list_holds_is_named():
    server = ListServer(250, 100, total=lambda s: 300)
    ids, runtime, _ = read(server)
    assert ids == list(range(250))
    assert "read 250 items where the list's total says 300" in runtime.ledger.incomplete["jobs"][0]


def test_last_page_false_on_an_empty_page_is_asked_again_then_named():
    def meta(server: ListServer, page: int) -> dict:
        return {}

    pages = {1: [{"id": i} for i in range(25)], 2: [], 3: [{"id": i} for i in range(25, 50)]}
    asked: list[int] = []

    def answer(page: int) -> dict:
        asked.append(page)
        return {"items": pages.get(page, []), "last_page": page >= 3, "total_count": 50}

    def info(payload: t.Any) -> PageInfo:
        return PageInfo(total=payload["total_count"], last=payload["last_page"])

    reader, _, runtime, _ = reader_for(answer, NumberedPages(info))
    ids = [r["id"] for r in reader.records(None)]
    assert ids == list(range(25))
    assert asked == [1, 2, 2, 2]
    assert "page 2 came back empty" in runtime.ledger.incomplete["jobs"][0]


# Resume -----------------------------------------------------------------------------------------


def resume_state(page: int, items: int, total: int | None, last_ids: list | None = None) -> dict:
    entry: dict[str, t.Any] = {"page": page, "items": items}
    if total is not None:
        entry["total"] = total
    if last_ids is not None:
        entry["last_ids"] = [str(i) for i in last_ids]
    return {
        "bookmarks": {},
        "resume": {
            "version": 1,
            "written": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "streams": {"jobs": {"": entry}},
        },
    }


def test_a_resumed_read_starts_at_the_saved_page():
    server = ListServer(30, 10)
    ids, runtime, _ = read(server, state=resume_state(2, 10, 30))
    assert ids == list(range(10, 30))
    assert server.asked == [2, 3]
    assert not runtime.ledger.incomplete


def test_a_resumed_read_whose_list_shrank_since_reads_again_what_shifted():
    server = ListServer(30, 10)
    del server.items[3:6]  # three jobs deactivated between the failed run and its resume
    ids, runtime, _ = read(server, state=resume_state(2, 10, 30, last_ids=list(range(10))))
    assert {10, 11, 12} <= set(ids)  # they moved onto page 1, which the resumed run reads again
    assert 1 in server.asked
    assert not runtime.ledger.incomplete


def test_a_resumed_read_counts_an_item_read_before_the_interruption_once():
    """Two items added at the head push the last two of page 1 onto page 2: they came before the
    interruption and again after it, and are counted once (the read falls short of the total by the
    two new items, which the growth allows)."""
    server = ListServer(30, 10)
    server.items[0:0] = [{"id": 100}, {"id": 101}]
    reader, _, runtime, _ = reader_for(
        server.answer, NumberedPages(list_info, size=10), state=resume_state(2, 10, 30, last_ids=list(range(10)))
    )
    part = reader.partition(None)
    list(reader.list_pages(part))
    assert (part.check.count, part.check.duplicates) == (30, 2)


def test_a_resumed_read_of_a_list_that_moved_without_the_ids_of_its_last_page_is_not_proven():
    """An older state keeps no ids of the page read last: an item read before the interruption that
    came again cannot be told from a new one, so a list that moved proves nothing."""
    server = ListServer(30, 10)
    del server.items[3:6]
    _, runtime, _ = read(server, state=resume_state(2, 10, 30))
    assert "moved by 3 items across or after the interruption" in runtime.ledger.incomplete["jobs"][0]


# Cursors ------------------------------------------------------------------------------------------


def cursor_list(cursors: list[t.Any]) -> t.Callable[[t.Any], dict]:
    def answer(token: t.Any) -> dict:
        index = 0 if token is None else cursors.index(token) + 1
        return {"items": [{"id": index}], "cursor": cursors[index] if index < len(cursors) else None}

    return answer


def cursor_info(payload: t.Any) -> PageInfo:
    return PageInfo(cursor=payload.get("cursor"))


def test_a_cursor_list_ends_at_a_null_cursor_and_is_proven():
    reader, _, runtime, _ = reader_for(cursor_list(["a", "b"]), CursorPages(cursor_info))
    assert [r["id"] for r in reader.records(None)] == [0, 1, 2]
    assert not runtime.ledger.incomplete


def test_a_cursor_cycle_or_a_cursor_that_is_an_object_stops_with_one_clear_error():
    reader, _, _, _ = reader_for(cursor_list(["a", "b", "a"]), CursorPages(cursor_info))
    with pytest.raises(FatalAPIError, match="pagination cycle"):
        list(reader.records(None))

    def object_cursor(token: t.Any) -> dict:
        return {"items": [{"id": 1}], "cursor": {"offset": 5}}

    reader, _, _, _ = reader_for(object_cursor, CursorPages(cursor_info))
    with pytest.raises(FatalAPIError, match="cursor that is a dict, not a token"):
        list(reader.records(None))


def test_a_cursor_list_that_leads_back_to_its_start_under_new_cursors_stops_after_three_repeated_pages():
    asked: list[int] = []

    def looping(token: t.Any) -> dict:  # three items, one a page, then the same again under new cursors
        number = int(token or 0)
        asked.append(number)
        return {"items": [{"id": number % 3}], "cursor": str(number + 1)}

    reader, _, _, _ = reader_for(looping, CursorPages(cursor_info))
    with pytest.raises(FatalAPIError, match=r"pages 4 to 6 held only items already read, each under a new cursor"):
        list(reader.records(None))
    assert asked == [0, 1, 2, 3, 4, 5]


def test_cursor_pages_that_repeat_some_items_among_new_ones_are_read_to_the_end():
    def overlapping(token: t.Any) -> dict:  # each page repeats the item before it, as a list that grew
        number = int(token or 0)
        return {"items": [{"id": number}, {"id": number + 1}], "cursor": str(number + 1) if number < 9 else None}

    reader, _, runtime, _ = reader_for(overlapping, CursorPages(cursor_info))
    assert len({r["id"] for r in reader.records(None)}) == 11
    assert not runtime.ledger.incomplete


def test_a_page_cap_stops_a_list_that_never_ends():
    server = ListServer(10_000, 1, total=lambda s: None)
    reader, _, _, _ = reader_for(server.answer, NumberedPages(list_info, size=1), max_pages_per_partition=5)
    with pytest.raises(FatalAPIError, match="more than 5 pages"):
        list(reader.records(None))


# Progress and the checkpoint -----------------------------------------------------------------------


def test_progress_moves_only_after_a_pages_records_and_the_checkpoint_hears_each_page():
    server = ListServer(4, 2)
    reader, _, _, sink = reader_for(server.answer, NumberedPages(list_info, size=2))
    seen = []
    for record in reader.records(None):
        seen.append(record["id"])
        # While a record is out, no STATE yet claims its page.
        assert all(s["resume"]["streams"]["jobs"][""].get("items", 0) < len(seen) + 1 for s in sink.states)
    assert seen == [0, 1, 2, 3]
    pages = [s["resume"]["streams"]["jobs"][""] for s in sink.states]
    assert {"page": 2, "items": 2, "total": 4, "last_ids": [0, 1], "started": pages[1]["started"]} in pages
    assert pages[-1] == {"done": True}


def test_the_reader_stops_at_a_record_boundary_when_the_flag_is_set():
    server = ListServer(4, 2)
    reader, _, runtime, _ = reader_for(server.answer, NumberedPages(list_info, size=2))
    records = reader.records(None)
    assert next(records)["id"] == 0
    runtime.stop.signum = signal.SIGTERM
    with pytest.raises(RunStopped) as stopped:
        next(records)
    assert stopped.value.code == 143
    assert server.asked == [1]


def test_a_bindbee_answer_without_its_cursor_field_ends_the_read_unproven():
    """The docs make ``cursor`` required (string or null): an answer that lacks it says nothing of
    the end, so the read retires nothing (a dropped field must not pass for the last page)."""

    def answer(token: t.Any) -> dict:
        return {"items": [{"id": 1}], "next_cursor": "p2"}

    reader, _, runtime, _ = reader_for(answer, CursorPages(bindbee_cursor_info))
    assert [r["id"] for r in reader.records(None)] == [1]
    assert "came without a cursor field" in runtime.ledger.incomplete["jobs"][0]
    reader, _, runtime, _ = reader_for(cursor_list(["a"]), CursorPages(bindbee_cursor_info))
    assert [r["id"] for r in reader.records(None)] == [0, 1]
    assert not runtime.ledger.incomplete


def test_a_last_page_after_the_total_rose_and_fell_back_is_not_taken_as_proof():
    """Totals 50, 70, 50 and a third page that says it is the last at item 30: the rise allowed for
    items added before the read position, but the list is back to 50 and 20 were never read."""
    totals = iter([50, 70, 50, 50, 50, 50, 50])

    def answer(page: int) -> dict:
        items = [{"id": i} for i in range((page - 1) * 10, min(page * 10, 50))]
        return {"items": items, "last_page": page >= 3, "total_count": next(totals)}

    def info(payload: t.Any) -> PageInfo:
        return PageInfo(total=payload["total_count"], last=payload["last_page"])

    reader, _, runtime, _ = reader_for(answer, NumberedPages(info, size=10))
    assert len([r["id"] for r in reader.records(None)]) < 50
    assert "page 3 says it is the last at item 30 of a list whose total is 50" in runtime.ledger.incomplete["jobs"][0]


def test_an_id_that_is_an_object_is_counted_and_sent_on_for_the_shaper_to_judge():
    server = ListServer(20, 10)
    server.items[3]["id"] = {"x": 1}
    server.items[4]["id"] = [1]
    ids, runtime, _ = read(server)
    assert len(ids) == 20
    assert {"x": 1} in ids
    assert not runtime.ledger.incomplete


def test_a_server_that_ignores_the_page_number_is_stopped_after_three_repeated_pages():
    server = ListServer(25, 10)
    server.answer = lambda page, answer=server.answer: answer(1)  # type: ignore[method-assign]  # the broken server
    reader, _, _, _ = reader_for(server.answer, NumberedPages(list_info, size=10))
    with pytest.raises(FatalAPIError, match=r"pages 2 to 4 held only items already read \(does the API ignore"):
        list(reader.records(None))
    assert server.asked == [1, 1, 1, 1]


def test_pages_pushed_forward_by_a_list_that_grew_by_a_page_or_more_are_not_repeats():
    server = ListServer(40, 10)

    def grow(s: ListServer, page: int) -> None:  # ten new items at the front after pages 1 to 3
        if page <= 3:
            s.items[:0] = [{"id": -10 * page - i} for i in range(1, 11)]

    server.after_answer = grow
    ids, runtime, _ = read(server)  # pages 2 to 4 hold page 1's items again: the list grew by a page each time
    assert set(range(40)) <= set(ids)
    assert server.asked[:4] == [1, 2, 3, 4]
    assert not runtime.ledger.incomplete


def test_a_list_that_grows_by_pages_at_once_is_read_on_not_taken_for_a_repeating_server():
    """A bulk import of 25 items at the head after page 5 (page size 5): the next five pages hold
    only items already read, the growth explains them, and the read goes on to the end."""
    server = ListServer(40, 5)

    def burst(s: ListServer, page: int) -> None:
        if page == 5 and len(s.items) == 40:
            s.items[:0] = [{"id": 1000 + i} for i in range(25)]

    server.after_answer = burst
    ids, runtime, _ = read(server)
    assert set(range(40)) <= set(ids)
    assert not runtime.ledger.incomplete


def test_an_unread_item_gone_and_a_new_one_at_the_head_leave_the_read_proven():
    """Churn on a busy list: its last item taken down after page 1, a new one posted at its head
    after page 3. The total falls and comes back; every item listed for the whole read was read."""
    server = ListServer(30, 8)
    changes = {1: lambda s: s.items.pop(), 3: lambda s: s.items.insert(0, {"id": 999})}

    def churn(s: ListServer, page: int) -> None:
        change = changes.pop(page, None)
        if change:
            change(s)

    server.after_answer = churn
    ids, runtime, _ = read(server)
    assert set(range(29)) <= set(ids)
    assert not runtime.ledger.incomplete


# Seams ------------------------------------------------------------------------------------------


def test_an_id_that_changes_type_between_pages_is_one_item():
    """Two items added at the head after page 1 push 8 and 9 onto page 2, where ids come as text."""

    def grow(server: ListServer, page: int) -> None:
        if page == 1:
            server.items[0:0] = [{"id": 100}, {"id": 101}]

    server = ListServer(20, 10, after_answer=grow, text_ids_from=2)
    reader, _, _, _ = reader_for(server.answer, NumberedPages(list_info, size=10))
    part = reader.partition(None)
    list(reader.list_pages(part))
    assert (part.check.count, part.check.duplicates) == (20, 2)


def test_a_page_that_stays_short_is_not_excused_by_growth_elsewhere():
    """Page 2 keeps coming back with half its items while the list grows by as many at its end: the
    count reaches the total less the growth, but the page itself says items are missing."""

    def grow(server: ListServer, page: int) -> None:
        if page == 1:
            server.items += [{"id": 100 + i} for i in range(5)]

    server = ListServer(30, 10, after_answer=grow, always_short={2})
    _, runtime, _ = read(server)
    assert "page 2 came back short (5 of 10 items) 3 times" in runtime.ledger.incomplete["jobs"][0]
