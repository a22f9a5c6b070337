"""TrackJobChanges API v1: connections and their employment histories, and the account."""

from __future__ import annotations

import typing as t

from tap_jobsources.errors import FatalAPIError, api_message
from tap_jobsources.plugin import Extractor, Provider, TimesSection
from tap_jobsources.trackjobchanges import settings

if t.TYPE_CHECKING:
    import requests


#: Per group, the cut-off of changed employments: TrackJobChanges' own times, from the last complete run.
EMPLOYMENTS_SINCE = TimesSection("trackjobchanges", "employments_read")
#: Per group, the largest connection id its last complete read saw: TrackJobChanges ids grow, so a
#: larger one is a connection new to the group, whatever its created_at (moved in, restored).
LARGEST_ID = TimesSection("trackjobchanges", "largest_id", numbers=True)


def _error(options: t.Any, response: requests.Response, endpoint: str) -> Exception | None:
    if response.status_code == 401:
        return FatalAPIError(
            f"TrackJobChanges rejected the API key (401) on {endpoint}: {api_message(response, 'message')} "
            "Check trackjobchanges_api_key."
        )
    return None


PROVIDER = Provider(
    key="trackjobchanges",
    name="TrackJobChanges",
    rank=3,
    default_url=settings.DEFAULT_URL,
    credentials=("trackjobchanges_api_key",),
    secrets=("trackjobchanges_api_key",),
    properties=settings.PROPERTIES,
    options=settings.options,
    sections=(EMPLOYMENTS_SINCE, LARGEST_ID),
    headers=settings.headers,
    error=_error,
    extractors=(
        Extractor(
            name="tap-jobsources-trackjobchanges",
            task="trackjobchanges_group",
            streams=("account", "connections", "employments"),
            partition_setting="trackjobchanges_group_ids",
            partitions_from="trackjobchanges_group_ids",
            all_when_none=True,
            all_label="default",  # the account's default group
            # The weekly full run reads every connection's employments (and so may retire rows).
            full_run={"TAP_JOBSOURCES_TRACKJOBCHANGES_EMPLOYMENTS": "all"},
        ),
    ),
)
