"""Bindbee unified ATS API: jobs across the ATS connectors of a Bindbee account."""

from __future__ import annotations

import json
import typing as t

from tap_jobsources.bindbee import settings
from tap_jobsources.errors import FatalAPIError, api_message
from tap_jobsources.plugin import Extractor, Provider

if t.TYPE_CHECKING:
    import requests


def _error(options: t.Any, response: requests.Response, endpoint: str) -> Exception | None:
    """Bindbee's refusals name the connector (by its name, never its token)."""
    token = response.request.headers.get(settings.CONNECTOR_HEADER) if response.request else None
    connector = options.connector_of(token)
    status = response.status_code
    if status in (401, 403):
        what = "API key" if status == 401 else "connector token"
        return FatalAPIError(
            f"Bindbee rejected the {what} ({status}) for connector '{connector}' on {endpoint}. "
            f"Check bindbee_api_key and the token of connector '{connector}' in bindbee_connectors."
        )
    if status == 422:
        return FatalAPIError(
            f"Bindbee refused the request for connector '{connector}' on {endpoint} (422): "
            f"{api_message(response, 'detail')}"
        )
    return None


PROVIDER = Provider(
    key="bindbee",
    name="Bindbee",
    rank=2,
    default_url=settings.DEFAULT_URL,
    credentials=("bindbee_api_key", "bindbee_connectors"),
    secrets=("bindbee_api_key",),
    properties=settings.PROPERTIES,
    options=settings.options,
    checks=settings.checks,
    more_secrets=settings.connector_tokens,
    headers=settings.headers,
    error=_error,
    extractors=(
        Extractor(
            name="tap-jobsources-bindbee",
            task="bindbee_connector",
            streams=("ats_jobs",),
            partition_setting="bindbee_connector_names",
            partitions_from="bindbee_connectors.name",
            all_when_none=False,
            # The weekly full run reads every job (no modified_after), so that ACTIVATE_VERSION may
            # retire the jobs deleted at the source.
            full_run={
                "TAP_JOBSOURCES_BINDBEE__METADATA": json.dumps({"ats_jobs": {"replication-method": "FULL_TABLE"}})
            },
        ),
    ),
)
