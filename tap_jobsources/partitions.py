"""Reading a partition: where to start (resume), what to read ahead, what to report.

:class:`PartitionReader` is an object each stream holds; it turns a partition into
records, page after page, and is the only part that moves the run's page progress:

- it starts where the interrupted run stopped (``resume.py``): a finished partition
  is not read again, an unfinished one from the page that was being read, and in a
  stream with children, records whose children had finished are passed over;
- it moves the progress only after the records it covers were handed on, and tells the
  checkpoint after each page (and after each parent record whose children finished), so
  a kill costs at most the page being read; it checks the stop flag at each boundary;
- where a provider allows requests at once, a child partition's first page (each
  connection's employments) and the next partitions' first pages are fetched ahead
  (``prefetch``), on the provider's workers: never more than one page of a partition,
  so a kill still repeats at most one request of each;
- it logs progress for long partitions (``reporting.py``).

What differs by stream (which items to read, an item's detail, a partition's total)
are hooks on the stream (``JobSourcesStream``), which the reader calls.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import cached_property

from singer_sdk.streams.rest import PageContext

from tap_jobsources.dates import parse_datetime
from tap_jobsources.errors import FatalAPIError, SkipPartition
from tap_jobsources.pagination import Page, PaginationError
from tap_jobsources.reporting import ProgressLog, partition_label
from tap_jobsources.resume import PartitionProgress, partition_key
from tap_jobsources.sending import endpoint_of

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_jobsources.client import JobSourcesStream
    from tap_jobsources.runtime import ProviderServices, Runtime


class PartitionReader:
    """Reads the partitions of one stream (see the module's docstring)."""

    def __init__(self, stream: JobSourcesStream, runtime: Runtime, services: ProviderServices) -> None:
        self.stream = stream
        self.run = runtime.progress
        self.checkpoint = runtime.checkpoint
        self.stop = runtime.stop
        self.services = services
        self._starts: dict[str, datetime | None] = {}  # partition -> its lower bound
        self._prefetches: dict[str, Future] = {}  # partition -> its first page, fetched ahead

    @property
    def name(self) -> str:
        return self.stream.name

    def records(self, context: Context | None) -> t.Iterator[dict]:
        """The records of one partition (the stream's ``get_records``)."""
        stream = self.stream
        progress = self.run.partition(self.name, context)
        if progress.done:
            stream.logger.info("%s: finished by the interrupted run, not read again.", self._label(context))
            return
        # The partitions before this one are final (their bookmarks promoted): say so now,
        # so a run stopped in this one resumes after them.
        self.checkpoint.due()
        self._keep_bookmark_from_moving_back(context)
        if stream.prefetch_partitions:
            for upcoming in self.upcoming_partitions(context):
                self.prefetch(upcoming)
        # Fixed while a partition syncs (the SDK wrote it as the partition began): read it
        # once here rather than once per record.
        stream.partition_start = self.start_of(context)
        try:
            yield from stream.read_partition(context, progress)
        except SkipPartition as skip:  # the contract's "skip it with a warning"
            stream.logger.warning(stream.skip_partition_on[skip.status].format(**(context or {})))
        progress.finish()
        self.checkpoint.due()

    def _keep_bookmark_from_moving_back(self, context: Context | None) -> None:
        """Start the partition's progress marker at its bookmark: the SDK promotes the largest
        value emitted, which may be older than the bookmark when every row the API returned is
        (a server-side filter on another clock). Emitted or not, the bookmark never moves back.
        (A bookmark in the future is left alone: the SDK caps what it promotes at the run's start,
        and only promotes what was emitted.) Seeding the marker also spares the SDK's warning
        that the stream is unsorted: the tap's own resume covers that."""
        key = self.stream.replication_key
        if not key:
            return
        state = self.stream.get_context_state(context)
        if "progress_markers" in state:
            return
        markers: dict[str, t.Any] = {"Note": "Progress is not resumable if interrupted."}
        bookmark = state.get("replication_key_value")
        if isinstance(bookmark, str) and _not_in_future(bookmark):
            markers.update(replication_key=key, replication_key_value=bookmark)
        state["progress_markers"] = markers

    def start_of(self, context: Context | None) -> datetime | None:
        """The lower bound (bookmark or start_date) of a partition, read once per partition."""
        if not self.stream.replication_key:
            return None
        key = partition_key(context)
        if key not in self._starts:
            self._starts[key] = self.stream.get_starting_timestamp(context)
        return self._starts[key]

    def records_of(
        self, pages: t.Iterable[Page], context: Context | None, progress: PartitionProgress
    ) -> t.Iterator[dict]:
        stream = self.stream
        children = self.descendants
        skip_through = progress.after if children else None
        report = ProgressLog(
            stream.logger, self._label(context), every=self._progress_every, done_before=progress.items
        )
        stop = self.stop
        # The common case, a stream that emits its items as listed, takes the short loop.
        plain = not children and stream.emits_items_as_listed
        for page in pages:
            items = page.records
            if skip_through is not None:
                items = _after(items, skip_through)
                skip_through = None
            if plain:
                for item in items:
                    yield item
                    stop.check()  # a record boundary: the state covers what is out
            else:
                for item in items:
                    if not stream.admit(item, context):
                        continue
                    yield stream.expand(item)  # the SDK reads its children before it comes back
                    if children:
                        progress.record_done(item.get("id"))
                        self.run.forget(children)
                        stream.item_finished(item)
                        self.checkpoint.due()
                    stop.check()
            progress.page_done(page.next_token, len(page.records))
            if page.next_token is not None:
                self.checkpoint.due()
            # After the last page the next STATE is the partition's "done" (``records``): one that
            # said "no next page" would read, to a resumed run, as "from the start".
            report.page(len(page.records), stream.page_total(page))

    def pages(self, context: Context | None, progress: PartitionProgress) -> t.Iterator[Page]:
        """The pages of a partition, counted in the request metrics. A resumed partition
        starts at its saved page; if the API no longer accepts it (a cursor that expired),
        the partition is read again from its start (its bookmark has not moved)."""
        stream = self.stream
        with stream.get_http_request_counter() as counter:
            counter.with_context(context)
            source = stream.page_source(context, progress.page, progress.items)
            resumed = progress.page is not None
            while True:
                try:
                    page = next(source, None)
                except BaseException as exc:
                    counter.increment()  # a request that failed was made all the same
                    if not resumed or not isinstance(exc, FatalAPIError):
                        raise
                    stream.logger.warning(
                        "%s: the saved page was refused (%s); reading the partition again from its start.",
                        self._label(context),
                        exc,
                    )
                    progress.restart()
                    source, resumed = stream.page_source(context, None, 0), False
                    continue
                if page is None:
                    return
                counter.increment()
                resumed = False
                yield page

    def page_source(self, context: Context | None, token: t.Any, items: int) -> t.Iterator[Page]:
        """Fetch pages from ``token`` (None: the first) on. Only a partition's first page
        is ever fetched ahead (``prefetch``), so a kill repeats at most one request of it."""
        paginator = self.stream.make_paginator()
        if token is not None:
            paginator.resume_at(token, items)
        ahead: Future | None = None if token is not None else self._prefetches.pop(partition_key(context), None)
        while not paginator.finished:
            if ahead is not None:
                with self.stop.waiting():
                    page = ahead.result()  # on_page ran on the worker
            else:
                page = self.fetch_page(context, paginator.current_value)
                self.on_page(page, context)
            try:
                paginator.advance(page)
            except PaginationError as exc:
                request = page.response.request if page.response is not None else None
                msg = f"{self.stream.provider.name} {endpoint_of(request)}: {exc}."
                raise FatalAPIError(msg) from None
            page.next_token = None if paginator.finished else paginator.current_value
            ahead = None
            yield page

    def fetch_page(self, context: Context | None, token: t.Any) -> Page:
        request = self.stream.get_http_request(page=PageContext(stream_context=context, next_page_token=token))
        return self.stream.fetch(request)

    def on_page(self, page: Page, context: Context | None) -> None:
        """A page arrived (maybe on a worker): let children fetch ahead, except for the records
        an interrupted run finished (on the page it was reading: up to its ``after``)."""
        children = self.prefetching_children
        if not children:
            return
        records = page.records
        after = self.run.peek(self.name, context).get("after")
        if after is not None:
            records = _after(records, after)
        for record in records:
            for child_context in self.stream.generate_child_contexts(record, context):
                for child in children:
                    child.reader.prefetch(child_context)

    def _fetch_and_notify(self, context: Context | None, token: t.Any) -> Page:
        page = self.fetch_page(context, token)
        self.on_page(page, context)
        return page

    def prefetch(self, context: Context | None) -> None:
        """Fetch this partition's first page ahead, unless the partition is to be resumed."""
        key = partition_key(context)
        if key in self._prefetches or self.run.peek(self.name, context):
            return
        first = self.stream.make_paginator().current_value
        self._prefetches[key] = self.services.workers.submit(self._fetch_and_notify, context, first)

    def upcoming_partitions(self, context: Context | None) -> list[dict]:
        """The partitions after this one that may be read ahead (concurrency - 1 of them)."""
        partitions: list[t.Any] = list(self.stream.partitions or [])
        room = self.services.concurrency - 1
        if context not in partitions or room < 1:
            return []
        after = partitions[partitions.index(context) + 1 :]
        return [p for p in after if not self.run.peek(self.name, p)][:room]

    # Bookkeeping --------------------------------------------------------------------

    @cached_property  # the selection is fixed for the run
    def descendants(self) -> tuple[str, ...]:
        """Names of the selected streams below this one: their progress goes with each record."""
        found: list[str] = []
        stack = list(self.stream.read_children)
        while stack:
            child = stack.pop()
            found.append(child.name)
            stack.extend(t.cast("JobSourcesStream", child).read_children)
        return tuple(found)

    @cached_property
    def prefetching_children(self) -> list[JobSourcesStream]:
        """The children whose first pages this stream's pages fetch ahead."""
        from tap_jobsources.client import JobSourcesStream  # (the stream's module imports this one)

        return [
            c
            for c in self.stream.read_children
            if isinstance(c, JobSourcesStream) and c.prefetched and c.services.concurrency > 1
        ]

    @property
    def _progress_every(self) -> float:
        return float(self.stream.config.get("progress_interval_seconds", 30))

    def _label(self, context: Context | None) -> str:
        return partition_label(self.name, context)


def _not_in_future(value: str) -> bool:
    try:
        return parse_datetime(value) <= datetime.now(UTC)
    except ValueError:
        return False


def _after(items: list[dict], key: t.Any) -> list[dict]:
    """The items after the one whose id is ``key`` (all of them when it is not there)."""
    for i, item in enumerate(items):
        if item.get("id") == key:
            return items[i + 1 :]
    return items
