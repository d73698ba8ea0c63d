"""Classification of an item as hotlines record it, with an optional second analyst.

The dimensions are those INHOPE publishes statistics under (``../shared/reference/
hotline-practice.md``, 2.2): illegality (INTERPOL's international baseline, national law
only, or not illegal), the victims' age group, their gender, the site type, and whether the
site is commercial. ICCAM's exact strings are not public; these names are Safelight's own.

History is append-only: each classification is a new row (version 1, 2, ...) with who and
when, and a second analyst's verdict on it is a row of its own. With four eyes on (an
organisation setting, on by default) a classification takes effect only once a *different*
person confirms it; until then the item stays ``in_review``, awaiting confirmation. A
disagreement, with a reason, sends the item back to review: someone classifies it again.
Every act is written to the audit trail in the transaction that makes it.

What the item shows follows the history: ``hotline_items.classification`` holds the
illegality of the latest classification that took effect; while the item is still being
assessed its status is ``illegal`` / ``not_illegal`` when the latest classification took
effect (``assessed_at`` set at the first), else ``in_review``. An item already referred,
removed or closed keeps its status: a later correction is recorded, not a step back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from safelight.constants import HOTLINE_MAX_NOTES, HOTLINE_MAX_REASON
from safelight.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from safelight.hotline.model import ItemStatus, SiteType
from safelight.store import Database
from safelight.store.hotline_class_tables import (
    hotline_classification_reviews,
    hotline_classifications,
)
from safelight.store.hotline_tables import hotline_items

if TYPE_CHECKING:
    from safelight.service.audit import AuditLog


class Illegality(StrEnum):
    BASELINE = "baseline"  # illegal everywhere: INTERPOL's international baseline criteria
    NATIONAL = "national"  # illegal under national law, not under the baseline
    NOT_ILLEGAL = "not_illegal"

    @property
    def is_illegal(self) -> bool:
        return self is not Illegality.NOT_ILLEGAL


class AgeGroup(StrEnum):
    INFANT = "infant"
    PRE_PUBESCENT = "pre_pubescent"
    PUBESCENT = "pubescent"
    UNKNOWN = "unknown"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    BOTH = "both"
    UNKNOWN = "unknown"


class State(StrEnum):
    """Where one classification stands."""

    AWAITING = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    DISAGREED = "disagreed"
    EFFECTIVE = "effective"  # took effect without a second analyst (four eyes off, or known)

    @property
    def took_effect(self) -> bool:
        return self in (State.CONFIRMED, State.EFFECTIVE)


ANALYST, KNOWN = "analyst", "known"  # where a classification came from
CONFIRMED, DISAGREED = "confirmed", "disagreed"  # a second analyst's verdicts
# Item statuses a classification moves; later ones (referred, removed, closed) stay put.
ASSESSING = frozenset(
    {ItemStatus.RECEIVED, ItemStatus.IN_REVIEW, ItemStatus.ILLEGAL, ItemStatus.NOT_ILLEGAL}
)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What is decided about an item (None: not recorded, e.g. for an item not illegal)."""

    illegality: Illegality
    age_group: AgeGroup | None = None
    gender: Gender | None = None
    site_type: SiteType | None = None
    commercial: bool | None = None
    notes: str = ""

    @classmethod
    def parse(
        cls,
        illegality: str | None,
        *,
        age_group: str | None = None,
        gender: str | None = None,
        site_type: str | None = None,
        commercial: bool | None = None,
        notes: str | None = None,
    ) -> Assessment:
        """An analyst's input, checked: every problem at once (ValidationError naming each
        field). Illegal material needs all of age group, gender, site type and commercial
        (``unknown`` is an answer; leaving it out is not)."""
        problems: list[tuple[str, str]] = []
        found: dict[str, Any] = {}
        for name, raw, kind in (
            ("illegality", illegality, Illegality),
            ("age_group", age_group, AgeGroup),
            ("gender", gender, Gender),
            ("site_type", site_type, SiteType),
        ):
            text = (raw or "").strip()
            if not text:
                continue
            try:
                found[name] = kind(text)
            except ValueError:
                problems.append((name, f"one of: {', '.join(m.value for m in kind)}"))
        text_notes = (notes or "").strip()
        if len(text_notes) > HOTLINE_MAX_NOTES:
            problems.append(("notes", f"at most {HOTLINE_MAX_NOTES} characters"))
        if "illegality" not in found and not any(p[0] == "illegality" for p in problems):
            problems.append(("illegality", "required"))
        if found.get("illegality", Illegality.NOT_ILLEGAL).is_illegal:
            for name in ("age_group", "gender", "site_type"):
                if name not in found and not any(p[0] == name for p in problems):
                    problems.append((name, "required for illegal material"))
            if commercial is None:
                problems.append(("commercial", "required for illegal material"))
        if problems:
            raise ValidationError(
                "the classification is incomplete or wrong: "
                + "; ".join(f"{field}: {reason}" for field, reason in problems),
                problems,
            )
        return cls(commercial=commercial, notes=text_notes, **found)

    def to_dict(self) -> dict[str, Any]:
        return {
            "illegality": self.illegality.value,
            "age_group": _value(self.age_group),
            "gender": _value(self.gender),
            "site_type": _value(self.site_type),
            "commercial": self.commercial,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class Review:
    verdict: str  # CONFIRMED or DISAGREED
    reason: str | None
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "by": self.by, "at": _iso(self.at)}


@dataclass(frozen=True, slots=True)
class Classification:
    id: int
    item_id: int
    version: int
    assessment: Assessment
    source: str  # ANALYST, or KNOWN (pre-classified from a list entry)
    needs_confirmation: bool
    by: str
    at: datetime
    known_list: str | None = None
    known_entry_id: int | None = None
    review: Review | None = None

    @property
    def state(self) -> State:
        if self.review is not None:
            return State.CONFIRMED if self.review.verdict == CONFIRMED else State.DISAGREED
        return State.AWAITING if self.needs_confirmation else State.EFFECTIVE

    @property
    def classifiers(self) -> list[str]:
        """Who stands behind it: the classifier, and the confirming analyst if any."""
        if self.review is not None and self.review.verdict == CONFIRMED:
            return [self.by, self.review.by]
        return [self.by]

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "version": self.version,
            **self.assessment.to_dict(),
            "source": self.source,
            "known_list": self.known_list,
            "known_entry_id": self.known_entry_id,
            "state": self.state.value,
            "needs_confirmation": self.needs_confirmation,
            "classified_by": self.by,
            "classified_at": _iso(self.at),
            "review": self.review.to_dict() if self.review else None,
        }


class ClassificationDesk:
    """Classify, confirm, disagree; read an item's history. ``four_eyes``: whether a
    classification needs a second, different person before it takes effect."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        four_eyes: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.four_eyes = four_eyes
        self.clock = clock

    def classify(self, item_id: int, assessment: Assessment, *, by: str) -> Classification:
        with self.db.begin(lock=True) as conn:
            return self.record(conn, item_id, assessment, by=by)

    def record(
        self,
        conn: Connection,
        item_id: int,
        assessment: Assessment,
        *,
        by: str,
        known: tuple[str, int] | None = None,
    ) -> Classification:
        """A new classification inside the caller's transaction. ``known`` (list, entry id)
        marks a pre-classification from a list entry: it takes effect at once, as the
        entry itself was assessed (and, where banked from here, confirmed) before."""
        item = locked_item(conn, item_id)
        now = self.clock()
        version = 1 + int(
            conn.execute(
                select(func.coalesce(func.max(hotline_classifications.c.version), 0)).where(
                    hotline_classifications.c.item_id == item_id
                )
            ).scalar_one()
        )
        needs_confirmation = self.four_eyes and known is None
        values = assessment.to_dict()
        row_id = conn.execute(
            insert(hotline_classifications).values(
                item_id=item_id,
                version=version,
                **values,
                source=KNOWN if known else ANALYST,
                known_list=known[0] if known else None,
                known_entry_id=known[1] if known else None,
                needs_confirmation=needs_confirmation,
                classified_by=by,
                classified_at=now,
            )
        ).inserted_primary_key
        assert row_id is not None
        made = Classification(
            id=int(row_id[0]),
            item_id=item_id,
            version=version,
            assessment=assessment,
            source=KNOWN if known else ANALYST,
            needs_confirmation=needs_confirmation,
            by=by,
            at=now,
            known_list=known[0] if known else None,
            known_entry_id=known[1] if known else None,
        )
        self._settle(conn, item, now)
        details = {"version": version, **values, "needs_confirmation": needs_confirmation}
        if known:
            details["known"] = {"list": known[0], "entry_id": known[1]}
        self.audit.record(by, "hotline.classify", f"item:{item_id}", details, conn=conn)
        return made

    def confirm(self, item_id: int, version: int, *, by: str) -> Classification:
        """The second analyst's confirmation of ``version`` (the one they looked at)."""
        return self._review(item_id, version, by=by, verdict=CONFIRMED, reason=None)

    def disagree(self, item_id: int, version: int, *, by: str, reason: str) -> Classification:
        """The second analyst's disagreement, with a reason: the item goes back to review."""
        text = (reason or "").strip()
        if not text:
            raise ValidationError(
                "say why you disagree", [("reason", "required")], codes=frozenset({"reason"})
            )
        if len(text) > HOTLINE_MAX_REASON:
            raise ValidationError(
                f"the reason is longer than {HOTLINE_MAX_REASON} characters",
                [("reason", f"at most {HOTLINE_MAX_REASON} characters")],
            )
        return self._review(item_id, version, by=by, verdict=DISAGREED, reason=text)

    def _review(
        self, item_id: int, version: int, *, by: str, verdict: str, reason: str | None
    ) -> Classification:
        if by.startswith("token:"):
            raise PermissionDeniedError(
                "a second opinion is a person's: sign in to confirm or disagree",
                code="review_needs_a_person",
            )
        with self.db.begin(lock=True) as conn:
            item = locked_item(conn, item_id)
            found = history(conn, item_id)
            if not found:
                raise ConflictError(
                    f"item {item_id} has no classification yet", code="unclassified"
                )
            latest = found[-1]
            if version != latest.version:
                raise ConflictError(
                    f"version {version} is not the latest classification of item {item_id} "
                    f"(version {latest.version} is): look at it again",
                    code="classification_changed",
                    field="version",
                )
            if latest.state is not State.AWAITING:
                raise ConflictError(_not_awaiting(latest), code="not_awaiting_confirmation")
            if latest.by == by:
                raise PermissionDeniedError(
                    "four eyes: a classification is confirmed or disputed by a different "
                    "analyst than the one who made it",
                    code="own_classification",
                )
            now = self.clock()
            conn.execute(
                insert(hotline_classification_reviews).values(
                    classification_id=latest.id,
                    verdict=verdict,
                    reason=reason,
                    reviewed_by=by,
                    reviewed_at=now,
                )
            )
            reviewed = replace(latest, review=Review(verdict, reason, by, now))
            self._settle(conn, item, now)
            action = "hotline.confirm" if verdict == CONFIRMED else "hotline.disagree"
            details: dict[str, Any] = {"version": version, "classified_by": latest.by}
            if reason:
                details["reason"] = reason
            self.audit.record(by, action, f"item:{item_id}", details, conn=conn)
            return reviewed

    def history(self, item_id: int) -> list[Classification]:
        """Every classification of an item, oldest first, each with its review."""
        with self.db.connect() as conn:
            item_row(conn, item_id)
            return history(conn, item_id)

    def latest(self, item_id: int) -> Classification | None:
        found = self.history(item_id)
        return found[-1] if found else None

    def _settle(self, conn: Connection, item: dict[str, Any], now: datetime) -> None:
        """The item's classification and status, from its history (see the module doc)."""
        found = history(conn, item["id"])
        latest = found[-1]
        standing = [c for c in found if c.state.took_effect]
        values: dict[str, Any] = {
            "classification": standing[-1].assessment.illegality.value if standing else None
        }
        if ItemStatus(item["status"]) in ASSESSING:
            if latest.state.took_effect:
                illegal = latest.assessment.illegality.is_illegal
                values["status"] = (ItemStatus.ILLEGAL if illegal else ItemStatus.NOT_ILLEGAL).value
                if item["assessed_at"] is None:
                    values["assessed_at"] = now
            else:
                values["status"] = ItemStatus.IN_REVIEW.value
        conn.execute(update(hotline_items).where(hotline_items.c.id == item["id"]).values(values))


def history(conn: Connection, item_id: int) -> list[Classification]:
    """An item's classifications on the caller's connection, oldest first."""
    return _classifications(conn, hotline_classifications.c.item_id == item_id)


def assessed_by(conn: Connection, item_ids: Iterable[int]) -> dict[int, Classification]:
    """The classification that assessed each item: its first to take effect (when the item
    got its ``assessed_at``), with the confirming review. Items never assessed are left out."""
    ids = sorted(set(item_ids))
    found: dict[int, Classification] = {}
    if not ids:
        return found
    for classification in _classifications(conn, hotline_classifications.c.item_id.in_(ids)):
        if classification.state.took_effect:
            found.setdefault(classification.item_id, classification)
    return found


def _classifications(conn: Connection, where: ColumnElement[bool]) -> list[Classification]:
    c, r = hotline_classifications.c, hotline_classification_reviews.c
    query = (
        select(hotline_classifications, r.verdict, r.reason, r.reviewed_by, r.reviewed_at)
        .outerjoin(
            hotline_classification_reviews,
            r.classification_id == c.id,
        )
        .where(where)
        .order_by(c.item_id, c.version)
    )
    return [_classification(row._mapping) for row in conn.execute(query)]


def effective(conn: Connection, item_id: int) -> Classification | None:
    """The latest classification of an item that took effect (None: none yet)."""
    standing = [c for c in history(conn, item_id) if c.state.took_effect]
    return standing[-1] if standing else None


def item_row(conn: Connection, item_id: int, *, lock: bool = False) -> dict[str, Any]:
    """An item's row, or NotFoundError; ``lock`` holds it (PostgreSQL) until the commit."""
    query = select(hotline_items).where(hotline_items.c.id == item_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"no hotline item has id {item_id}", code="unknown_item")
    return dict(row)


def locked_item(conn: Connection, item_id: int) -> dict[str, Any]:
    return item_row(conn, item_id, lock=True)


def _not_awaiting(latest: Classification) -> str:
    version = f"version {latest.version}"
    if latest.review is not None:
        return f"{version} was already {latest.review.verdict} by {latest.review.by}"
    return f"{version} needs no confirmation (it took effect when it was made)"


def _classification(m: Any) -> Classification:
    review = None
    if m["verdict"] is not None:
        review = Review(m["verdict"], m["reason"], m["reviewed_by"], m["reviewed_at"])
    assessment = Assessment(
        illegality=Illegality(m["illegality"]),
        age_group=AgeGroup(m["age_group"]) if m["age_group"] else None,
        gender=Gender(m["gender"]) if m["gender"] else None,
        site_type=SiteType(m["site_type"]) if m["site_type"] else None,
        commercial=m["commercial"],
        notes=m["notes"],
    )
    return Classification(
        id=m["id"],
        item_id=m["item_id"],
        version=m["version"],
        assessment=assessment,
        source=m["source"],
        needs_confirmation=bool(m["needs_confirmation"]),
        by=m["classified_by"],
        at=m["classified_at"],
        known_list=m["known_list"],
        known_entry_id=m["known_entry_id"],
        review=review,
    )


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def _iso(moment: datetime) -> str:
    return moment.isoformat()
