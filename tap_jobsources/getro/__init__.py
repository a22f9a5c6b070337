"""Getro API v2: networks, companies, company details, jobs, removed jobs, job details, talent, reference
lists."""

from __future__ import annotations

from tap_jobsources.getro import settings
from tap_jobsources.plugin import Extractor, Provider, TimesSection

#: When each network was last read whole (the tap's clock: Getro's "not twice within 6 hours").
READ_WHOLE = TimesSection("getro", "networks_read_whole")
#: Per network, the cut-off job_details asks from (Getro's own times, from the last complete read).
SINCE = TimesSection("getro", "jobs_since")


PROVIDER = Provider(
    key="getro",
    name="Getro",
    rank=1,
    default_url=settings.DEFAULT_URL,
    credentials=("getro_email", "getro_api_token"),
    secrets=("getro_api_token",),
    properties=settings.PROPERTIES,
    options=settings.options,
    sections=(READ_WHOLE, SINCE),
    normalize=settings.normalize,
    headers=settings.headers,
    extractors=(
        # Networks and what lies under them: one task per network (Getro's quota is per account: a pool).
        Extractor(
            name="tap-jobsources-getro",
            task="getro_network",
            streams=("networks", "companies", "jobs", "removed_jobs", "talent"),
            partition_setting="getro_network_ids",
            partitions_from="getro_network_ids",
            all_when_none=True,
            pool="tap_jobsources_getro",
            full_run={"TAP_JOBSOURCES_GETRO_JOB_DETAILS": "all"},
        ),
        # The account-wide reference lists: one task reads them whole.
        Extractor(
            name="tap-jobsources-getro-lists",
            task="getro_reference_lists",
            streams=("job_functions", "experience_levels"),
            pool="tap_jobsources_getro",
        ),
    ),
)
