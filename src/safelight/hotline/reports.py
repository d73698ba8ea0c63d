"""Intake of public reports: the rules a submission is held to, and its storage.

A submission holds 1 to ``HOTLINE_MAX_URLS`` URLs (each validated by ``urls.parse_url``;
the same URL twice in one report counts once), an optional description and site type, and
an optional contact. Every problem is collected, not just the first (``ReportRejected``).
A URL whose normalised form is already an open item of an earlier report is linked to that
item (the item counts one more report) instead of becoming a new item: analysts see it once,
and the new reporter still gets a reference of their own whose status follows that item.

The contact is personal data: it is stored apart from the report (``hotline_contacts``),
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) when a key is configured, and deleted by
``purge_contacts`` once its ``delete_after`` has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from safelight.constants import (
    HOTLINE_CONTACT_RETENTION_DAYS,
    HOTLINE_MAX_CONTACT,
    HOTLINE_MAX_DESCRIPTION,
    HOTLINE_MAX_URLS,
)
from safelight.errors import NotFoundError, StoreError, ValidationError
from safelight.hotline.model import (
    OPEN_ITEM_STATUSES,
    ItemStatus,
    PublicStatus,
    SiteType,
    SubmittedReport,
    report_status,
)
from safelight.hotline.references import new_reference, parse_reference
from safelight.hotline.urls import ReportedUrl, UrlProblem, parse_url
from safelight.store import Database
from safelight.store.hotline_tables import (
    hotline_contacts,
    hotline_item_reports,
    hotline_items,
    hotline_reports,
)

REFERENCE_TRIES = 5  # a clash of 45-bit references is a one-in-trillions event; retry anyway


class ReportProblem(NamedTuple):
    field: str  # "urls[1]", "description", ...
    code: str  # "url_scheme", "too_long", ... (fronts word it in the reporter's language)
    message: str  # English


class ReportRejected(ValidationError):
    """A submission that breaks the intake rules; ``report_problems`` lists every problem."""

    def __init__(self, problems: list[ReportProblem]) -> None:
        super().__init__(
            "the report was not accepted: "
            + "; ".join(f"{p.field}: {p.message}" for p in problems),
            [(p.field, p.message) for p in problems],
            codes=frozenset(p.code for p in problems),
        )
        self.report_problems = problems


@dataclass(frozen=True)
class Submission:
    urls: Sequence[str]
    description: str = ""
    site_type: str | None = None
    contact: str | None = None
    language: str = "en"
    channel: str = "web"


def check(submission: Submission) -> tuple[list[ReportedUrl], SiteType | None]:
    """The submission's URLs (distinct, normalised) and site type, or ReportRejected."""
    problems: list[ReportProblem] = []
    urls: dict[str, ReportedUrl] = {}
    if not [text for text in submission.urls if text.strip()]:
        problems.append(ReportProblem("urls", "urls_missing", "give at least one URL"))
    if len(submission.urls) > HOTLINE_MAX_URLS:
        problems.append(
            ReportProblem("urls", "urls_too_many", f"at most {HOTLINE_MAX_URLS} URLs per report")
        )
    for index, text in enumerate(submission.urls[:HOTLINE_MAX_URLS]):
        if not text.strip():
            continue
        try:
            parsed = parse_url(text)
        except UrlProblem as problem:
            problems.append(ReportProblem(f"urls[{index}]", problem.code, str(problem)))
            continue
        urls.setdefault(parsed.key, parsed)
    if len(submission.description) > HOTLINE_MAX_DESCRIPTION:
        problems.append(
            ReportProblem(
                "description", "too_long", f"at most {HOTLINE_MAX_DESCRIPTION} characters"
            )
        )
    if submission.contact is not None and len(submission.contact) > HOTLINE_MAX_CONTACT:
        problems.append(
            ReportProblem("contact", "too_long", f"at most {HOTLINE_MAX_CONTACT} characters")
        )
    site_type = None
    if submission.site_type:
        try:
            site_type = SiteType(submission.site_type)
        except ValueError:
            known = ", ".join(member.value for member in SiteType)
            problems.append(ReportProblem("site_type", "site_type", f"one of: {known}"))
    if problems:
        raise ReportRejected(problems)
    return list(urls.values()), site_type


class ReportStore:
    """Public reports in the store. ``contact_key``: a Fernet key (urlsafe base64 of 32
    bytes) to encrypt contacts with; without one they are kept apart but in clear."""

    def __init__(
        self,
        db: Database,
        *,
        contact_key: str | None = None,
        contact_retention: timedelta = timedelta(days=HOTLINE_CONTACT_RETENTION_DAYS),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self._fernet = Fernet(contact_key.encode()) if contact_key else None
        self.contact_retention = contact_retention
        self.clock = clock

    def submit(self, submission: Submission) -> SubmittedReport:
        urls, site_type = check(submission)
        for attempt in range(REFERENCE_TRIES):
            try:
                return self._store(submission, urls, site_type, new_reference())
            except StoreError as exc:  # a reference clash: draw another
                if not isinstance(exc.__cause__, IntegrityError) or attempt == REFERENCE_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _store(
        self,
        submission: Submission,
        urls: list[ReportedUrl],
        site_type: SiteType | None,
        reference: str,
    ) -> SubmittedReport:
        now = self.clock()
        merged = 0
        with self.db.begin() as conn:
            report_id = _inserted_id(
                conn,
                insert(hotline_reports).values(
                    reference=reference,
                    created_at=now,
                    updated_at=now,
                    status=ItemStatus.RECEIVED.value,
                    description=submission.description.strip(),
                    site_type=site_type.value if site_type else None,
                    language=submission.language,
                    channel=submission.channel,
                ),
            )
            for url in urls:
                item_id = self._open_item(conn, url)
                if item_id is None:
                    item_id = self._new_item(conn, report_id, url, now)
                else:
                    merged += 1
                    conn.execute(
                        update(hotline_items)
                        .where(hotline_items.c.id == item_id)
                        .values(
                            times_reported=hotline_items.c.times_reported + 1,
                            last_reported_at=now,
                        )
                    )
                conn.execute(
                    insert(hotline_item_reports).values(
                        item_id=item_id,
                        report_id=report_id,
                        reported_at=now,
                        submitted_url=url.submitted,
                    )
                )
            if submission.contact and submission.contact.strip():
                conn.execute(
                    insert(hotline_contacts).values(
                        report_id=report_id,
                        contact=self._seal(submission.contact.strip()),
                        created_at=now,
                        delete_after=now + self.contact_retention,
                    )
                )
        return SubmittedReport(reference=reference, created_at=now, urls=len(urls), merged=merged)

    @staticmethod
    def _open_item(conn: Connection, url: ReportedUrl) -> int | None:
        found = conn.execute(
            select(hotline_items.c.id)
            .where(
                hotline_items.c.url_key == url.key,
                hotline_items.c.status.in_([status.value for status in OPEN_ITEM_STATUSES]),
            )
            .order_by(hotline_items.c.id)
            .limit(1)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    @staticmethod
    def _new_item(conn: Connection, report_id: int, url: ReportedUrl, now: datetime) -> int:
        return _inserted_id(
            conn,
            insert(hotline_items).values(
                report_id=report_id,
                url=url.url,
                url_key=url.key,
                host=url.host,
                host_is_ip=url.host_is_ip,
                status=ItemStatus.RECEIVED.value,
                times_reported=1,
                reported_at=now,
                last_reported_at=now,
                notice_count=0,
            ),
        )

    def status(self, reference_text: str) -> PublicStatus:
        """What the holder of a reference may see, or NotFoundError (also for a reference
        that is not well formed: no hint which it was)."""
        reference = parse_reference(reference_text)
        with self.db.connect() as conn:
            report = (
                conn.execute(
                    select(hotline_reports).where(hotline_reports.c.reference == reference)
                )
                .mappings()
                .one_or_none()
                if reference
                else None
            )
            if report is None:
                raise NotFoundError("no report has this reference", code="unknown_reference")
            items = conn.execute(
                select(hotline_items.c.status, hotline_items.c.assessed_at)
                .join(hotline_item_reports, hotline_item_reports.c.item_id == hotline_items.c.id)
                .where(hotline_item_reports.c.report_id == report["id"])
            ).all()
        statuses = [ItemStatus(row.status) for row in items]
        changed = [_utc(row.assessed_at) for row in items if row.assessed_at is not None]
        return PublicStatus(
            reference=report["reference"],
            status=report_status(statuses),
            created_at=_utc(report["created_at"]),
            updated_at=max([_utc(report["updated_at"]), *changed]),
            urls=len(statuses),
        )

    def items(self, reference: str) -> list[dict[str, Any]]:
        """Every item a report named (for the analyst workspace and tests)."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(hotline_items)
                .join(hotline_item_reports, hotline_item_reports.c.item_id == hotline_items.c.id)
                .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
                .where(hotline_reports.c.reference == reference)
                .order_by(hotline_items.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def contact(self, reference: str) -> str | None:
        """The report's contact in clear (for analysts), or None (none given, or purged)."""
        with self.db.connect() as conn:
            sealed = conn.execute(
                select(hotline_contacts.c.contact)
                .join(hotline_reports, hotline_reports.c.id == hotline_contacts.c.report_id)
                .where(hotline_reports.c.reference == reference)
            ).scalar_one_or_none()
        return None if sealed is None else self._open(sealed)

    def purge_contacts(self) -> int:
        """Delete every contact past its retention; the number deleted."""
        with self.db.begin() as conn:
            result = conn.execute(
                delete(hotline_contacts).where(hotline_contacts.c.delete_after <= self.clock())
            )
        return int(result.rowcount or 0)

    def count(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(hotline_reports)).scalar_one())

    def _seal(self, contact: str) -> str:
        if self._fernet is None:
            return "plain:" + contact
        return "fernet:" + self._fernet.encrypt(contact.encode()).decode()

    def _open(self, sealed: str) -> str:
        kind, _, body = sealed.partition(":")
        if kind == "plain":
            return body
        if self._fernet is None:
            raise ValidationError("the contact is encrypted and no contact key is configured")
        try:
            return self._fernet.decrypt(body.encode()).decode()
        except InvalidToken:
            raise ValidationError("the contact key does not open this contact") from None


def _inserted_id(conn: Connection, statement: Any) -> int:
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
