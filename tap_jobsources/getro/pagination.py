"""Getro pages: ``page`` from 1 and ``per_page``."""

from __future__ import annotations

from tap_jobsources.pagination import JobSourcesPaginator, Page


def _meta(page: Page) -> dict:
    meta = page.payload.get("meta") if isinstance(page.payload, dict) else None
    return meta if isinstance(meta, dict) else {}


class GetroPaginator(JobSourcesPaginator):
    """Ends once ``meta.total`` items came or, without a total, on a page with fewer than
    ``per_page`` items; an empty page always ends it.

    So a full last page costs no extra empty request when ``meta.total`` is there, and
    a server that caps pages below ``per_page`` (short pages, total not reached yet) is
    paged to the end instead of being cut short.
    """

    def __init__(self, per_page: int, *, max_pages: int) -> None:
        super().__init__(1, max_pages=max_pages)
        self.per_page = per_page
        self.items_seen = 0

    def resume_at(self, token, items_before: int) -> None:
        super().resume_at(token, items_before)
        self.items_seen = items_before  # meta.total counts from the partition's first item

    def has_more(self, page: Page) -> bool:
        count = len(page.records)
        self.items_seen += count
        if not count:
            return False
        total = _meta(page).get("total")
        if isinstance(total, int) and not isinstance(total, bool):
            return self.items_seen < total
        return count >= self.per_page

    def get_next(self, page: Page) -> int:
        return self.current_value + 1


class GetroTalentPaginator(GetroPaginator):
    """Talent pages carry ``meta.next_page``/``current_page``/``total_pages`` instead of ``total``."""

    def has_more(self, page: Page) -> bool:
        meta = _meta(page)
        if not page.records:
            return False
        if "next_page" not in meta and "total_pages" not in meta:
            return super().has_more(page)  # no talent meta: fall back to the page size
        current, total_pages = meta.get("current_page"), meta.get("total_pages")
        if isinstance(current, int) and isinstance(total_pages, int) and current >= total_pages:
            return False
        return meta.get("next_page") is not None

    def get_next(self, page: Page) -> int:
        next_page = _meta(page).get("next_page")
        return next_page if isinstance(next_page, int) else self.current_value + 1
