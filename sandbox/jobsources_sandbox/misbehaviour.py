"""What real servers do that their documents do not promise against, each off by default.

The emulator answers in the documents' shapes; a :class:`Misbehaviour` makes its page-numbered lists
(Getro's and TrackJobChanges') and its clock behave worse, as a user's APIs do:

- lists that change while they are read: after each answered page, the list loses its first item
  (a job deactivated, a company leaving, a connection dropped) or gains one at its head, a number of
  times per list;
- pages that come back empty, or short, once, although the list holds more;
- totals that lie (``meta.total``, ``meta.total_items``, ``total_count`` off by a number);
- 403 on any Getro endpoint whose path matches a pattern ("hidden for certain members");
- a server clock ahead of or behind the real one (what :meth:`Misbehaviour.now` returns, which the
  APIs' change helpers stamp with, and every answer's ``Date`` header);
- cursor lists (Bindbee's) whose last page leads back to their first, under a fresh cursor string
  each time, so that no cursor repeats;
- dates out of range: some records carry date-times that cannot be moved to UTC.
"""

from __future__ import annotations

import re
import threading
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: Date-times a JSON reader accepts but that overflow when moved to UTC.
OUT_OF_RANGE = ("9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+01:00")


@dataclass
class Misbehaviour:
    drop_first: int = 0  # per list: after each page answered, the list loses its first item, this many times
    add_first: int = 0  # per list: after each page answered, a new item at its head, this many times
    empty_once: tuple[int, ...] = ()  # these page numbers come back empty, once per list
    short_once: tuple[int, ...] = ()  # these page numbers come back with half their items, once per list
    total_offset: int = 0  # the totals say this many more (negative: fewer) than the list holds
    forbidden: tuple[str, ...] = ()  # Getro paths (regular expressions) answered 403
    clock_offset: timedelta = timedelta(0)  # the server's clock, ahead (positive) or behind the real one
    dates_out_of_range: bool = False  # some records carry date-times that overflow in UTC
    cursor_loops: bool = False  # a cursor list's last page gives a fresh cursor to its first page
    _spent: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        """The server's time."""
        return datetime.now(UTC) + self.clock_offset

    def is_forbidden(self, path: str) -> bool:
        return any(re.search(pattern, path) for pattern in self.forbidden)

    def page(
        self,
        key: str,
        items: list,
        page: int,
        per_page: int,
        *,
        new_item: t.Callable[[], t.Any] | None = None,
        show: t.Callable[[t.Any], t.Any] = lambda item: item,
        moves: bool = True,
    ) -> tuple[list, int]:
        """One page of the list ``items`` (the live list: changes to it last), and the total to say.
        After the page is taken, the list may move (``drop_first`` / ``add_first``)."""
        start = (page - 1) * per_page
        shown = [show(item) for item in items[start : start + per_page]]
        total = max(0, len(items) + self.total_offset)
        with self._lock:
            if page in self.empty_once and self._once(key, f"empty {page}"):
                shown = []
            elif page in self.short_once and len(shown) > 1 and self._once(key, f"short {page}"):
                shown = shown[: len(shown) // 2]
            if moves and self.drop_first and items and self._count(key, "drop") <= self.drop_first:
                items.pop(0)
            if moves and self.add_first and new_item is not None and self._count(key, "add") <= self.add_first:
                items.insert(0, new_item())
        return shown, total

    def _once(self, key: str, what: str) -> bool:
        return self._count(key, what) == 1

    def _count(self, key: str, what: str) -> int:
        self._spent[(key, what)] = self._spent.get((key, what), 0) + 1
        return self._spent[(key, what)]
