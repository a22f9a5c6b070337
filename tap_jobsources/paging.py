"""How a list is paged, and what one answer says about the whole list.

A provider declares, per list, one of three pagings (its own ``paging.py`` says how to read its
answers' metadata); the page loop (``page_loop.py``) runs for all of them:

- :class:`NumberedPages`: page 1, 2, 3 ... of a list by position (Getro, TrackJobChanges). When the
  list changes while it is read, positions shift: the reader checks the totals each answer gives
  and reads again what may have shifted (``completeness.py``).
- :class:`CursorPages`: an opaque token from each answer to the next (Bindbee). Positions cannot
  shift; the end is a null or empty token.
- :data:`SINGLE`: the answer is the whole list (Getro's reference lists, a detail endpoint).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    import requests


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What an answer says about its list (None: it does not say)."""

    total: int | None = None  # items in the whole list
    last: bool | None = None  # this is (True) or is not (False) the last page
    cursor: t.Any = None  # a cursor list: the token of the next page (None: the end)
    #: A cursor list's end is proven only by an answer that says it (a cursor field null or empty),
    #: not by one that lacks the field.
    cursor_given: bool = True


NO_INFO = PageInfo()


@dataclass(slots=True)
class Page:
    """One answer, parsed once (the sender makes it; the reader fills in the rest)."""

    records: list[dict]
    response: requests.Response | None = None  # None: a page the tap made itself (listed ids)
    payload: t.Any = None  # the decoded body
    info: PageInfo = NO_INFO
    token: t.Any = None  # what it was asked with (a page number, a cursor)
    count: int = 0  # items the answer held, before those that came twice were dropped
    next_token: t.Any = None  # where a resumed run would go on (None: this was the last page)
    again: bool = False  # a page read again for positions that may have shifted: progress stays
    ids: list[t.Any] | None = None  # a numbered page's ids, kept with the progress for a resumed read


class PaginationError(Exception):
    """Paging cannot go on safely (a cycle, a token of the wrong kind, more pages than the cap)."""


class Paging(t.Protocol):
    """A list's paging, as its provider declares it."""

    @property
    def numbered(self) -> bool:
        """Pages are positions in the list: a change to the list shifts them."""

    @property
    def first(self) -> t.Any:
        """The token of the first page."""

    @property
    def size(self) -> int | None:
        """Items per page asked for (None: the server decides)."""

    def params(self, token: t.Any) -> dict[str, t.Any]:
        """The query parameters that ask for the page ``token``."""

    def info(self, payload: t.Any) -> PageInfo:
        """What an answer's body says about its list."""


def _no_info(payload: t.Any) -> PageInfo:
    return NO_INFO


@dataclass(frozen=True)
class NumberedPages:
    """``page`` from 1 (and ``per_page`` when ``size`` is set)."""

    read_info: t.Callable[[t.Any], PageInfo] = _no_info
    size: int | None = None
    size_param: str = "per_page"
    numbered: t.ClassVar[bool] = True
    first: t.ClassVar[int] = 1

    def params(self, token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"page": token}
        if self.size is not None:
            params[self.size_param] = self.size
        return params

    def info(self, payload: t.Any) -> PageInfo:
        return self.read_info(payload)


@dataclass(frozen=True)
class CursorPages:
    """``cursor`` from the previous answer (none on the first request)."""

    read_info: t.Callable[[t.Any], PageInfo] = _no_info
    size: int | None = None
    size_param: str = "page_size"
    cursor_param: str = "cursor"
    numbered: t.ClassVar[bool] = False
    first: t.ClassVar[None] = None

    def params(self, token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        if self.size is not None:
            params[self.size_param] = self.size
        if token:
            params[self.cursor_param] = token
        return params

    def info(self, payload: t.Any) -> PageInfo:
        return self.read_info(payload)


@dataclass(frozen=True)
class SinglePage:
    """The answer is the whole list: no paging parameters, one request."""

    numbered: t.ClassVar[bool] = False
    first: t.ClassVar[None] = None
    size: t.ClassVar[None] = None

    def params(self, token: t.Any) -> dict[str, t.Any]:
        return {}

    def info(self, payload: t.Any) -> PageInfo:
        return PageInfo(last=True)


SINGLE = SinglePage()


def whole_number(value: t.Any) -> int | None:
    """``value`` when it is a non-negative integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def flag(value: t.Any) -> bool | None:
    """A JSON boolean, or its text form ("true"/"false"); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
