"""TrackJobChanges pages: ``page`` from 1 until the answer says ``last_page``."""

from __future__ import annotations

from tap_jobsources.pagination import JobSourcesPaginator, Page


def _flag(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


class LastPagePaginator(JobSourcesPaginator):
    """No request after the page that says ``last_page: true``.

    Without the flag (the docs omit it on some answers), paging goes on until an
    empty page; an empty page always ends it.
    """

    def __init__(self, *, max_pages: int) -> None:
        super().__init__(1, max_pages=max_pages)

    def has_more(self, page: Page) -> bool:
        if not page.records:
            return False
        last = _flag(page.payload.get("last_page"))
        return True if last is None else not last

    def get_next(self, page: Page) -> int:
        return self.current_value + 1
