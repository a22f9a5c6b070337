"""Progress lines for long partitions: done, total where the API gives one, time left."""

from __future__ import annotations

import logging
import math
import time
import typing as t

#: A partition reports once it has read this many pages.
MIN_PAGES = 3


def partition_label(stream: str, context: t.Mapping | None) -> str:
    """``jobs [network 99]``: a stream and its partition, as a person names them."""
    if not context:
        return stream
    parts = ", ".join(f"{k.removesuffix('_id')} {v}" for k, v in context.items())
    return f"{stream} [{parts}]"


class ProgressLog:
    """An INFO line at most every ``every`` seconds while a partition is read:
    ``jobs [network 99]: 12,300 of 50,000 (25%), 123 of 500 pages, about 12 min left``."""

    def __init__(
        self,
        logger: logging.Logger,
        label: str,
        *,
        every: float,
        done_before: int = 0,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.label = label
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last = self.started
        self.before = done_before  # items read by an interrupted run
        self.items = 0
        self.pages = 0
        self.largest_page = 0

    def page(self, items: int, total: int | None = None) -> str | None:
        self.items += items
        self.pages += 1
        self.largest_page = max(self.largest_page, items)
        now = self.clock()
        if self.pages < MIN_PAGES or now - self.last < self.every:
            return None
        self.last = now
        line = self.line(total, now)
        self.logger.info("%s", line)
        return line

    def line(self, total: int | None, now: float) -> str:
        done = self.before + self.items
        text = f"{self.label}: {done:,}"
        rate = self.items / max(now - self.started, 1e-9)  # items per second in this run
        if total and total >= done:
            size = self.largest_page or 1
            pages_done = self.pages + math.ceil(self.before / size)
            text += f" of {total:,} ({100 * done // total}%), {pages_done:,} of {math.ceil(total / size):,} pages"
            if rate > 0:
                text += f", about {_duration((total - done) / rate)} left"
        else:
            text += f" records, {self.pages:,} pages"
        return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
