"""What the tap must emit, derived from the emulator's raw data as the providers' documentation and
the README define it (one entry per stream the registry declares: tests/test_registry.py checks)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from jobsources_sandbox.getro import GetroAPI

#: What a removed job shares with the jobs list, as both are documented: a jobs record that retires a
#: removed job carries these, with ``_sdc_deleted_at`` = its ``deactivated_at``.
SHARED_JOB_FIELDS = ("id", "title", "url", "company", "created_at", "job_functions", "locations")


def retiring(removed: dict, network_id: int) -> dict:
    """The jobs record that retires a job Getro lists as removed."""
    row = {k: removed[k] for k in SHARED_JOB_FIELDS if k in removed}
    return {**row, "network_id": network_id, "_sdc_deleted_at": removed["deactivated_at"]}


def getro_records(api: GetroAPI) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {
        "job_functions": [{"name": n} for n in api.job_functions],
        "experience_levels": [{"name": n} for n in api.experience_levels],
        "networks": [dict(n) for n in api.networks],
        "companies": [],
        "company_details": [],
        "jobs": [],
        "removed_jobs": [],
        "talent": [],
        "job_details": [],
    }
    for network in api.networks:
        nid = network["id"]
        for c in api.companies[nid]:
            row = {k: v for k, v in c.items() if k != "objectID"}
            out["companies"].append({**row, "id": c["objectID"], "network_id": nid})
            out["company_details"].append({**api.company_detail(c), "network_id": nid})
        out["jobs"] += [{**j, "network_id": nid} for j in api.jobs[nid]]
        out["removed_jobs"] += [{**j, "network_id": nid} for j in api.removed_jobs[nid]]
        # Removed jobs the list does not show are retired from jobs in the same run.
        listed = {j["id"] for j in api.jobs[nid]}
        out["jobs"] += [retiring(j, nid) for j in api.removed_jobs[nid] if j["id"] not in listed]
        if nid not in api.hidden_talent:
            out["talent"] += [{**t, "network_id": nid} for t in api.talent[nid]]
        # A first run asks every job's detail: all are new (with or without a description).
        out["job_details"] += [{**api.job_detail(nid, j), "network_id": nid} for j in api.jobs[nid]]
    return out


def by_key(records: list[dict], *fields: str) -> dict[tuple, dict]:
    """Records by primary key, their timestamps as instants: the emulator writes them in
    several forms (Z, +00:00, other offsets) and the tap may write the same instant another way."""
    return {tuple(r[f] for f in fields): instants(r) for r in records}


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def instant(value: str) -> datetime:
    """A timestamp as an aware datetime (UTC when it has no offset)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def instants(value):
    """``value`` with every date-time string replaced by its instant, at any depth."""
    if isinstance(value, str) and _DATETIME.match(value):
        return instant(value)
    if isinstance(value, dict):
        return {k: instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [instants(v) for v in value]
    return value


def latest(values) -> datetime:
    """The latest of some timestamps, by instant."""
    return max(instant(v) for v in values)


LIST_FIELDS = ("departments", "offices", "hiring_managers", "recruiters", "job_posting_urls")


def bindbee_records(api, *, raw_data: bool = False, custom_fields: bool = False) -> list[dict]:
    """ats_jobs as the README promises: list-or-string fields as arrays, ``connector`` added."""
    out = []
    for connector, jobs in api.jobs.items():
        for job in jobs:
            row = dict(job)
            if not raw_data:
                row.pop("raw_data")
            if not custom_fields:
                row.pop("custom_fields")
            for field in LIST_FIELDS:
                if isinstance(row[field], str):
                    row[field] = [row[field]]
            out.append({**row, "connector": connector})
    return out


def trackjobchanges_records(api, groups: list[str] | None) -> dict[str, list[dict]]:
    """connections (with group_id when groups are configured) and every connection's employments."""
    read = groups or [next(iter(api.connections))]
    listed = [(g, api.listed(c)) for g in read for c in api.connections[g]]
    connections = [{**c, "group_id": g} if groups else dict(c) for g, c in listed]
    employments = [dict(e) for c in connections for e in api.employments[c["id"]]]
    account = {"email": "sandbox@example.com", "connections_count": sum(map(len, api.connections.values()))}
    return {"connections": connections, "employments": employments, "account": [account]}
