"""What Getro's answers say about their lists: ``meta.total``, and talent's own meta."""

from __future__ import annotations

import typing as t

from tap_jobsources.paging import PageInfo, whole_number


def _meta(payload: t.Any) -> dict:
    meta = payload.get("meta") if isinstance(payload, dict) else None
    return meta if isinstance(meta, dict) else {}


def list_info(payload: t.Any) -> PageInfo:
    """``{"items": [...], "meta": {"total": 250}}``: the list's size on every page."""
    return PageInfo(total=whole_number(_meta(payload).get("total")))


def talent_info(payload: t.Any) -> PageInfo:
    """Talent pages carry ``meta.total_items``, ``current_page``, ``total_pages`` and ``next_page``."""
    meta = _meta(payload)
    total = whole_number(meta.get("total_items"))
    if total is None:
        total = whole_number(meta.get("total"))
    last: bool | None = None
    current, pages = whole_number(meta.get("current_page")), whole_number(meta.get("total_pages"))
    if current is not None and pages is not None and current >= pages:
        last = True
    elif "next_page" in meta:
        last = meta["next_page"] is None
    return PageInfo(total=total, last=last)
