"""Bindbee pages: an opaque ``cursor`` from each answer, until it is null or empty."""

from __future__ import annotations

from tap_jobsources.pagination import JobSourcesPaginator, Page


class BindbeeCursorPaginator(JobSourcesPaginator):
    """Cycles (A, B, A) and the page cap are caught by the shared base."""

    def __init__(self, *, max_pages: int) -> None:
        super().__init__(None, max_pages=max_pages)

    def get_next(self, page: Page) -> str | None:
        cursor = page.payload.get("cursor") if isinstance(page.payload, dict) else None
        return cursor or None
