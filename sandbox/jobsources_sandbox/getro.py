"""The Getro API v2 emulator: networks, companies (and each one's detail), jobs, removed jobs, talent,
reference lists."""

from __future__ import annotations

import random
import typing as t
from datetime import UTC, datetime, timedelta

from jobsources_sandbox.http import Answer, Request, Router, page_params
from jobsources_sandbox.misbehaviour import OUT_OF_RANGE, Misbehaviour
from jobsources_sandbox.timestamps import instant, stamp

JOB_FUNCTIONS = [
    "Accounting & Finance",
    "Administration",
    "Customer Service",
    "Data Science",
    "Design",
    "IT",
    "Legal",
    "Marketing & Communications",
    "Operations",
    "Other Engineering",
    "People & HR",
    "Product",
    "Quality Assurance",
    "Sales & Business Development",
    "Software Engineering",
]
EXPERIENCE_LEVELS = ["job_level_unspecified", "entry_level", "experienced", "manager", "director", "executive"]
CITIES = ["Boulder, CO, USA", "New York, NY, USA", "Palo Alto, CA, USA", "Rehovot, Israel", "Remote"]
TOPICS = ["Energy", "Health", "Legal", "Enterprise", "Ad Tech", "Education"]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
#: The fields only a job's detail carries.
DETAIL_ONLY = (
    "description",
    "compensation_min",
    "compensation_max",
    "compensation_currency",
    "compensation_period",
    "application_method",
    "application_path",
    "employment_types",
)


class GetroAPI:
    """Deterministic synthetic Getro data and the documented endpoints over it.

    ``scale`` sets the size: per network, 3x companies, 10x jobs, 4x removed jobs and
    3x talent. The second network hides its talent (403). Tests change the data by
    editing the lists directly (``jobs[network_id]`` ...).
    """

    def __init__(
        self,
        *,
        networks: int = 3,
        scale: int = 1,
        seed: int = 1,
        email: str = "sandbox@example.com",
        token: str = "gtk_8c41f07be2d94a6a13c5",
        network_detail_routes: tuple[str, ...] = ("/networks/{id}", "/network/{id}"),
        misbehaviour: Misbehaviour | None = None,
    ) -> None:
        self.email, self.token = email, token
        self.misbehaviour = misbehaviour or Misbehaviour()
        self._rng = random.Random(seed + 1000)
        self.job_functions = list(JOB_FUNCTIONS)
        self.experience_levels = list(EXPERIENCE_LEVELS)
        self.networks: list[dict] = []
        self.companies: dict[int, list[dict]] = {}
        self.jobs: dict[int, list[dict]] = {}
        self.removed_jobs: dict[int, list[dict]] = {}
        self.talent: dict[int, list[dict]] = {}
        self.descriptions: dict[tuple[int, int], dict] = {}  # (network, job) -> detail-only fields
        self.hidden_talent: set[int] = set()
        self.network_detail_routes = network_detail_routes  # the docs show both forms
        rng = random.Random(seed)
        for n in range(networks):
            self._make_network(rng, 101 + n, scale)
        if networks > 1:
            self.hidden_talent.add(self.networks[1]["id"])
        if self.misbehaviour.dates_out_of_range:
            # A job whose times cannot be moved to UTC (a JSON reader takes them; a UTC conversion overflows).
            for nid, jobs in self.jobs.items():
                if len(jobs) > 1:
                    jobs[1]["created_at"] = OUT_OF_RANGE[nid % 2]

    # Data --------------------------------------------------------------------

    def _make_network(self, rng: random.Random, nid: int, scale: int) -> None:
        self.networks.append(
            {
                "id": nid,
                "name": f"Network {nid}",
                "logo_url": f"https://cdn.example.com/n/{nid}.png",
                "tagline": f"Tagline of {nid}",
                "subtitle": "",
                "topics": rng.sample(TOPICS, 3),
                "domain": f"network{nid}.example.com",
                "main_image_url": None if nid % 2 else f"https://cdn.example.com/m/{nid}.png",
            }
        )
        companies = [self.make_company(rng, nid * 10_000 + i) for i in range(3 * scale)]
        self.companies[nid] = companies
        self.jobs[nid] = []
        for i in range(10 * scale):
            self.add_job(rng, nid, nid * 1_000_000 + i, rng.choice(companies))
        self.removed_jobs[nid] = [
            self.make_removed_job(rng, nid * 1_000_000 + 500_000 + i, rng.choice(companies)) for i in range(4 * scale)
        ]
        rng.shuffle(self.removed_jobs[nid])  # the API's order is not documented
        self.talent[nid] = [self.make_talent(rng, nid * 100_000 + i, rng.choice(companies)) for i in range(3 * scale)]

    @staticmethod
    def make_company(rng: random.Random, cid: int) -> dict:
        return {
            "description": f"Company {cid} builds things.",
            "domain": f"c{cid}.example.com",
            "objectID": cid,
            "locations": rng.sample(CITIES, 2),
            "logo_url": f"https://cdn.example.com/c/{cid}.png",
            "name": f"Company {cid}",
            "slug": f"company-{cid}",
            "topics": rng.sample(TOPICS, 2),
        }

    @staticmethod
    def company_ref(company: dict) -> dict:
        return {
            "id": company["objectID"],
            "name": company["name"],
            "logo_url": company["logo_url"],
            "slug": company["slug"],
            "topics": company["topics"],
        }

    def add_job(self, rng: random.Random, nid: int, jid: int, company: dict) -> dict:
        created = EPOCH + timedelta(minutes=rng.randrange(0, 400_000))
        has_description = rng.random() < 0.8
        job = {
            "created_at": stamp(created, jid),
            "id": jid,
            "job_functions": rng.sample(JOB_FUNCTIONS, 1),
            "locations": rng.sample(CITIES, 1),
            "company": self.company_ref(company),
            "title": f"Job {jid}",
            "url": f"https://jobs.example.com/{jid}",
            "manually_posted": rng.random() < 0.3,
            "description_last_updated_at": stamp(created + timedelta(hours=rng.randrange(1, 500)), jid + 1)
            if has_description
            else None,
            "featured": rng.random() < 0.1,
        }
        self.jobs[nid].append(job)
        self.descriptions[(nid, jid)] = {
            "description": f"Description of job {jid}.\n\nResponsibilities:\n - things" if has_description else None,
            "compensation_min": 50_000 + jid % 1000,
            "compensation_max": 90_000.5 + jid % 1000,
            "compensation_currency": "USD",
            "compensation_period": "year",
            "application_method": "email",
            "application_path": f"apply{jid}@example.com",
            "employment_types": ["full_time"],
        }
        return job

    def make_removed_job(self, rng: random.Random, jid: int, company: dict) -> dict:
        created = EPOCH + timedelta(minutes=rng.randrange(0, 200_000))
        return {
            "created_at": stamp(created, jid),
            "deactivated_at": stamp(created + timedelta(minutes=rng.randrange(60, 200_000)), jid + 1),
            "id": jid,
            "job_functions": rng.sample(JOB_FUNCTIONS, 1),
            "locations": rng.sample(CITIES, 1),
            "company": self.company_ref(company),
            "title": f"Removed job {jid}",
            "url": f"https://jobs.example.com/{jid}",
        }

    @staticmethod
    def make_talent(rng: random.Random, tid: int, company: dict) -> dict:
        person = {
            "name": f"Voucher {tid}",
            "email": f"v{tid}@example.com",
            "linkedin_url": None,
            "avatar_url": "https://cdn.example.com/a.png",
            "bio": "Writer.",
        }
        return {
            "avatar_url": f"https://cdn.example.com/t/{tid}.png",
            "bio": f"Bio {tid}",
            "cover_letter": None,
            "email": f"t{tid}@example.com",
            "first_name": f"First{tid}",
            "id": tid,
            "introductions_received": [
                {
                    "created_at": "2026-02-23T15:22:45.664Z",
                    "status": "sent",
                    "company": {
                        "id": company["objectID"],
                        "name": company["name"],
                        "logo_url": company["logo_url"],
                        "description": company["description"],
                        "topics": [],
                    },
                }
            ],
            "introductions_requested": [{"created_at": "2026-03-27T06:39:24.893Z", "user": person, "status": "sent"}],
            "last_name": f"Last{tid}",
            "linkedin_url": f"http://www.linkedin.com/in/t{tid}",
            "seniority": rng.choice(EXPERIENCE_LEVELS),
            "share_permission": rng.random() < 0.5,
            "job_functions": rng.sample(JOB_FUNCTIONS, 2),
            "locations": rng.sample(CITIES, 1),
            "verified": True,
            "vouches": [
                {
                    "created_at": "2026-04-08T18:43:55.373Z",
                    "recommendation_text": "Great.",
                    "score": 5,
                    "voucher": person,
                }
            ]
            if tid % 2
            else [],
        }

    @staticmethod
    def company_detail(company: dict) -> dict:
        """``GET /networks/:id/companies/:id`` as the docs show it: the company's ``id`` (``objectID``
        in the list), the list's fields, and ``tagline``, which the list does not carry."""
        detail = {k: v for k, v in company.items() if k != "objectID"}
        return {"id": company["objectID"], **detail, "tagline": f"Company {company['objectID']} makes hiring easier."}

    def job_detail(self, nid: int, job: dict) -> dict:
        return {
            **{
                k: job[k]
                for k in (
                    "id",
                    "title",
                    "url",
                    "company",
                    "created_at",
                    "locations",
                    "description_last_updated_at",
                    "job_functions",
                )
            },
            # A job added by hand (a test) has no detail-only fields: they are null, as the docs allow.
            **self.descriptions.get((nid, job["id"]), dict.fromkeys(DETAIL_ONLY)),
        }

    def record_count(self) -> int:
        lists = (self.companies, self.jobs, self.removed_jobs, self.talent)
        return (
            len(self.job_functions)
            + len(self.experience_levels)
            + len(self.networks)
            + sum(len(v) for d in lists for v in d.values())
        )

    # Endpoints ------------------------------------------------------------------

    def routes(self) -> Router:
        router = Router()
        router.add("GET", "/job_functions", lambda r: Answer(200, self.job_functions))
        router.add("GET", "/experience_levels", lambda r: Answer(200, self.experience_levels))
        router.add("GET", "/networks", self.list_networks)
        for route in self.network_detail_routes:
            router.add("GET", route, self.network_detail)
        router.add("GET", "/networks/{nid}/companies", self.list_of(self.companies))
        router.add("GET", "/networks/{nid}/companies/{cid}", self.get_company)
        router.add("GET", "/networks/{nid}/jobs", self.list_of(self.jobs))
        router.add("GET", "/networks/{nid}/jobs/removed", self.list_removed)
        router.add("GET", "/networks/{nid}/jobs/{jid}", self.get_job)
        router.add("GET", "/networks/{nid}/talent", self.list_talent)
        return router

    def authorize(self, request: Request) -> Answer | None:
        if request.headers.get("x-user-email") != self.email or request.headers.get("x-user-token") != self.token:
            return Answer(401, {"error": "You need to sign in or sign up before continuing."})
        if self.misbehaviour.is_forbidden(request.path):  # the docs: 403 on any endpoint
            return Answer(403, {"error": "The info requested is hidden for certain members."})
        return None

    def paged(self, request: Request, items: list, **moves: t.Any) -> Answer:
        params = page_params(request, required=True)
        if isinstance(params, Answer):
            return params
        page, per_page = params
        shown, total = self.misbehaviour.page(request.path, items, page, per_page, **moves)
        return Answer(200, {"items": shown, "meta": {"total": total}})

    def list_networks(self, request: Request) -> Answer:
        # The account's networks hold still (their lists move: see list_of).
        return self.paged(
            request, self.networks, show=lambda n: {k: n[k] for k in ("id", "name", "logo_url")}, moves=False
        )

    def _network(self, nid: str) -> dict | None:
        return next((n for n in self.networks if str(n["id"]) == nid), None)

    def network_detail(self, request: Request, id: str) -> Answer:  # noqa: A002
        network = self._network(id)
        return Answer(200, network) if network else Answer(404, {"error": "Not Found"})

    def list_of(self, table: dict[int, list[dict]]):
        def handler(request: Request, nid: str) -> Answer:
            if not self._network(nid):
                return Answer(404, {"error": "Not Found"})
            return self.paged(request, table[int(nid)], new_item=lambda: self._newcomer(table, int(nid)))

        return handler

    def _newcomer(self, table: dict[int, list[dict]], nid: int) -> dict:
        """A new item for the head of a list that grows while it is read (a misbehaviour)."""
        new_id = nid * 1_000_000 + 900_000 + sum(map(len, table.values()))
        if table is self.jobs:
            job = self.add_job(self._rng, nid, new_id, self.companies[nid][0])
            self.jobs[nid].remove(job)  # the caller puts it at the head
            return job
        if table is self.companies:
            return self.make_company(self._rng, new_id)
        return self.make_talent(self._rng, new_id, self.companies[nid][0])

    def list_removed(self, request: Request, nid: str) -> Answer:
        if not self._network(nid):
            return Answer(404, {"error": "Not Found"})
        items = self.removed_jobs[int(nid)]
        try:
            if "deactivated_from" in request.query:
                start = datetime.fromisoformat(request.query["deactivated_from"]).replace(tzinfo=UTC)
                items = [j for j in items if instant(j["deactivated_at"]) >= start]
            if "deactivated_to" in request.query:
                end = datetime.fromisoformat(request.query["deactivated_to"]).replace(tzinfo=UTC) + timedelta(days=1)
                items = [j for j in items if instant(j["deactivated_at"]) < end]
        except ValueError:
            return Answer(400, {"error": "deactivated_from and deactivated_to are dates: YYYY-MM-DD"})
        return self.paged(request, items)

    def get_company(self, request: Request, nid: str, cid: str) -> Answer:
        if not self._network(nid):
            return Answer(404, {"error": "Not Found"})
        company = next((c for c in self.companies[int(nid)] if str(c["objectID"]) == cid), None)
        return Answer(200, self.company_detail(company)) if company else Answer(404, {"error": "Not Found"})

    def get_job(self, request: Request, nid: str, jid: str) -> Answer:
        if not self._network(nid) or not jid.isdigit():
            return Answer(404, {"error": "Not Found"})
        job = next((j for j in self.jobs[int(nid)] if j["id"] == int(jid)), None)
        return Answer(200, self.job_detail(int(nid), job)) if job else Answer(404, {"error": "Not Found"})

    def list_talent(self, request: Request, nid: str) -> Answer:
        if not self._network(nid):
            return Answer(404, {"error": "Not Found"})
        if int(nid) in self.hidden_talent:
            return Answer(403, {"error": "The info requested is hidden for certain members."})
        params = page_params(request, required=True)
        if isinstance(params, Answer):
            return params
        page, per_page = params
        items = self.talent[int(nid)]
        total_pages = max(1, -(-len(items) // per_page))
        shown, total = self.misbehaviour.page(
            request.path, items, page, per_page, new_item=lambda: self._newcomer(self.talent, int(nid))
        )
        return Answer(
            200,
            {
                "items": shown,
                "meta": {
                    "total_items": total,
                    "total_pages": total_pages,
                    "current_page": page,
                    "next_page": page + 1 if page < total_pages else None,
                },
            },
        )
