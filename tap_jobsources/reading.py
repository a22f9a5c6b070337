"""Reading a partition: the one loop every stream's records come through.

:class:`Reader` is an object each stream holds. ``records(context)`` (the SDK's ``get_records``) is
a partition's whole life, in one place, and the only part that moves the run's page progress:

- its start: a partition an interrupted run finished is not read again; an unfinished one starts
  from the page that was being read (``state.RunState``), and in a stream with children, the
  records whose children had finished are passed over (``resume.py``);
- its pages: the loop of the stream's paging (``page_loop.py``), or where a provider allows
  requests at once, pages fetched ahead (``read_ahead.py``). The progress moves only after the
  records a page covers were handed on; the checkpoint hears of each page (and of each parent
  record whose children finished), and the stop flag is checked at each boundary, so a kill costs
  at most the page being read;
- its verdict (``completeness.py``): a read it cannot prove complete, or a partition skipped on a
  status the stream declares (``skip_on``), gets one warning and leaves its stream (and the
  streams below) without ACTIVATE_VERSION this run, and its bookmark unmoved;
- its end: otherwise the bookmark is promoted, then the partition marked done
  (``RunState.finish_partition``, the one place a bookmark moves).

How a partition is read, when it is not "page through the list", is a :class:`Strategy` the
stream declares (Getro networks from a list of ids with a detail each; a detail endpoint alone).
"""

from __future__ import annotations

import logging
import typing as t
from datetime import UTC, datetime

from tap_jobsources.completeness import ListCheck, Proof
from tap_jobsources.dates import iso, parse_datetime
from tap_jobsources.errors import SkipPartition
from tap_jobsources.page_loop import PageLoop
from tap_jobsources.paging import SINGLE, Page, Paging
from tap_jobsources.partition import Partition
from tap_jobsources.read_ahead import ReadAhead
from tap_jobsources.reporting import ProgressLog, partition_label
from tap_jobsources.resume import finished_skip
from tap_jobsources.sending import endpoint_of

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import metrics
    from singer_sdk.helpers.types import Context

    from tap_jobsources.runtime import ProviderServices, Runtime
    from tap_jobsources.sending import Extract, Sender
    from tap_jobsources.state import PartitionProgress

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

    def skipped(self, reader: Reader, part: Partition) -> None:
        """The partition was skipped on a status the stream declares (``skip_on``)."""


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

    def skipped(self, reader: Reader, part: Partition) -> None:
        pass


LIST = ListPages()


class OneDetail(ListPages):
    """A detail endpoint: each partition is one answer, one record (Getro job details)."""

    def pages(self, reader: Reader, part: Partition) -> t.Iterator[Page]:
        yield reader.fetch(part, extract=reader.stream_extract_one)


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
        self.loop = PageLoop(self)
        self.ahead = ReadAhead(self, self._prefetching_children)
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
            stream.logger.info("%s: finished by the interrupted run, not read again.", self.label(context))
            return
        # The partitions before this one are final (their bookmarks promoted): say so now,
        # so a run stopped in this one resumes after them.
        self.checkpoint.due()
        self.state.keep_bookmark(t.cast(t.Any, stream), context)
        ahead = self.ahead.taken(context)
        part = ahead[0] if ahead else self.partition(context, progress)
        if stream.prefetch_partitions or stream.read_ahead:
            self.ahead.look_ahead(context)
        pages: t.Iterable[Page] | None = ahead[1] if ahead else None
        if pages is None and stream.read_ahead and self.services.concurrency > 1:
            pages = self.ahead.reader_of(part)
        sdk_stream, below = t.cast(t.Any, stream), t.cast(t.Any, stream.descendants)
        try:
            with stream.request_counter(context) as self._counter:
                yield from self._emit(part, pages)
        except SkipPartition as skip:  # a status the stream declares: skip it with a warning
            stream.logger.warning(stream.skip_on[skip.status].format(stream=self.name, **(part.context or {})))
            stream.strategy.skipped(self, part)
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
            label=self.label(context),
            began=parse_datetime(began),
        )

    def _emit(self, part: Partition, pages: t.Iterable[Page] | None) -> t.Iterator[dict]:
        stream = self.stream
        strategy = stream.strategy
        progress, stop = part.progress, self.stop
        children = stream.descendants
        names = [c.name for c in children]
        skip_through = finished_skip(progress) if children else None
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

    # Pages ---------------------------------------------------------------------------------------

    def list_pages(self, part: Partition) -> t.Iterator[Page]:
        """The pages of a partition's list (``page_loop.py``)."""
        return self.loop.pages(part)

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
                self.count_request()
        page.token = token
        page.info = paging.info(page.payload)
        return page

    def count_request(self) -> None:
        """One request of the partition being read, in its request metrics."""
        counter = self._counter
        if counter is not None:
            counter.increment()

    def first_page(self, part: Partition, token: t.Any, paging: Paging) -> Page | None:
        return self.ahead.first_page(part, token, paging)

    def on_page(self, page: Page, context: Context | None) -> None:
        self.ahead.on_page(page, context)

    def _prefetching_children(self) -> list[ReadAhead]:
        """The children whose first pages this stream's pages fetch ahead."""
        return [c.reader.ahead for c in self.stream.read_children if c.prefetched and c.reader.services.concurrency > 1]

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

    def label(self, context: Context | None) -> str:
        return partition_label(self.name, context)


__all__ = ["LIST", "ListPages", "OneDetail", "Partition", "Reader", "Readable", "Strategy", "endpoint_of"]
