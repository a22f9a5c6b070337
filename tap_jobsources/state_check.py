"""The input state, checked before the first request.

A state that is not an object of the shape the SDK writes, or a bookmark that is
not a date, would fail the run half way with a bare ``AttributeError`` and then be
written back into the next STATE, so every rerun would fail the same way. It is
refused up front instead, naming the entry and what to do.
"""

from __future__ import annotations

import json
import typing as t

from tap_jobsources.sdk_compat import BOOKMARK_FIELDS, MARKERS
from tap_jobsources.settings import is_datetime

FIX = (
    "Fix or clear the state (with Meltano: `meltano state clear <state id>`; by hand: remove the entry) "
    "and rerun; without it, incremental streams start from start_date."
)


def state_errors(state: t.Any, streams: t.Collection[str] | None = None) -> list[str]:
    """What is wrong with an input state, one message per entry (of ``streams``' bookmarks only, when
    given: a stream the tap does not have is carried, never obeyed)."""
    if state is None:
        return []
    if not isinstance(state, dict):
        return [f"The state is a JSON {type(state).__name__}, not an object. {FIX}"]
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return [f"The state's bookmarks are a {type(bookmarks).__name__}, not an object. {FIX}"]
    errors: list[str] = []
    for stream, entry in bookmarks.items():
        where = f"bookmarks.{stream}"
        if streams is not None and stream not in streams:
            continue  # carried as it is
        if not isinstance(entry, dict):
            errors.append(f"The state's {where} is a {type(entry).__name__}, not an object. {FIX}")
            continue
        errors += _entry_errors(entry, where)
        partitions = entry.get("partitions", [])
        if not isinstance(partitions, list):
            errors.append(f"The state's {where}.partitions is not a list. {FIX}")
            continue
        contexts: set[str] = set()
        for i, part in enumerate(partitions):
            at = f"{where}.partitions[{i}]"
            if not isinstance(part, dict) or not isinstance(part.get("context"), dict):
                errors.append(f"The state's {at} is not an object with a context object. {FIX}")
                continue
            context = json.dumps(part["context"], sort_keys=True, default=str)
            if context in contexts:
                errors.append(f"The state's {at} has the context of a partition before it ({context[:80]}). {FIX}")
            contexts.add(context)
            errors += _entry_errors(part, at)
    return errors


def _entry_errors(entry: dict, where: str) -> list[str]:
    errors = []
    markers = entry.get(MARKERS)
    if markers is not None and not isinstance(markers, dict):
        errors.append(f"The state's {where}.{MARKERS} is not an object. {FIX}")
        markers = None
    # Every replication key of this tap is a date-time.
    for at, holder in ((where, entry), (f"{where}.{MARKERS}", markers or {})):
        for key in BOOKMARK_FIELDS:
            value = holder.get(key)
            if value is not None and not is_datetime(value):
                errors.append(f"The state's {at}.{key} is {str(value)[:40]!r}, not a date-time. {FIX}")
    return errors
