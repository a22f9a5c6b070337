"""The page loop: a partition's list, page after page, as its paging says.

- numbered pages, with the checks of ``completeness.py``: a list that shrank while read has the
  positions that may have shifted read again; an empty or short page where the list says there is
  more is asked again, then named; a total below what the pages hold is read past; pages of only
  items already read stop the loop;
- cursor pages, with cycle detection (a token sent twice, or new tokens over the same items);
- one answer, where the list is not paged.

A resumed partition starts at its saved page; if the API refuses it, the partition is read again
from its start. What the pages become (records, progress, children) is the reader's (``reading.py``).
"""

from __future__ import annotations

import time
import typing as t
from collections import deque

from tap_jobsources.completeness import ListCheck
from tap_jobsources.errors import FatalAPIError
from tap_jobsources.paging import Page, PaginationError, Paging, SinglePage
from tap_jobsources.sending import endpoint_of

if t.TYPE_CHECKING:
    import logging

    import requests
    from singer_sdk.helpers.types import Context

    from tap_jobsources.partition import Partition
    from tap_jobsources.settings import Settings
    from tap_jobsources.signals import StopFlag

#: An empty page where the list says there is more is asked again this many times.
EMPTY_RETRIES = 2
#: Pages read again for shifted positions, beyond one per page read forward.
REREAD_ALLOWANCE = 5
#: Pages in a row that hold only items already read (the list not grown by a page) stop the run.
SAME_PAGES = 3


class LoopStream(t.Protocol):
    """What the loop needs of a stream."""

    @property
    def name(self) -> str: ...

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def provider_name(self) -> str: ...

    def paging(self) -> Paging: ...

    def item_key(self, item: dict) -> t.Any: ...

    def request(
        self, part: Partition | None, token: t.Any = None, path: str | None = None
    ) -> requests.PreparedRequest: ...


class PageSource(t.Protocol):
    """What the loop needs of its reader: one request, a page fetched ahead, a page's arrival."""

    @property
    def stream(self) -> LoopStream: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def stop(self) -> StopFlag: ...

    def fetch(self, part: Partition | None, token: t.Any = None, paging: Paging = ...) -> Page: ...

    def first_page(self, part: Partition, token: t.Any, paging: Paging) -> Page | None: ...

    def on_page(self, page: Page, context: Context | None) -> None: ...


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


class PageLoop:
    """The pages of one stream's partitions (see the module's docstring)."""

    def __init__(self, source: PageSource) -> None:
        self.source = source

    def pages(self, part: Partition) -> t.Iterator[Page]:
        """The pages of a partition's list. A resumed partition
        starts at its saved page; if the API no longer accepts it (a cursor that expired), the
        partition is read again from its start (its bookmark has not moved)."""
        stream = self.source.stream
        paging = stream.paging()
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
                stream.logger.warning(
                    "%s: the saved page was refused (%s); reading the partition again from its start.",
                    part.label,
                    exc,
                )
                part.progress.restart()
                part.check = ListCheck()
                resumed = False

    def _loop(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        if isinstance(paging, SinglePage):
            page = self.source.fetch(part)
            page.count = len(page.records)
            yield page
            return
        try:
            if paging.numbered:
                yield from self._numbered(part, paging)
            else:
                yield from self._cursor(part, paging)
        except PaginationError as exc:
            stream = self.source.stream
            request = stream.request(part, paging.first)
            endpoint = endpoint_of(request) if hasattr(request, "method") else stream.name
            msg = f"{stream.provider_name} {endpoint} (stream {stream.name}{part.where}): {exc}."
            raise FatalAPIError(msg) from None

    def _numbered(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        check, key, cap = part.check, self.source.stream.item_key, self.source.settings.max_pages_per_partition
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
            page = self.source.first_page(part, asking, paging) if forward and forward_pages == 0 else None
            page = page or self.source.fetch(part, asking, paging)
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
            self.source.on_page(page, part.context)
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
        with self.source.stop.waiting():
            time.sleep(min(5.0, self.source.settings.retry_backoff_seconds * attempt))

    def _cursor(self, part: Partition, paging: Paging) -> t.Iterator[Page]:
        check, key, cap = part.check, self.source.stream.item_key, self.source.settings.max_pages_per_partition
        token = part.progress.page if part.progress.page is not None else paging.first
        seen = {token}
        count = 0
        repeated = RepeatedPages()
        while True:
            page = (self.source.first_page(part, token, paging) if count == 0 else None) or self.source.fetch(
                part, token, paging
            )
            count += 1
            raw = page.count = len(page.records)
            dups = check.duplicates
            page.records = check.count_page(page.records, key)
            # No total tells a cursor list's growth: every page of only items already read counts.
            looped = bool(raw) and repeated.page(raw, check.duplicates - dups, 0, 0)
            self.source.on_page(page, part.context)
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
