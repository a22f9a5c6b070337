"""Reading a partition: the one page loop every stream runs through.

:class:`Reader` is an object each stream holds. ``records(context)`` (the SDK's ``get_records``)
reads one partition, and is the only part that moves the run's page progress:

- it starts where an interrupted run stopped (``state.RunState``): a finished partition is not
  read again, an unfinished one from the page that was being read, and in a stream with
  children, records whose children had finished are passed over;
- it runs the page loop of the stream's paging (``paging.py``): numbered pages with the checks of
  ``completeness.py`` (a list that shrank while read has the positions that may have shifted read
  again; an empty page where the list says more is asked again, then named; a total below what
  the pages hold is read past), cursor pages with cycle detection, or one answer;
- it moves the progress only after the records it covers were handed on, tells the checkpoint
  after each page (and after each parent record whose children finished), and checks the stop
  flag at each boundary, so a kill costs at most the page being read;
- at the end of the partition: a read it cannot prove complete, or a partition skipped on a status
  the stream declares (``skip_on``), gets one warning and leaves its stream (and the streams below)
  without ACTIVATE_VERSION this run, and its bookmark unmoved; otherwise the bookmark is promoted,
  then the partition marked done (``RunState.finish_partition``);
- where a provider allows requests at once, it fetches ahead: a child partition's first page
  (each connection's employments), the next partitions' first pages, or (``read_ahead``) the next
  partitions' pages on workers; never more than that, so a kill repeats little.

How a partition is read, when it is not "page through the list", is a :class:`Strategy` the
stream declares (Getro networks from a list of ids with a detail each; a detail endpoint alone).
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from tap_jobsources.completeness import ListCheck, Proof, identity
from tap_jobsources.concurrency import PageReader
from tap_jobsources.dates import iso, parse_datetime
from tap_jobsources.errors import FatalAPIError, SkipPartition
from tap_jobsources.paging import SINGLE, Page, PaginationError, Paging, SinglePage
from tap_jobsources.reporting import ProgressLog, partition_label
from tap_jobsources.sending import endpoint_of
from tap_jobsources.state import PartitionProgress, partition_key

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import metrics
    from singer_sdk.helpers.types import Context

    from tap_jobsources.runtime import ProviderServices, Runtime
    from tap_jobsources.sending import Extract, Sender

#: An empty page where the list says there is more is asked again this many times.
EMPTY_RETRIES = 2
#: Pages read again for shifted positions, beyond one per page read forward.
REREAD_ALLOWANCE = 5
#: Pages in a row that hold only items already read (the list not grown by a page) stop the run.
SAME_PAGES = 3
#: Unproven partitions warned about one by one, per stream and run (the rest are counted).
WARNINGS_PER_STREAM = 5


class Readable(t.Protocol):
    """What the reader needs of a stream (``stream.JobSourcesStream``; tests use a small fake)."""

    name: str
    replication_key: str | None
    skip_on: t.ClassVar[t.Mapping[int, str]]
    strategy: t.ClassVar[Strategy]
    proof: t.ClassVar[Proof]
    prefetched: t.ClassVar[bool]
    prefetch_partitions: t.ClassVar[bool]
    read_ahead: t.ClassVar[int]

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def replication_method(self) -> str: ...

    @property
    def partitions(self) -> list[dict] | None: ...

    @property
    def read_children(self) -> t.Sequence[Readable]: ...

    @property
    def descendants(self) -> t.Sequence[Readable]: ...

    @property
    def reader(self) -> Reader: ...

    @property
    def sender(self) -> Sender: ...

    @property
    def provider_name(self) -> str: ...

    def paging(self) -> Paging: ...

    def request(
        self, part: Partition | None, token: t.Any = None, path: str | None = None
    ) -> requests.PreparedRequest: ...

    def extract(self, payload: t.Any, response: requests.Response) -> list[dict]: ...

    def item_key(self, item: dict) -> t.Any: ...

    def request_counter(self, context: Context | None) -> metrics.Counter: ...

    def child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]: ...

    def get_context_state(self, context: Context | None) -> dict: ...


@dataclass
class Partition:
    """One partition being read."""

    context: Context | None
    progress: PartitionProgress
    check: ListCheck
    #: The lower bound of an incremental partition (its bookmark or start_date), read once.
    start: datetime | None
    label: str
    #: When this partition's read began, on the wall clock (an interrupted run's, if resumed).
    began: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Set by the strategy's ``done``: read whole, but its bookmark stays, so the next run reads it again.
    keep_bookmark: bool = False


class Strategy(t.Protocol):
    """How a partition is read (see :data:`LIST` and :class:`OneDetail`)."""

    #: ``record`` gives the item back and ``finished`` does nothing: the reader's short loop.
    plain: bool

    def pages(self, reader: Reader, part: Partition) -> t.Iterator[Page]:
        """The partition's pages (deduplicated; the reader moves progress on them)."""

    def record(self, reader: Reader, part: Partition, item: dict) -> dict | None:
        """The record of an item (None: not read, nor its children)."""

    def finished(self, reader: Reader, part: Partition, item: dict) -> None:
        """The item's record and its children are out."""

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        """The partition was read to its end (``proven``: and proven complete)."""


class ListPages:
    """Page through the list (most streams)."""

    plain = True

    def pages(self, reader: Reader, part: Partition) -> t.Iterator[Page]:
        return reader.list_pages(part)

    def record(self, reader: Reader, part: Partition, item: dict) -> dict | None:
        return item

    def finished(self, reader: Reader, part: Partition, item: dict) -> None:
        pass

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        pass


LIST = ListPages()


class OneDetail(ListPages):
    """A detail endpoint: each partition is one answer, one record (Getro job details)."""

    def pages(self, reader: Reader, part: Partition) -> t.Iterator[Page]:
        yield reader.fetch(part, extract=reader.stream_extract_one)


class RepeatedPages:
    """Forward pages made only of items already read. A list that grows at its head pushes items
    read onto the next pages, as many as it grew by (a bulk import: pages of them); a server that
    ignores the page number sends them with no growth to account for them. Counted over the whole
    streak of such pages, against the growth since the streak began."""

    def __init__(self) -> None:
        self.pages = 0  # pages in a row with more items again than the list grew by
        self.items = 0  # items of the streak
        self.grew_before: int | None = None  # the list's growth before the streak's first answer

    def page(self, raw: int, seen_before: int, grew_before: int, grew_now: int) -> bool:
        """A forward page of ``raw`` items, ``seen_before`` of them read already: True when
        ``SAME_PAGES`` pages in a row repeat more than the list's growth explains."""
        if seen_before < raw:  # something new: no streak
            self.pages, self.items, self.grew_before = 0, 0, None
            return False
        if self.grew_before is None:
            self.grew_before = grew_before
        self.items += raw
        self.pages = self.pages + 1 if self.items > grew_now - self.grew_before else 0
        return self.pages >= SAME_PAGES


class Reader:
    """Reads the partitions of one stream (see the module's docstring)."""

    def __init__(self, stream: Readable, runtime: Runtime, services: ProviderServices) -> None:
        self.stream = stream
        self.state = runtime.state
        self.checkpoint = runtime.checkpoint
        self.stop = runtime.stop
        self.ledger = runtime.ledger
        self.settings = runtime.settings
        self.services = services
        self._prefetched: dict[str, Future[Page]] = {}  # partition -> its first page, fetched ahead
        self._ahead: dict[str, tuple[Partition, PageReader]] = {}  # partition -> its pages, read ahead
        self._warned = 0
        self._counter: metrics.Counter | None = None  # the request metrics of the partition being read

    @property
    def name(self) -> str:
        return self.stream.name

    @property
    def descendant_names(self) -> list[str]:
        return [d.name for d in self.stream.descendants]

    def stream_extract_one(self, payload: t.Any, response: requests.Response) -> list[dict]:
        return t.cast(t.Any, self.stream).extract_one(payload, response)

    # A partition -----------------------------------------------------------------------------

    def records(self, context: Context | None) -> t.Iterator[dict]:
        """The records of one partition (the stream's ``get_records``)."""
        stream = self.stream
        progress = self.state.partition(self.name, context)
        if progress.done:
            stream.logger.info("%s: finished by the interrupted run, not read again.", self._label(context))
            return
        # The partitions before this one are final (their bookmarks promoted): say so now,
        # so a run stopped in this one resumes after them.
        self.checkpoint.due()
        self.state.keep_bookmark(t.cast(t.Any, stream), context)
        ahead = self._ahead.pop(partition_key(context), None)
        part = ahead[0] if ahead else self.partition(context, progress)
        if stream.prefetch_partitions or stream.read_ahead:
            self._look_ahead(context)
        pages: t.Iterable[Page] | None = ahead[1] if ahead else None
        if pages is None and stream.read_ahead and self.services.concurrency > 1:
            pages = self._reader_of(part)
        sdk_stream, below = t.cast(t.Any, stream), t.cast(t.Any, stream.descendants)
        try:
            with stream.request_counter(context) as self._counter:
                yield from self._emit(part, pages)
        except SkipPartition as skip:  # a status the stream declares: skip it with a warning
            stream.logger.warning(stream.skip_on[skip.status].format(stream=self.name, **(part.context or {})))
            self._incomplete(f"{part.label} skipped ({skip.status})")
            self.state.abandon_partition(sdk_stream, context, progress, below)
        else:
            verdict = part.check.verdict(stream.proof)
            stream.strategy.done(self, part, verdict is None)
            if verdict is None and not part.keep_bookmark:
                self.state.finish_partition(sdk_stream, context, progress, below)
            else:
                if verdict is not None:
                    self._unproven(part, verdict)
                self.state.abandon_partition(sdk_stream, context, progress, below)
        self.checkpoint.due()

    def partition(self, context: Context | None, progress: PartitionProgress | None = None) -> Partition:
        """A partition as the reader reads it (made on the thread that reads the state: the main one)."""
        progress = progress or self.state.partition(self.name, context)
        began = progress.entry.setdefault("started", iso(datetime.now(UTC)))
        stream = self.stream
        incremental = stream.replication_key and stream.replication_method == "INCREMENTAL"
        start = (
            self.state.lower_bound(t.cast(t.Any, stream), context, self.settings.start_date) if incremental else None
        )
        return Partition(
            context=context,
            progress=progress,
            check=ListCheck.resuming(progress.items, progress.total, progress.last_ids),
            start=start,
            label=self._label(context),
            began=parse_datetime(began),
        )

    def _emit(self, part: Partition, pages: t.Iterable[Page] | None) -> t.Iterator[dict]:
        stream = self.stream
        strategy = stream.strategy
        progress, stop = part.progress, self.stop
        children = stream.descendants
        names = [c.name for c in children]
        skip_through = _finished(progress) if children else None
        report = ProgressLog(
            stream.logger,
            part.label,
            every=self.settings.progress_interval_seconds,
            done_before=progress.items,
        )
        plain = not children and strategy.plain
        for page in pages if pages is not None else strategy.pages(self, part):
            items = page.records
            if skip_through is not None:
                items = skip_through(items, stream.item_key)
                skip_through = None
            if plain:
                for item in items:
                    yield item
                    stop.check()  # a record boundary: the state covers what is out
            else:
                for item in items:
                    record = strategy.record(self, part, item)
                    if record is None:
                        continue
                    yield record  # the SDK reads its children before it comes back
                    if children:
                        progress.record_done(stream.item_key(item))
                        self.state.forget(names)
                        strategy.finished(self, part, item)
                        self.checkpoint.due()
                    stop.check()
            if page.again:
                continue
            progress.page_done(page.next_token, page.count, part.check.total, page.ids)
            if page.next_token is not None:
                self.checkpoint.due()
            # After the last page the next STATE is the partition's "done": one that said
            # "no next page" would read, to a resumed run, as "from the start".
            report.page(page.count, part.check.total)

    # The page loop ------------------------------------------------------------------------------

    def list_pages(self, part: Partition) -> t.Iterator[Page]:
        """The pages of a partition's list. A resumed partition
        starts at its saved page; if the API no longer accepts it (a cursor that expired), the
        partition is read again from its start (its bookmark has not moved)."""
        paging = self.stream.paging()
        resumed = part.progress.page is not None
        while True:
            loop = self._loop(part, paging)
            try:
                for page in loop:
                    resumed = False
                    yield page
                return
            except FatalAPIError as exc:
                if not resumed:
                    raise
                self.stream.logger.warning(
                    "%s: the saved page was refused (%s); reading the partition again from its start.",
                    part.label,
                    exc,
                )
                part.progress.restart()
                part.check = ListCheck()
                resumed = False

    def _loop(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        if isinstance(paging, SinglePage):
            page = self.fetch(part)
            page.count = len(page.records)
            yield page
            return
        try:
            if paging.numbered:
                yield from self._numbered(part, paging)
            else:
                yield from self._cursor(part, paging)
        except PaginationError as exc:
            request = self.stream.request(part, paging.first)
            endpoint = endpoint_of(request) if hasattr(request, "method") else self.name
            msg = f"{self.stream.provider_name} {endpoint} (stream {self.stream.name}{_where(part)}): {exc}."
            raise FatalAPIError(msg) from None

    def _numbered(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        check, key, cap = part.check, self.stream.item_key, self.settings.max_pages_per_partition
        asked = paging.size  # items per page asked for (None: the server decides)
        size = asked or 0  # positions per page, as far as known
        number = part.progress.page if part.progress.page is not None else paging.first
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise PaginationError(f"the saved page {number!r} is not a page number")
        read_upto = number - 1  # pages read forward
        again: deque[int] = deque()
        ended, tries, forward_pages, full_seen = False, 0, 0, False
        repeated = RepeatedPages()
        while again or not ended:
            forward = not again
            asking = number if forward else again.popleft()
            if forward_pages + check.rereads >= cap:
                raise PaginationError(
                    f"more than {cap} pages in one partition (max_pages_per_partition); stopping instead of "
                    "paging forever"
                )
            page = self._first_or_fetch(part, asking, paging) if forward and forward_pages == 0 else None
            page = page or self.fetch(part, asking, paging)
            raw = page.count = len(page.records)
            if raw > size and asked is None:
                size = raw  # the server's page size, learnt from its fullest page
            grew, dups = check.grew, check.duplicates
            shrank = check.answer(page.info)
            if shrank and read_upto and size:
                self._read_again(check, again, read_upto, size, shrank, forward_pages)
            # A page read again (shifted positions, or the same page asked again) gives only what is new.
            page.records = check.count_page(page.records, key, again=not forward or tries > 0)
            if forward:
                page.ids = [i for i in check.page_ids if type(i) in (int, str)]
            if forward and tries == 0 and raw and repeated.page(raw, check.duplicates - dups, grew, check.grew):
                raise PaginationError(
                    f"pages {asking - SAME_PAGES + 1} to {asking} held only items already read (does the API "
                    "ignore the page number?); stopping instead of reading the same items again"
                )
            self.on_page(page, part.context)
            if not forward:
                check.rereads += 1
                page.again = True
                yield page
                continue
            forward_pages += 1
            end = self._numbered_end(page, asking, raw, size or raw, full_seen)
            if end in ("empty", "short"):  # where the list says there is more: ask again, a few times
                if tries < EMPTY_RETRIES:
                    tries += 1
                    forward_pages -= 1
                    page.again = True  # its records go out, the progress stays on this page
                    self._pause(tries)
                    yield page
                    continue
                holds = check.total if check.total is not None else "more"
                if end == "empty":
                    check.unproven(
                        f"page {asking} came back empty {tries + 1} times while the list says it holds {holds} items"
                    )
                else:  # no growth elsewhere excuses it: the page itself says items are missing
                    check.unproven(
                        f"page {asking} came back short ({raw} of {size} items) {tries + 1} times while the list "
                        f"says it holds {holds} items"
                    )
                end = "end" if end == "empty" else "next"
            read_upto, tries = asking, 0
            full_seen = full_seen or (size > 0 and raw >= size)
            if end == "end":
                ended, page.next_token = True, None
                if asked is not None or forward_pages > 1:  # the page size known, not guessed from this page
                    self._check_last(check, page, asking, raw, size or raw)
            else:
                if 0 < raw < size and not full_seen and page.info.last is not True:
                    size = raw  # a server that caps its pages below what was asked: its page size
                number = page.next_token = asking + 1
            yield page

    @staticmethod
    def _numbered_end(page: Page, number: int, raw: int, size: int, full_seen: bool) -> str:
        """After a forward page: "next", "end", "empty" (empty where the list says there is more) or
        "short" (fewer than a full page, after full pages, where the list says there is more: not a
        server that caps its pages). Decided by positions, as the server pages: a list that lost
        items already read holds fewer positions than the items read."""
        info = page.info
        if info.last is True:
            return "end"
        total = info.total
        before = (number - 1) * size  # positions on the pages before this one
        if raw == 0:
            return "empty" if info.last is False or (total is not None and before < total) else "end"
        reached = before + raw
        if full_seen and raw < size and (info.last is False or (total is not None and reached < total)):
            return "short"
        if info.last is False:
            return "next"
        if total is not None:
            if reached < total:
                return "next"  # short of the total: more pages (a server that caps them below per_page, too)
            if raw < size or reached == total:
                return "end"
            return "next"  # a full page past the total: the total is low, read on to a short page
        return "end" if raw < size else "next"

    @staticmethod
    def _check_last(check: ListCheck, page: Page, number: int, raw: int, size: int) -> None:
        """A page that says it is the last (``last_page``, talent's ``next_page`` null) must stand at
        the end of the list its own total gives: one short of it proves nothing, whatever the list
        grew by before (a total that rose and fell back would otherwise excuse it)."""
        total, reached = page.info.total, (number - 1) * size + raw
        if page.info.last is True and total is not None and reached < total:
            check.unproven(f"page {number} says it is the last at item {reached:,} of a list whose total is {total:,}")

    @staticmethod
    def _read_again(check: ListCheck, again: deque[int], read_upto: int, size: int, shrank: int, forward: int) -> None:
        """The list shrank by ``shrank`` since the answer before: the items that stood just past what
        was read may now stand on the pages already read. Ask for those pages again."""
        frontier = read_upto * size
        first = max(1, (frontier - shrank) // size + 1)
        wanted = [n for n in range(first, read_upto + 1) if n not in again]
        if check.rereads + len(again) + len(wanted) > forward + REREAD_ALLOWANCE:
            if not any("kept moving" in p for p in check.problems):
                check.unproven(
                    f"the list kept moving while read (it shrank by {check.shrank} items; "
                    f"{check.rereads} pages were read again before giving up)"
                )
            return
        again.extend(wanted)

    def _pause(self, attempt: int) -> None:
        with self.stop.waiting():
            time.sleep(min(5.0, self.settings.retry_backoff_seconds * attempt))

    def _cursor(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        check, key, cap = part.check, self.stream.item_key, self.settings.max_pages_per_partition
        token = part.progress.page if part.progress.page is not None else paging.first
        seen = {token}
        count = 0
        repeated = RepeatedPages()
        while True:
            page = (self._first_or_fetch(part, token, paging) if count == 0 else None) or self.fetch(
                part, token, paging
            )
            count += 1
            raw = page.count = len(page.records)
            dups = check.duplicates
            page.records = check.count_page(page.records, key)
            # No total tells a cursor list's growth: every page of only items already read counts.
            looped = bool(raw) and repeated.page(raw, check.duplicates - dups, 0, 0)
            self.on_page(page, part.context)
            following = page.info.cursor
            if following is None or following == "":
                if not page.info.cursor_given:
                    check.unproven(f"page {count} came without a cursor field, so nothing says the list ends there")
                page.next_token = None
                yield page
                return
            if not isinstance(following, (str, int)) or isinstance(following, bool):
                raise PaginationError(
                    f"the API sent a cursor that is a {type(following).__name__}, not a token; stopping"
                )
            if following in seen:
                raise PaginationError(
                    f"the API sent a page token it had already sent after {count} pages "
                    "(a pagination cycle); stopping instead of looping"
                )
            if looped:  # new tokens, the same items: a list that leads back to its start
                raise PaginationError(
                    f"pages {count - SAME_PAGES + 1} to {count} held only items already read, each under a "
                    "new cursor (does the list lead back to its start?); stopping instead of reading the same "
                    "items again"
                )
            if count >= cap:
                raise PaginationError(
                    f"more than {cap} pages in one partition (max_pages_per_partition); stopping instead of "
                    "paging forever"
                )
            seen.add(following)
            page.next_token = token = following
            yield page

    # One request -------------------------------------------------------------------------------

    def fetch(
        self,
        part: Partition | None,
        token: t.Any = None,
        paging: Paging = SINGLE,
        *,
        path: str | None = None,
        extract: Extract | None = None,
        counted: bool = True,
    ) -> Page:
        """Send one request for a partition (paced, retried) and return its page. It is counted in the
        request metrics of the partition being read, failed or not (a page fetched ahead: once read)."""
        stream = self.stream
        try:
            page = stream.sender.send(stream.request(part, token, path), extract or stream.extract)
        finally:
            if counted:
                self._count()
        page.token = token
        page.info = paging.info(page.payload)
        return page

    def _count(self) -> None:
        counter = self._counter
        if counter is not None:
            counter.increment()

    def _first_or_fetch(self, part: Partition, token: t.Any, paging: Paging) -> Page | None:
        """The partition's first page, if it was fetched ahead (only a fresh partition's is)."""
        future = self._prefetched.pop(partition_key(part.context), None)
        if future is None or part.progress.page is not None:
            return None
        self._count()
        with self.stop.waiting():
            page = future.result()
        page.info = paging.info(page.payload)
        return page

    # Fetching ahead ----------------------------------------------------------------------------

    def prefetch(self, context: Context | None) -> None:
        """Fetch this partition's first page ahead, unless the partition is to be resumed (any
        thread; only for streams without a lower bound, which would need the state)."""
        key = partition_key(context)
        if key in self._prefetched or self.state.peek(self.name, context):
            return
        self._prefetched[key] = self.services.workers.submit(self._fetch_first, context)

    def _fetch_first(self, context: Context | None) -> Page:
        paging = self.stream.paging()
        part = Partition(context, PartitionProgress({}), ListCheck(), None, self._label(context))
        page = self.fetch(part, paging.first, paging, counted=False)
        self.on_page(page, context)
        return page

    def on_page(self, page: Page, context: Context | None) -> None:
        """A page arrived (maybe on a worker): let children fetch ahead for the records it gives,
        except for those an interrupted run finished (on the page it was reading: up to its ``after``).
        A page fetched ahead is counted when it is read, not here."""
        children = self.prefetching_children
        if not children:
            return
        records = page.records
        skip = _finished(PartitionProgress(self.state.peek(self.name, context)))
        if skip is not None:
            records = skip(records, self.stream.item_key)
        for record in records:
            for child_context in self.stream.child_contexts(record, context):
                for child in children:
                    child.reader.prefetch(child_context)

    @property
    def prefetching_children(self) -> list[Readable]:
        """The children whose first pages this stream's pages fetch ahead."""
        return [c for c in self.stream.read_children if c.prefetched and c.reader.services.concurrency > 1]

    def _look_ahead(self, context: Context | None) -> None:
        """The partitions after this one (concurrency - 1 of them): their first page fetched ahead,
        or with ``read_ahead``, their pages read on workers."""
        for upcoming in self.upcoming_partitions(context):
            key = partition_key(upcoming)
            if self.stream.read_ahead:
                if key not in self._ahead:
                    part = self.partition(upcoming)
                    self._ahead[key] = (part, self._reader_of(part))
            else:
                self.prefetch(upcoming)

    def _reader_of(self, part: Partition) -> PageReader:
        """The partition's pages, read on a worker into a bounded queue."""
        return PageReader(self.services.workers, partial(self.list_pages, part), self.stream.read_ahead)

    def upcoming_partitions(self, context: Context | None) -> list[dict]:
        partitions: list[t.Any] = list(self.stream.partitions or [])
        room = self.services.concurrency - 1
        if context not in partitions or room < 1:
            return []
        after = partitions[partitions.index(context) + 1 :]
        return [p for p in after if not self.state.peek(self.name, p)][:room]

    # The end of a partition ----------------------------------------------------------------------

    def _unproven(self, part: Partition, reason: str) -> None:
        self._incomplete(f"{part.label}: {reason}")
        self._warned += 1
        stream = self.stream
        level = logging.WARNING if self._warned <= WARNINGS_PER_STREAM else logging.INFO
        stream.logger.log(
            level,
            "%s %s: could not prove the read complete (%s; %s). No ACTIVATE_VERSION for %s this run, and its "
            "bookmark stays where it was: the next run reads it again.",
            stream.provider_name,
            part.label,
            reason,
            part.check.figures(),
            self._affected(),
        )

    def _incomplete(self, reason: str) -> None:
        self.ledger.mark_incomplete(reason, self.name, *self.descendant_names)

    def _affected(self) -> str:
        return ", ".join([self.name, *self.descendant_names])

    def _label(self, context: Context | None) -> str:
        return partition_label(self.name, context)


def _where(part: Partition) -> str:
    return f", {part.label.partition(' [')[2].rstrip(']')}" if " [" in part.label else ""


Skip = t.Callable[[list[dict], t.Callable[[dict], t.Any]], list[dict]]


def _finished(progress: PartitionProgress) -> Skip | None:
    """What of the resumed page to pass over: the records whose children an interrupted run finished,
    by id (an older state's ``after`` alone: those up to that id, by position). None: nothing."""
    if progress.finished is not None:
        done = {identity(k) for k in progress.finished}
        return lambda items, key: [item for item in items if identity(key(item)) not in done]
    if progress.after is not None:
        return partial(_after, key=progress.after)
    return None


def _after(items: list[dict], item_key: t.Callable[[dict], t.Any], key: t.Any) -> list[dict]:
    """The items after the one whose id is ``key`` (all of them when it is not there)."""
    for i, item in enumerate(items):
        if identity(item_key(item)) == identity(key):
            return items[i + 1 :]
    return items


__all__ = ["LIST", "ListPages", "OneDetail", "Partition", "Reader", "Readable", "Strategy", "endpoint_of"]
