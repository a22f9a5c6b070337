"""Where an interrupted run left a partition: what of the page it was reading to pass over.

The rest of a resume is the state's (``state.RunState``: the page to start from, the ids kept of
the page read last, the partitions finished) and the check's (``completeness.ListCheck.resuming``).
"""

from __future__ import annotations

import typing as t
from functools import partial

from tap_jobsources.completeness import identity

if t.TYPE_CHECKING:
    from tap_jobsources.state import PartitionProgress

#: Takes a page's items and the stream's item key; gives the items still to read.
Skip = t.Callable[[list[dict], t.Callable[[dict], t.Any]], list[dict]]


def finished_skip(progress: PartitionProgress) -> Skip | None:
    """What of the resumed page to pass over: the records whose children an interrupted run finished,
    by id (an older state's ``after`` alone: those up to that id, by position). None: nothing."""
    if progress.finished is not None:
        done = {identity(k) for k in progress.finished}
        return lambda items, key: [item for item in items if identity(key(item)) not in done]
    if progress.after is not None:
        return partial(items_after, key=progress.after)
    return None


def items_after(items: list[dict], item_key: t.Callable[[dict], t.Any], key: t.Any) -> list[dict]:
    """The items after the one whose id is ``key`` (all of them when it is not there)."""
    for i, item in enumerate(items):
        if identity(item_key(item)) == identity(key):
            return items[i + 1 :]
    return items
