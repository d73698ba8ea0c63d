"""Demo step: a populated analyst workspace, seeded through the hotline library.

The story in ``hotline_story`` (nine reports in the nine workspace languages, partners, hosts)
is played in time order through the objects the service itself uses: ``ReportStore``
takes the reports, ``AnalystDesk`` claims and locates, ``Workbench`` classifies, confirms,
adds hashes and banks, ``Takedown`` refers, notifies and re-checks. Each is given a clock
set to the story's moment (days or weeks ago), so times to removal and the monthly metrics
come out as they would have; the audit trail keeps the real time of each entry and names
the demo as the actor (``cli:demo``) with the demo account each act was made for.

Hosts are located by ``DemoResolver``, a fixed table of documentation addresses (no DNS: the
machine may have no network). No media is stored (captures are opt-in and stay off).

Seeding happens once, and only into a store without users or hotline reports, so a demo
pointed at a real store by mistake adds nothing to it. Run again on the store it seeded (its
users are the demo accounts, its directory has the demo's partners), the step gives the demo
accounts a new password (printed once, like the demo's token).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from safelight.demo import hotline_story as story
from safelight.hotline.desk import AnalystDesk
from safelight.hotline.model import ItemStatus
from safelight.hotline.partners import PartnerDirectory
from safelight.hotline.reports import ReportStore, Submission
from safelight.hotline.resolver import AddressInfo, Outcome, Resolution, ip_literal
from safelight.hotline.routing import RoutingPolicy
from safelight.hotline.takedown import Takedown
from safelight.hotline.urls import parse_url
from safelight.hotline.workbench import Workbench
from safelight.lists.store import HashListStore
from safelight.service.audit import AuditEntry, AuditLog
from safelight.service.roles import Principal, Role
from safelight.service.users import UserStore
from safelight.store import Database
from safelight.store.database import default_home
from safelight.store.hotline_tables import hotline_items, hotline_reports

DEMO_ACTOR = "cli:demo"
ACCOUNTS = (*story.ANALYSTS, story.ADMIN)  # they share one password
RESOLVER_SOURCE = "demo table (documentation addresses, no DNS)"


class StoryClock:
    """The moment the story is at: what every seeded record is dated with."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class DemoResolver:
    """Locates the story's hosts from its fixed table; any other name does not exist."""

    clock: Callable[[], datetime]

    def resolve(self, host: str) -> Resolution:
        literal = ip_literal(host)
        ips = (literal,) if literal else story.HOSTS.get(host, ())
        if not ips:
            return Resolution(host, self.clock(), Outcome.NXDOMAIN, message=f"{host}: no such name")
        addresses = tuple(AddressInfo(ip, *story.ADDRESSES[ip]) for ip in ips)
        return Resolution(host, self.clock(), Outcome.RESOLVED, addresses, source=RESOLVER_SOURCE)


class DemoAudit(AuditLog):
    """The audit trail as the demo writes it: every entry's actor is the demo, and an act
    made in a demo account's name says whose (``demo_acting_as``)."""

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        named = dict(details or {})
        if actor != DEMO_ACTOR:
            named["demo_acting_as"] = actor
        return super().record(DEMO_ACTOR, action, target, named, conn=conn)


@dataclass
class HotlineDemo:
    """What the step did, and what the served demo needs: its settings and the sign-in."""

    seeded: bool  # False: the store already held the demo (or other data: see ``note``)
    password: str | None  # of every demo account, shown once; None: no sign-in to offer
    settings: dict[str, str] = field(default_factory=dict)  # SAFELIGHT_* for the server
    statuses: dict[str, int] = field(default_factory=dict)
    reports: int = 0
    note: str = ""


def demo_settings() -> dict[str, str]:
    """The server settings the demo workspace works under: the routing rules' own country
    and fallback, and session cookies without ``Secure`` (the demo is served over plain
    HTTP on 127.0.0.1, where a browser would not send them back otherwise)."""
    return {
        "SAFELIGHT_ORGANISATION_COUNTRY": story.OWN_COUNTRY,
        "SAFELIGHT_FALLBACK_PARTNER": story.FALLBACK_PARTNER,
        "SAFELIGHT_COOKIE_SECURE": "false",
    }


def seed_hotline(db: Database, *, home: str | None = None) -> HotlineDemo:
    """Seed the demo workspace into ``db`` once (see the module doc for when it does not)."""
    users = UserStore(db, audit=AuditLog(db))
    names = {user.username for user in users.list()}
    directory = PartnerDirectory(db, AuditLog(db))
    if names == set(ACCOUNTS) and directory.by_name(story.FALLBACK_PARTNER) is not None:
        password = _new_password()
        for name in ACCOUNTS:
            users.set_password(name, password, by=DEMO_ACTOR)
        return HotlineDemo(False, password, demo_settings(), _statuses(db), _reports(db))
    if names or _reports(db):
        return HotlineDemo(
            False,
            None,
            note="the store already has users or hotline reports: the demo seeds only a new "
            "store (one in an empty SAFELIGHT_HOME, with SAFELIGHT_DATABASE_URL unset)",
        )
    Seeder(db, home=home or str(default_home())).play()
    password = _new_password()
    roles = {name: frozenset({Role.ANALYST}) for name in story.ANALYSTS}
    roles[story.ADMIN] = frozenset({Role.ADMIN})
    for name, granted in roles.items():  # last: the accounts mark a store seeded in full
        users.add(name, password, granted, by=DEMO_ACTOR)
    return HotlineDemo(True, password, demo_settings(), _statuses(db), _reports(db))


class Seeder:
    """Plays the story through the library, every act at its moment."""

    def __init__(self, db: Database, *, home: str, now: datetime | None = None) -> None:
        self.db = db
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.clock = StoryClock(self.now)
        self.audit = DemoAudit(db)
        self.reports = ReportStore(db, clock=self.clock)
        self.desk = AnalystDesk(
            db, audit=self.audit, resolver=lambda: DemoResolver(self.clock), clock=self.clock
        )
        self.lists = HashListStore(db)
        self.bench = Workbench.build(
            db, self.audit, self.lists, four_eyes=True, home=home, clock=self.clock
        )
        policy = RoutingPolicy(story.OWN_COUNTRY, story.FALLBACK_PARTNER)
        self.takedown = Takedown(db, self.audit, policy, clock=self.clock)
        self.items: dict[tuple[int, str], int] = {}  # (report number, URL key) -> item id
        self.hashes = material_hashes()

    def play(self) -> None:
        """The directory and list first, then every report and step in time order."""
        self.clock.moment = self._at(max(report.days_ago for report in story.REPORTS) + 30, 0)
        self._partners()
        self._bank_list()
        events: list[tuple[datetime, int, Callable[[], None]]] = []
        for number, report in enumerate(story.REPORTS):
            events.append((self._at(report.days_ago, 0), len(events), self._submitter(number)))
            for url in report.urls:
                for step in url.steps:
                    act = self._act(number, parse_url(url.url).key, step)
                    events.append((self._at(report.days_ago, step.after), len(events), act))
        for moment, _, act in sorted(events, key=lambda event: event[:2]):
            self.clock.moment = moment
            act()

    def _at(self, days_ago: float, after: float) -> datetime:
        moment = self.now - timedelta(days=days_ago) + timedelta(days=after)
        if moment > self.now:
            raise ValueError(f"the demo story has a step in the future ({moment.isoformat()})")
        return moment

    def _partners(self) -> None:
        directory = PartnerDirectory(self.db, self.audit, clock=self.clock)
        for country, kind, name, contact, active, notes in story.PARTNERS:
            values = {"country": country, "kind": kind, "name": name, "contact": contact}
            directory.add(DEMO_ACTOR, {**values, "active": active, "notes": notes})

    def _bank_list(self) -> None:
        def audited(conn: Connection, created: Any) -> None:
            self.audit.record(DEMO_ACTOR, "list.create", created.name, {}, conn=conn)

        description = "Safelight hotline demo: hashes banked from demo items (generated images)"
        self.lists.create(story.DEMO_BANK_LIST, description=description, in_transaction=audited)

    def _submitter(self, number: int) -> Callable[[], None]:
        report = story.REPORTS[number]

        def submit() -> None:
            submitted = self.reports.submit(
                Submission(
                    urls=[url.url for url in report.urls],
                    description=report.description,
                    site_type=report.site_type,
                    contact=report.contact,
                    language=report.language,
                    channel=report.channel,
                )
            )
            for item in self.reports.items(submitted.reference):
                self.items[(number, item["url_key"])] = int(item["id"])

        return submit

    def _act(self, number: int, key: str, step: story.Step) -> Callable[[], None]:
        def act() -> None:
            self.do(self.items[(number, key)], step)

        return act

    def do(self, item_id: int, step: story.Step) -> None:
        """One step of the story on an item, as the analyst ``step.by`` would do it."""
        who = Principal("user", step.by, frozenset({Role.ANALYST}))
        actor, classifier = who.actor, self.bench.desk
        if step.act == "claim":
            self.desk.claim(item_id, who)
        elif step.act == "locate":
            self.desk.resolve(item_id, who)
        elif step.act == "classify":
            assert step.assessment is not None
            classifier.classify(item_id, step.assessment, by=actor)
        elif step.act == "confirm":
            latest = classifier.latest(item_id)
            assert latest is not None
            classifier.confirm(item_id, latest.version, by=actor)
        elif step.act == "add_hashes":
            self.bench.add_hashes(item_id, by=actor, text=self.hashes)
        elif step.act == "bank":
            self.bench.bank(item_id, story.DEMO_BANK_LIST, by=actor)
        elif step.act == "refer":
            self.takedown.refer(actor, item_id)
        elif step.act == "notify_host":
            self.takedown.notify_host(actor, item_id)
        elif step.act in ("still_online", "removed"):
            self.takedown.recheck(actor, item_id, online=step.act == "still_online")
        else:
            raise ValueError(f"the demo story names an unknown step {step.act!r}")


def material_hashes() -> str:
    """``TYPE VALUE`` lines of a benign generated image: what stands for the material an
    analyst hashed with the hotline's capture tool (the image itself is not kept)."""
    from safelight.signals.options import HashOptions
    from safelight.signals.photo import hash_photo
    from safelight.signals.synthetic import encode, photo_like

    data = encode(photo_like(story.HASHES_SEED, 640, 480), "PNG")
    pdq = hash_photo(data, "png", "demo", HashOptions(signals=frozenset({"pdq"}))).pdq
    assert pdq is not None
    return f"pdq {pdq.hex}\nmd5 {hashlib.md5(data).hexdigest()}"


def _new_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 random bits


def _statuses(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        rows = conn.execute(
            select(hotline_items.c.status, func.count()).group_by(hotline_items.c.status)
        ).all()
    found = Counter({str(status): int(count) for status, count in rows})
    return {status.value: found[status.value] for status in ItemStatus if found[status.value]}


def _reports(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(hotline_reports)).scalar_one())


def run_hotline_step(echo: Callable[[str], None] = print) -> HotlineDemo:
    with Database.open() as db:
        demo = seed_hotline(db)
    if demo.password is None:
        echo(f"  nothing seeded: {demo.note}")
        return demo
    languages = len({report.language for report in story.REPORTS})
    items = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in demo.statuses.items())
    countries = len({partner[0] for partner in story.PARTNERS})
    again = "" if demo.seeded else " (seeded by an earlier run: new password below)"
    echo(f"  {demo.reports} reports in {languages} languages{again}; items: {items}")
    echo(
        f"  partners in {countries} countries (own {story.OWN_COUNTRY}, fallback "
        f"{story.FALLBACK_PARTNER!r}); one item's hashes banked into {story.DEMO_BANK_LIST}"
    )
    echo(
        "  placeholders only (example.com/.net/.org, TEST-NET hosts located without DNS); "
        f"every act audited as {DEMO_ACTOR}"
    )
    return demo
