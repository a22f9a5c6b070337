"""What the tap must emit, derived from the emulator's raw data as the docs and SPEC.md define it."""

from __future__ import annotations

from tap_jobsources.sandbox.getro import GetroAPI


def getro_records(api: GetroAPI) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {
        "job_functions": [{"name": n} for n in api.job_functions],
        "experience_levels": [{"name": n} for n in api.experience_levels],
        "networks": [dict(n) for n in api.networks],
        "companies": [],
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
        out["jobs"] += [{**j, "network_id": nid} for j in api.jobs[nid]]
        out["removed_jobs"] += [{**j, "network_id": nid} for j in api.removed_jobs[nid]]
        if nid not in api.hidden_talent:
            out["talent"] += [{**t, "network_id": nid} for t in api.talent[nid]]
        out["job_details"] += [
            {**api.job_detail(nid, j), "network_id": nid} for j in api.jobs[nid] if j["description_last_updated_at"]
        ]
    return out


def by_key(records: list[dict], *fields: str) -> dict[tuple, dict]:
    return {tuple(r[f] for f in fields): r for r in records}


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
    connections = [
        {**c, "group_id": g} if groups else dict(c) for g in read for c in api.connections[g]
    ]
    employments = [dict(e) for c in connections for e in api.employments[c["id"]]]
    return {"connections": connections, "employments": employments}
