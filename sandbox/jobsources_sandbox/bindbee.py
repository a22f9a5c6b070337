"""The Bindbee unified ATS emulator: GET /jobs for several connectors, cursor paging, modified_after."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta

from jobsources_sandbox.http import Answer, Request, Router
from jobsources_sandbox.misbehaviour import OUT_OF_RANGE, Misbehaviour
from jobsources_sandbox.timestamps import instant, stamp

CONNECTORS = ("greenhouse", "lever", "workday")
STATUSES = ("OPEN", "CLOSED", "DRAFT", "ARCHIVED", "PENDING")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class BindbeeAPI:
    """Jobs per connector (``jobs[name]``), served in id order, never in modified_at order.

    ``modified_after`` is exclusive ("synced after this date time"). The cursor is an
    opaque token for the offset. Relation fields (departments, offices, hiring
    managers, recruiters, posting URLs) come as a string on some jobs and as an array on
    others, as the docs show both.
    """

    def __init__(
        self,
        *,
        scale: int = 1,
        seed: int = 2,
        api_key: str = "bbk_5d1e07c9a3f2468b90e4",
        connectors: tuple[str, ...] = CONNECTORS,
        misbehaviour: Misbehaviour | None = None,
    ) -> None:
        self.api_key = api_key
        self.misbehaviour = misbehaviour or Misbehaviour()
        # Random-looking, as real tokens are: no word of a log line is a piece of one.
        self.tokens = {
            name: "bbct_" + hashlib.sha256(f"{name}/{seed}".encode()).hexdigest()[:24] for name in connectors
        }
        self.jobs: dict[str, list[dict]] = {}
        # modified_after filters on when Bindbee synced a job, which is its modified_at
        # unless a later sync touched it without changing it (resync).
        self.synced_at: dict[tuple[str, str], datetime] = {}
        rng = random.Random(seed)
        for index, name in enumerate(connectors):
            self.jobs[name] = [self.make_job(rng, index, i) for i in range(20 * scale)]
        if self.misbehaviour.dates_out_of_range:
            # The first connector's jobs: one modified "at" a time that overflows when moved to UTC.
            first = self.jobs[connectors[0]]
            first[0]["modified_at"] = OUT_OF_RANGE[0]
            first[1]["remote_created_at"] = OUT_OF_RANGE[1]

    def resync(self, connector: str, job_id: str, when: datetime) -> None:
        """Bindbee synced this job again at ``when``; its modified_at stays as it was."""
        self.synced_at[(connector, job_id)] = when

    @staticmethod
    def job_id(connector_index: int, i: int) -> str:
        return f"{connector_index + 1:08x}-0d44-4b50-8888-{i:012x}"

    def make_job(self, rng: random.Random, connector_index: int, i: int) -> dict:
        created = EPOCH + timedelta(minutes=rng.randrange(0, 300_000))
        ref = f"018b4bfb-5ece-70b1-ad5e-{rng.randrange(16**12):012x}"
        as_list = i % 2 == 0
        return {
            "id": self.job_id(connector_index, i),
            "remote_id": str(100_000 + i),
            "modified_at": stamp(
                created + timedelta(minutes=rng.randrange(0, 100_000), milliseconds=rng.randrange(1000)), i
            ),
            "custom_fields": {"category_group": "REG", "hire_source": rng.choice(["REFER", "WEB"])},
            "name": f"ENGINEER {i}",
            "description": f"Job {i} description.",
            "code": f"SE-{i:04d}",
            "status": rng.choice(STATUSES),
            "job_posting_urls": [f"https://careers.example.com/{i}"] if as_list else f"https://careers.example.com/{i}",
            "remote_created_at": stamp(created, i + 1),
            "remote_updated_at": stamp(created + timedelta(days=1), i + 2),
            "confidential": rng.random() < 0.2,
            "departments": [ref] if as_list else ref,
            "offices": [ref, ref[:-1] + "0"] if as_list else ref,
            "hiring_managers": [] if as_list else ref,
            "recruiters": [ref] if as_list else ref,
            "raw_data": {"key_1": f"platform data {i}"},
        }

    def record_count(self) -> int:
        return sum(len(v) for v in self.jobs.values())

    def routes(self) -> Router:
        router = Router()
        router.add("GET", "/jobs", self.list_jobs)
        return router

    def authorize(self, request: Request) -> Answer | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer(401, {"detail": "Invalid or missing API key"})
        if request.headers.get("x-connector-token") not in self.tokens.values():
            return Answer(403, {"detail": "Invalid connector token"})
        return None

    @staticmethod
    def encode_cursor(offset: int, round_: int = 0) -> str:
        """The token for ``offset``; ``round_`` makes a fresh string for the same offset."""
        text = f"offset:{offset}" + (f":round:{round_}" if round_ else "")
        return base64.b64encode(text.encode()).decode()

    def list_jobs(self, request: Request) -> Answer:
        token = request.headers["x-connector-token"]
        name = next(n for n, t in self.tokens.items() if t == token)
        q = request.query
        try:
            page_size = int(q.get("page_size", 50))
            cursor_parts = base64.b64decode(q["cursor"]).decode().split(":") if q.get("cursor") else ["offset", "0"]
            offset = int(cursor_parts[1])
            round_ = int(cursor_parts[3]) if len(cursor_parts) > 3 else 0
            after = instant(q["modified_after"]) if q.get("modified_after") else None
        except (ValueError, IndexError):
            return Answer(422, {"detail": [{"loc": ["query"], "msg": "invalid page_size, cursor or modified_after"}]})
        if not 1 <= page_size <= 100:
            return Answer(422, {"detail": [{"loc": ["query", "page_size"], "msg": "ensure 1 <= page_size <= 100"}]})
        jobs = sorted(self.jobs[name], key=lambda j: j["id"])
        if after is not None:
            jobs = [j for j in jobs if self.synced_at.get((name, j["id"]), instant(j["modified_at"])) > after]
        items = []
        for job in jobs[offset : offset + page_size]:
            item = dict(job)
            if q.get("include_raw_data") != "true":
                item.pop("raw_data")
            if q.get("include_custom_fields") != "true":
                item.pop("custom_fields")
            items.append(item)
        more = offset + page_size < len(jobs)
        if more:
            cursor: str | None = self.encode_cursor(offset + page_size, round_)
        elif self.misbehaviour.cursor_loops:  # back to the first page; each round's cursors are new strings
            cursor = self.encode_cursor(0, round_ + 1)
        else:
            cursor = None
        return Answer(
            200,
            {
                "cursor": cursor,
                "page_size": len(items),
                "items": items,
            },
        )
