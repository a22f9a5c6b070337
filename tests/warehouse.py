"""What the warehouse models (transform/) must hold, computed from the emulator's own data.

The oracle reads the sandbox's lists directly (never a tap run) and applies the rules the models
document (docs/warehouse.md): job keys, the joining rule of `jobs`, Bindbee's status mapping, the
moves of `connection_job_changes`.
"""

from __future__ import annotations

import json
import typing as t
from datetime import UTC, datetime
from pathlib import Path

from jobsources_sandbox import Sandbox
from jobsources_sandbox.timestamps import instant

BINDBEE_STATUS = {"OPEN": "open", "CLOSED": "closed", "ARCHIVED": "closed", "DRAFT": "draft", "PENDING": "pending"}


def utc(value: str | None) -> datetime | None:
    """A source's time, in any of its forms, as the models keep it: UTC without a zone."""
    return instant(value).astimezone(UTC).replace(tzinfo=None) if value else None


class Job(t.NamedTuple):
    source: str
    partition: str
    source_job_id: str
    title: str
    status: str
    company_key: str | None
    locations: str | None
    url: str | None
    opened_at: datetime | None
    closed_at: datetime | None


def getro_job_key(network_id: int, job_id: int) -> str:
    return f"getro:{network_id}:{job_id}"


def expected_jobs(sandbox: Sandbox, kept: dict[str, dict] | None = None) -> dict[str, Job]:
    """The `jobs` mart: every Getro job listed (open) or taken down (removed), every Bindbee job.
    ``kept``: Getro jobs the sandbox no longer lists that the warehouse still holds live (a row
    one complete read missed), by key, with their network."""
    getro = sandbox.getro
    jobs: dict[str, Job] = {}

    def getro_job(nid: int, job: dict, status: str, closed_at: datetime | None) -> Job:
        return Job(
            "getro",
            str(nid),
            str(job["id"]),
            job["title"],
            status,
            f"getro:{nid}:{job['company']['id']}",
            "; ".join(sorted(set(job["locations"]))) or None,
            job["url"],
            utc(job["created_at"]),
            closed_at,
        )

    listed = [(n["id"], job) for n in getro.networks for job in getro.jobs[n["id"]]]
    listed += [(int(v["network_id"]), v["job"]) for v in (kept or {}).values()]
    for nid, job in listed:
        jobs[getro_job_key(nid, job["id"])] = getro_job(nid, job, "open", None)
    for network in getro.networks:
        nid = network["id"]
        for job in getro.removed_jobs[nid]:
            jobs[getro_job_key(nid, job["id"])] = getro_job(nid, job, "removed", utc(job["deactivated_at"]))
    for connector, ats_jobs in sandbox.bindbee.jobs.items():
        for job in ats_jobs:
            status = BINDBEE_STATUS.get(job["status"].upper(), "other")
            urls = job["job_posting_urls"]
            jobs[f"bindbee:{connector}:{job['id']}"] = Job(
                "bindbee",
                connector,
                job["id"],
                job["name"],
                status,
                None,
                None,
                (urls[0] if urls else None) if isinstance(urls, list) else urls,
                utc(job["remote_created_at"]),
                utc(job["remote_updated_at"]) if status == "closed" else None,
            )
    return jobs


def expected_companies(sandbox: Sandbox, jobs: dict[str, Job]) -> dict[str, tuple]:
    """The `companies` mart: (network, company id, name, open jobs, removed jobs) by key."""
    out = {}
    for network in sandbox.getro.networks:
        nid = network["id"]
        for company in sandbox.getro.companies[nid]:
            key = f"getro:{nid}:{company['objectID']}"
            mine = [j for j in jobs.values() if j.company_key == key]
            out[key] = (
                nid,
                company["objectID"],
                company["name"],
                sum(j.status == "open" for j in mine),
                sum(j.status == "removed" for j in mine),
            )
    return out


def expected_moves(sandbox: Sandbox) -> set[tuple]:
    """The `connection_job_changes` mart: (to employment, connection, from employment, from
    company, to company, moved on) for the connections of the account's default group (what the
    tap reads when no group is configured)."""
    tjc = sandbox.trackjobchanges
    moves = set()
    for connection in tjc.connections[next(iter(tjc.connections))]:
        career = sorted(
            tjc.employments[connection["id"]],
            key=lambda e: (e["started_at"] is not None, e["started_at"] or "", e["id"]),
        )
        for before, after in zip(career, career[1:], strict=False):
            if before["company"] != after["company"]:
                moved_on = datetime.fromisoformat(after["started_at"]).date() if after["started_at"] else None
                moves.add((after["id"], connection["id"], before["id"], before["company"], after["company"], moved_on))
    return moves


JOBS_SQL = (
    "select job_key, source, source_partition, source_job_id, title, status, company_key, locations, url,"
    " opened_at, closed_at from {schema}.jobs"
)
COMPANIES_SQL = (
    "select company_key, network_id, company_id, company_name, open_jobs, removed_jobs from {schema}.companies"
)
MOVES_SQL = (
    "select to_employment_id, connection_id, from_employment_id, from_company, to_company, moved_on"
    " from {schema}.connection_job_changes"
)
HISTORY_SQL = (
    "select job_key, change, title, status, previous_title, previous_status, is_current"
    " from {schema}.job_history order by job_key, changed_at"
)


def mart_jobs(rows: list[tuple]) -> dict[str, Job]:
    return {row[0]: Job(*row[1:]) for row in rows}


def mart_companies(rows: list[tuple]) -> dict[str, tuple]:
    return {row[0]: tuple(int(v) if isinstance(v, int) else v for v in row[1:]) for row in rows}


def history(rows: list[tuple]) -> dict[str, list[tuple]]:
    """job_history by job: (change, title, status, previous_title, previous_status, is_current)."""
    out: dict[str, list[tuple]] = {}
    for key, *rest in rows:
        out.setdefault(key, []).append(tuple(rest))
    return out


def dbt_env(tmp_path: Path) -> dict[str, str]:
    """dbt's own files (compiled SQL, logs) in the test's folder, not in transform/."""
    return {"DBT_TARGET_PATH": str(tmp_path / "dbt-target"), "DBT_LOG_PATH": str(tmp_path / "dbt-logs")}


def manifest_models(tmp_path: Path) -> set[str]:
    manifest = json.loads((tmp_path / "dbt-target" / "manifest.json").read_text())
    return {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
