"""What every provider's paginator shares: the page it reads, cycle detection, a page cap."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import requests


@dataclass(slots=True)
class Page:
    """One answer, parsed once: paginators read ``payload`` instead of re-parsing the body."""

    response: requests.Response | None  # None: a page the tap made itself (listed ids)
    payload: t.Any
    records: list[dict]
    next_token: t.Any = None  # the token of the page after this one (None: the last)


class PaginationError(Exception):
    """Paging cannot go on safely (a cycle, or more pages than the cap)."""


class JobSourcesPaginator:
    """Base of the providers' paginators (the tap's own: the SDK's keeps its state in
    private fields, and its loop check only catches a token repeated twice in a row).

    ``advance`` receives a :class:`Page`. Every token of the partition is remembered,
    so a cycle (A, B, A) stops too, and a page cap stops a list that never ends.
    """

    def __init__(self, start_value: t.Any, *, max_pages: int = 10_000) -> None:
        self.max_pages = max_pages
        self.current_value = start_value
        self.finished = False
        self.count = 0  # pages read
        self._seen = {start_value}

    def resume_at(self, token: t.Any, items_before: int) -> None:
        """Start at ``token``, with ``items_before`` items read by an interrupted run."""
        self.current_value = token
        self._seen = {token}

    def advance(self, page: Page) -> None:
        self.count += 1
        if not self.has_more(page):
            self.finished = True
            return
        new_value = self.get_next(page)
        if new_value is None or new_value == "":
            self.finished = True
            return
        if new_value in self._seen:
            msg = (
                f"the API sent a page token it had already sent after {self.count} pages "
                "(a pagination cycle); stopping instead of looping"
            )
            raise PaginationError(msg)
        if self.count >= self.max_pages:
            msg = (
                f"more than {self.max_pages} pages in one partition (max_pages_per_partition); "
                "stopping instead of paging forever"
            )
            raise PaginationError(msg)
        self._seen.add(new_value)
        self.current_value = new_value

    def has_more(self, page: Page) -> bool:
        return True

    def get_next(self, page: Page) -> t.Any:
        raise NotImplementedError
