"""Fetching ahead, where a provider allows requests at once: never more than what a kill may repeat.

- a child partition's first page, fetched as its parent's page arrives (each connection's
  employments: ``prefetched``);
- the first pages of the partitions that come next while one is read (``prefetch_partitions``);
- or the next partitions' pages, read on workers into a bounded queue (``read_ahead``).

A partition that an interrupted run left is never fetched ahead: it resumes from the state.
A page fetched ahead is counted in the request metrics when it is read, not when it arrives.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import Future
from functools import partial

from tap_jobsources.completeness import ListCheck
from tap_jobsources.concurrency import PageReader
from tap_jobsources.partition import Partition
from tap_jobsources.resume import finished_skip
from tap_jobsources.state import PartitionProgress, partition_key

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_jobsources.paging import Page, Paging
    from tap_jobsources.runtime import ProviderServices
    from tap_jobsources.signals import StopFlag
    from tap_jobsources.state import RunState


class AheadStream(t.Protocol):
    """What fetching ahead needs of a stream."""

    @property
    def name(self) -> str: ...

    @property
    def read_ahead(self) -> int: ...

    @property
    def partitions(self) -> list[dict] | None: ...

    def paging(self) -> Paging: ...

    def item_key(self, item: dict) -> t.Any: ...

    def child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]: ...


class AheadSource(t.Protocol):
    """What fetching ahead needs of its reader."""

    @property
    def stream(self) -> AheadStream: ...

    @property
    def state(self) -> RunState: ...

    @property
    def services(self) -> ProviderServices: ...

    @property
    def stop(self) -> StopFlag: ...

    def fetch(
        self, part: Partition | None, token: t.Any = None, paging: Paging = ..., *, counted: bool = True
    ) -> Page: ...

    def count_request(self) -> None: ...

    def partition(self, context: Context | None, progress: PartitionProgress | None = None) -> Partition: ...

    def label(self, context: Context | None) -> str: ...

    def list_pages(self, part: Partition) -> t.Iterator[Page]: ...


class ReadAhead:
    """One stream's pages fetched ahead (see the module's docstring)."""

    def __init__(self, source: AheadSource, children: t.Callable[[], list[ReadAhead]]) -> None:
        self.source = source
        #: The children's own ReadAhead, for those whose first pages this stream's pages fetch ahead.
        self.children = children
        self._prefetched: dict[str, Future[Page]] = {}  # partition -> its first page, fetched ahead
        self._ahead: dict[str, tuple[Partition, PageReader]] = {}  # partition -> its pages, read ahead

    def prefetch(self, context: Context | None) -> None:
        """Fetch this partition's first page ahead, unless the partition is to be resumed (any
        thread; only for streams without a lower bound, which would need the state)."""
        key = partition_key(context)
        if key in self._prefetched or self.source.state.peek(self.source.stream.name, context):
            return
        self._prefetched[key] = self.source.services.workers.submit(self._fetch_first, context)

    def _fetch_first(self, context: Context | None) -> Page:
        paging = self.source.stream.paging()
        part = Partition(context, PartitionProgress({}), ListCheck(), None, self.source.label(context))
        page = self.source.fetch(part, paging.first, paging, counted=False)
        self.on_page(page, context)
        return page

    def first_page(self, part: Partition, token: t.Any, paging: Paging) -> Page | None:
        """The partition's first page, if it was fetched ahead (only a fresh partition's is)."""
        future = self._prefetched.pop(partition_key(part.context), None)
        if future is None or part.progress.page is not None:
            return None
        self.source.count_request()
        with self.source.stop.waiting():
            page = future.result()
        page.info = paging.info(page.payload)
        return page

    def on_page(self, page: Page, context: Context | None) -> None:
        """A page arrived (maybe on a worker): let children fetch ahead for the records it gives,
        except for those an interrupted run finished (on the page it was reading: up to its ``after``)."""
        children = self.children()
        if not children:
            return
        stream = self.source.stream
        records = page.records
        skip = finished_skip(PartitionProgress(self.source.state.peek(stream.name, context)))
        if skip is not None:
            records = skip(records, stream.item_key)
        for record in records:
            for child_context in stream.child_contexts(record, context):
                for child in children:
                    child.prefetch(child_context)

    def look_ahead(self, context: Context | None) -> None:
        """The partitions after this one (concurrency - 1 of them): their first page fetched ahead,
        or with ``read_ahead``, their pages read on workers."""
        for upcoming in self.upcoming_partitions(context):
            key = partition_key(upcoming)
            if self.source.stream.read_ahead:
                if key not in self._ahead:
                    part = self.source.partition(upcoming)
                    self._ahead[key] = (part, self.reader_of(part))
            else:
                self.prefetch(upcoming)

    def taken(self, context: Context | None) -> tuple[Partition, PageReader] | None:
        """The partition and its pages, if they were read ahead (taken once)."""
        return self._ahead.pop(partition_key(context), None)

    def reader_of(self, part: Partition) -> PageReader:
        """The partition's pages, read on a worker into a bounded queue."""
        return PageReader(
            self.source.services.workers, partial(self.source.list_pages, part), self.source.stream.read_ahead
        )

    def upcoming_partitions(self, context: Context | None) -> list[dict]:
        partitions: list[t.Any] = list(self.source.stream.partitions or [])
        room = self.source.services.concurrency - 1
        if context not in partitions or room < 1:
            return []
        after = partitions[partitions.index(context) + 1 :]
        return [p for p in after if not self.source.state.peek(self.source.stream.name, p)][:room]
