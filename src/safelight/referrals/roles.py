"""Who may receive what: recipient roles and the categories of field each may receive.

Every column a package can carry belongs to one category. A package carries a column only
when its recipient's role allows the column's category; it records every column it carries
and every one it withheld, each with the reason (``referral.json``: ``fields``). The rule is
data minimisation (GDPR Art. 5(1)(c)): hashes and metadata by default, personal data only
for a recipient whose role is to act on it. docs/referrals.md holds this table; a test holds
the page to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from safelight.errors import UsageError

# Categories of field, from least to most sensitive.
HASHES = "hashes"
METADATA = "metadata"
NETWORK = "network"
PERSONAL = "personal"

CATEGORIES: dict[str, str] = {
    HASHES: "digests and PDQ of known material, with the lists and labels that matched",
    METADATA: "counts, sizes, times, groups, list names: no person can be singled out",
    NETWORK: "country, ASN and network operator, client software of a connection",
    PERSONAL: "IP addresses, connection and peer ids, file paths, contacts: personal data",
}


@dataclass(frozen=True)
class Role:
    name: str
    categories: frozenset[str]
    reason: str  # why this role receives what it does (recorded in every package)


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            "law_enforcement",
            frozenset({HASHES, METADATA, NETWORK, PERSONAL}),
            "police and prosecutors identify and act on the people behind a connection: "
            "they need its IP address and ids",
        ),
        Role(
            "hotline",
            frozenset({HASHES, METADATA, NETWORK}),
            "a hotline assesses material and passes it to police and providers of its "
            "country; it needs where material spreads, not who holds it",
        ),
        Role(
            "platform",
            frozenset({HASHES, METADATA}),
            "a platform's trust and safety team blocks known material by hash; it needs "
            "the hashes, not the network",
        ),
    )
}

DEFAULT_ROLE = "hotline"


def get_role(name: str) -> Role:
    try:
        return ROLES[name]
    except KeyError:
        raise UsageError(
            f"recipient role {name!r}: choose one of {', '.join(ROLES)}",
            code="unknown_role",
            field="recipient_role",
        ) from None


@dataclass(frozen=True)
class FieldDecision:
    """One column of one file: carried or withheld, and why."""

    file: str
    column: str
    category: str
    carried: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "column": self.column,
            "category": self.category,
            "carried": self.carried,
            "reason": self.reason,
        }


def decide(role: Role, file: str, columns: dict[str, str]) -> list[FieldDecision]:
    """For each ``column -> category`` of ``file``: whether ``role`` may receive it."""
    out = []
    for column, category in columns.items():
        if category not in CATEGORIES:
            raise ValueError(f"{file}:{column}: unknown category {category!r}")
        carried = category in role.categories
        why = (
            f"role {role.name} may receive {category} fields: {role.reason}"
            if carried
            else f"withheld: role {role.name} does not receive {category} fields"
        )
        out.append(FieldDecision(file, column, category, carried, why))
    return out
