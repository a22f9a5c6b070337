"""One partition being read: what the reader knows of it, from its start to its verdict."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tap_jobsources.completeness import ListCheck
from tap_jobsources.state import PartitionProgress

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


@dataclass
class Partition:
    """One partition being read."""

    context: Context | None
    progress: PartitionProgress
    check: ListCheck
    #: The lower bound of an incremental partition (its bookmark or start_date), read once.
    start: datetime | None
    label: str
    #: When this partition's read began, on the wall clock (an interrupted run's, if resumed).
    began: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Set by the strategy's ``done``: read whole, but its bookmark stays, so the next run reads it again.
    keep_bookmark: bool = False

    @property
    def where(self) -> str:
        """``, network_id=101`` for a message that names the stream already ("" for no context)."""
        return f", {self.label.partition(' [')[2].rstrip(']')}" if " [" in self.label else ""
