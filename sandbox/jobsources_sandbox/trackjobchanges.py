"""The TrackJobChanges API v1 emulator: connections by group, employments, account, the envelope."""

from __future__ import annotations

import random
import typing as t
from datetime import UTC, datetime, timedelta

from jobsources_sandbox.http import Answer, Request, Router
from jobsources_sandbox.misbehaviour import Misbehaviour
from jobsources_sandbox.timestamps import stamp

EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
COMPANIES = [
    ("scripted", "scripted.com"),
    ("toofr", "toofr.com"),
    ("rapleaf", "rapleaf.com"),
    ("hired, inc", "hired.com"),
]


def envelope(data, message: str = "Loaded.", **extra) -> Answer:
    return Answer(200, {"status": "SUCCESS", "message": message, "data": data, **extra})


class TrackJobChangesAPI:
    """Connections in groups (``connections[group_id]``; the first group is the default)
    and each connection's employments (``employments[connection_id]``), ``per_page`` a page.

    The key is accepted in the ``key`` header or, as the docs also allow, the query string.

    ``list_shape``: ``"detail"`` lists connections with every field of the detail view;
    ``"docs"`` lists them as the docs' list example does, without ``employment_checked_at``,
    ``new_job_flagged_at`` and ``has_new_title`` (the detail view, ``GET /connections/{id}``,
    always has them). A job change (``change_job``) moves ``employment_checked_at`` and
    ``new_job_flagged_at`` and adds a current employment; ``recheck`` moves only the first.
    """

    #: Fields the docs' list example does not show on a connection.
    DETAIL_ONLY = ("employment_checked_at", "new_job_flagged_at", "has_new_title")

    def __init__(
        self,
        *,
        scale: int = 1,
        seed: int = 3,
        api_key: str = "tjk_0b7e5f2c9d81a3e64f10",
        groups: tuple[str, ...] = ("grp-default", "grp-sales", "grp-alumni"),
        per_page: int = 10,
        list_shape: str = "docs",
        misbehaviour: Misbehaviour | None = None,
    ) -> None:
        self.api_key = api_key
        self.misbehaviour = misbehaviour or Misbehaviour()
        self.per_page = per_page
        self.list_shape = list_shape
        self._rng = random.Random(seed + 100)
        self.connections: dict[str, list[dict]] = {}
        self.employments: dict[int, list[dict]] = {}
        rng = random.Random(seed)
        next_id, next_employment = 2758, 3480
        for group in groups:
            self.connections[group] = []
            for _ in range(8 * scale):
                connection = self.make_connection(rng, next_id)
                self.connections[group].append(connection)
                self.employments[next_id] = []
                for _ in range(rng.randrange(0, 5)):
                    self.employments[next_id].append(self.make_employment(rng, next_employment, next_id))
                    next_employment += 1
                next_id += 1
        self._next_id, self._next_employment = next_id, next_employment

    # Changes between runs -----------------------------------------------------------

    def _connection(self, cid: int) -> dict:
        return next(c for group in self.connections.values() for c in group if c["id"] == cid)

    def change_job(self, cid: int, when: datetime) -> dict:
        """The connection moved to a new company: its current employment ends, a new one starts."""
        connection = self._connection(cid)
        for employment in self.employments[cid]:
            if employment["current"]:
                employment.update(current=False, ended_at=when.date().isoformat())
        new = self.make_employment(self._rng, self._next_employment, cid)
        new.update(current=True, ended_at=None, started_at=when.date().isoformat())
        self._next_employment += 1
        self.employments[cid].append(new)
        connection.update(
            has_new_job=True,
            new_job_flagged_at=stamp(when, cid),
            employment_checked_at=stamp(when, cid + 1),
            current_employment={**self.employment(self._rng, True), "company": new["company"]},
        )
        return new

    def recheck(self, cid: int, when: datetime) -> None:
        """TrackJobChanges looked at the connection again and found nothing new."""
        self._connection(cid)["employment_checked_at"] = stamp(when, cid)

    def add_connection(self, group: str, when: datetime) -> dict:
        """A connection the account starts tracking now, with its employment history."""
        cid = self._next_id
        self._next_id += 1
        connection = self.make_connection(self._rng, cid)
        connection.update(created_at=stamp(when, cid), employment_checked_at=stamp(when, cid + 2))
        connection["new_job_flagged_at"] = None
        self.connections[group].append(connection)
        self.employments[cid] = [self.make_employment(self._rng, self._next_employment, cid)]
        self._next_employment += 1
        return connection

    def listed(self, connection: dict) -> dict:
        """A connection as the list endpoint shows it (see ``list_shape``)."""
        if self.list_shape == "docs":
            return {k: v for k, v in connection.items() if k not in self.DETAIL_ONLY}
        return connection

    @staticmethod
    def employment(rng: random.Random, current: bool) -> dict:
        company, domain = rng.choice(COMPANIES)
        started = EPOCH - timedelta(days=rng.randrange(100, 4000))
        return {
            "email": f"someone@{domain}",
            "title": rng.choice(["ceo", "founder", "advisor", None]),
            "company": company,
            "domain": domain,
            "started_at": started.date().isoformat() if rng.random() < 0.7 else None,
            "ended_at": None if current else (started + timedelta(days=300)).date().isoformat(),
            "current": current,
            "email_confidence": rng.choice([100, 85, 24, None]),
        }

    def make_connection(self, rng: random.Random, cid: int) -> dict:
        created = EPOCH + timedelta(minutes=rng.randrange(0, 200_000))
        flagged = rng.random() < 0.3
        return {
            "id": cid,
            "created_at": stamp(created, cid),
            "has_new_job": flagged if rng.random() < 0.9 else None,
            "new_job_flagged_at": stamp(created + timedelta(days=30), cid + 1) if flagged else None,
            "first_name": f"first{cid}",
            "last_name": f"last{cid}",
            "linkedin_url": f"https://www.linkedin.com/in/c{cid}",
            "facebook_url": None,
            "twitter_url": f"https://twitter.com/c{cid}" if cid % 3 else None,
            "avatar_url": None if cid % 2 else f"https://cdn.example.com/{cid}.png",
            "employment_checked_at": stamp(created + timedelta(days=31), cid + 2) if rng.random() < 0.8 else None,
            "has_new_title": rng.random() < 0.1,
            "location": rng.choice(["San Francisco, CA, US", "", "Berlin, DE"]),
            "in_eu": rng.random() < 0.2,
            "starting_employment": self.employment(rng, False),
            "current_employment": self.employment(rng, True) if rng.random() < 0.9 else None,
        }

    def make_employment(self, rng: random.Random, eid: int, cid: int) -> dict:
        row = self.employment(rng, rng.random() < 0.3)
        row.pop("domain")
        return {"id": eid, **row, "connection_id": cid}

    def record_count(self) -> int:
        return sum(len(v) for v in self.connections.values()) + sum(len(v) for v in self.employments.values())

    def routes(self) -> Router:
        router = Router()
        router.add("GET", "/account", self.account)
        router.add("GET", "/account/pings", lambda r: envelope([], "Loaded pings", last_page=True))
        router.add("GET", "/connections", self.list_connections)
        router.add("GET", "/connections/{cid}", self.get_connection)
        router.add("GET", "/connections/{cid}/employments", self.list_employments)
        return router

    def authorize(self, request: Request) -> Answer | None:
        if (request.headers.get("key") or request.query.get("key")) != self.api_key:
            return Answer(401, {"status": "ERROR", "message": "You must provide a valid API key."})
        return None

    def _group(self, request: Request) -> str | None:
        group = request.query.get("group")
        return next(iter(self.connections)) if not group else (group if group in self.connections else None)

    def paged(self, request: Request, items: list, message: str, **moves: t.Any) -> Answer:
        try:
            page = max(1, int(request.query.get("page", 1)))
        except ValueError:
            return Answer(200, {"status": "ERROR", "message": "page must be a number"})
        start = (page - 1) * self.per_page
        last = start + self.per_page >= len(items)
        shown, total = self.misbehaviour.page(
            request.url.split("?")[0] + str(request.query.get("group")), items, page, self.per_page, **moves
        )
        return envelope(shown, message, last_page=last, total_count=total)

    def account(self, request: Request) -> Answer:
        return envelope(
            {"email": "sandbox@example.com", "connections_count": sum(map(len, self.connections.values()))},
            "Loaded user data",
        )

    def list_connections(self, request: Request) -> Answer:
        group = self._group(request)
        if group is None:
            return Answer(404, {"status": "ERROR", "message": "Group not found."})
        return self.paged(
            request,
            self.connections[group],
            "Loaded all connections.",
            show=self.listed,
            new_item=lambda: self._newcomer(group),
        )

    def _newcomer(self, group: str) -> dict:
        """A connection added at the head of a list that grows while it is read (a misbehaviour)."""
        connection = self.add_connection(group, self.misbehaviour.now())
        self.connections[group].remove(connection)  # the caller puts it at the head
        return connection

    def _find(self, cid: str) -> dict | None:
        return next((c for group in self.connections.values() for c in group if str(c["id"]) == cid), None)

    def get_connection(self, request: Request, cid: str) -> Answer:
        connection = self._find(cid)
        if connection is None:
            return Answer(404, {"status": "ERROR", "message": "Connection not found."})
        return envelope(connection, "Loaded connection.")

    def list_employments(self, request: Request, cid: str) -> Answer:
        if not cid.isdigit() or int(cid) not in self.employments:  # every connection has an entry
            return Answer(404, {"status": "ERROR", "message": "Connection not found."})
        return self.paged(request, self.employments[int(cid)], "Loaded all employments.")
