"""How a classification is written on a list entry's labels, and read back from them.

Entries banked from the hotline carry ``hotline:<dimension>=<value>`` labels (one per
dimension recorded) plus ``INTERPOL baseline`` for baseline material, the label other lists
commonly use (docs/lists.md), and provenance labels naming the report and item. Reading
goes the other way, for any entry of any list: an entry whose labels name an illegality
(``hotline:illegality=...``, or ``INTERPOL baseline`` / ``baseline`` in any case) is known
material. Lists labelled in another scheme can be given these labels on import
(``lists import --label hotline:illegality=national``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from safelight.hotline.classification import (
    AgeGroup,
    Assessment,
    Classification,
    Gender,
    Illegality,
)
from safelight.hotline.model import SiteType

PREFIX = "hotline:"
BASELINE_LABELS = frozenset({"interpol baseline", "baseline"})
INTERPOL_BASELINE = "INTERPOL baseline"
# Most severe first: an entry labelled two ways is read as the more severe (it is never
# shown again either way; the analyst sees the labels).
SEVERITY = (Illegality.BASELINE, Illegality.NATIONAL, Illegality.NOT_ILLEGAL)
ILLEGALITIES = frozenset(i.value for i in Illegality)
E = TypeVar("E", AgeGroup, Gender, SiteType)


def labels_of(classification: Classification, *, reference: str) -> list[str]:
    """The labels an entry banked from this classification carries."""
    a = classification.assessment
    labels = [f"{PREFIX}illegality={a.illegality.value}"]
    if a.illegality is Illegality.BASELINE:
        labels.append(INTERPOL_BASELINE)
    for name, member in (
        ("age_group", a.age_group),
        ("gender", a.gender),
        ("site_type", a.site_type),
    ):
        if member is not None:
            labels.append(f"{PREFIX}{name}={member.value}")
    if a.commercial is not None:
        labels.append(f"{PREFIX}commercial={'yes' if a.commercial else 'no'}")
    labels.append(f"{PREFIX}report={reference}")
    labels.append(f"{PREFIX}item={classification.item_id}")
    return labels


def assessment_of(labels: Iterable[str]) -> Assessment | None:
    """The classification an entry's labels record, or None when they record none."""
    found: dict[str, str] = {}
    illegalities: set[Illegality] = set()
    for label in labels:
        if label.strip().lower() in BASELINE_LABELS:
            illegalities.add(Illegality.BASELINE)
            continue
        if not label.startswith(PREFIX):
            continue
        name, _, value = label[len(PREFIX) :].partition("=")
        if name == "illegality" and value in ILLEGALITIES:
            illegalities.add(Illegality(value))
        elif name in ("age_group", "gender", "site_type", "commercial"):
            found[name] = value
    if not illegalities:
        return None
    illegality = next(i for i in SEVERITY if i in illegalities)
    return Assessment(
        illegality=illegality,
        age_group=_member(AgeGroup, found.get("age_group")),
        gender=_member(Gender, found.get("gender")),
        site_type=_member(SiteType, found.get("site_type")),
        commercial={"yes": True, "no": False}.get(found.get("commercial", "")),
    )


def _member(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None
