"""docs/referrals.md against the code: roles, columns and the referral.json schema; and every
built package against the JSON Schema."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from safelight.referrals import SCHEMA, BuildRequest, build_referral
from safelight.referrals.content import TABLES
from safelight.referrals.roles import CATEGORIES, ROLES
from safelight.store import Database
from tests.referral_support import PASSPHRASE, StaticSource, make_key, make_scan_run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "referrals.md"


def block(name: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {name}:start[^>]*-->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert found, f"docs/referrals.md lacks the {name} block"
    return found.group(1)


def schema() -> dict[str, object]:
    path = resources.files("safelight.referrals") / "referral.schema.json"
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_the_roles_table_is_the_code() -> None:
    lines = ["| role | categories | why |", "|---|---|---|"]
    for role in ROLES.values():
        categories = ", ".join(c for c in CATEGORIES if c in role.categories)
        lines.append(f"| `{role.name}` | {categories} | {role.reason} |")
    assert block("referral-roles") == "\n".join(lines) + "\n"


def test_the_columns_table_is_the_code() -> None:
    lines = ["| file | " + " | ".join(CATEGORIES) + " |", "|---|" + "---|" * len(CATEGORIES)]
    for table, columns in TABLES.items():
        cells = [
            ", ".join(f"`{c}`" for c, cat in columns.items() if cat == category) or "-"
            for category in CATEGORIES
        ]
        lines.append(f"| `{table}.csv` | " + " | ".join(cells) + " |")
    assert block("referral-columns") == "\n".join(lines) + "\n"


def test_the_schema_table_is_the_json_schema() -> None:
    documented = re.findall(r"^\| `(\w+)` \|", block("referral-schema"), re.M)
    properties = schema()["properties"]
    assert isinstance(properties, dict)
    assert documented == list(properties)
    assert schema()["title"] == SCHEMA
    assert f"schema `{SCHEMA}`" in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_package_holds_to_the_schema(db: Database, tmp_path: Path, role: str) -> None:
    home = tmp_path / "home"
    make_key(home)
    from safelight.referrals import ScanRunSource

    sources = [StaticSource(), ScanRunSource(db, make_scan_run(db))]
    request = BuildRequest("DE", sources, tmp_path / "pkg", "t", recipient_role=role)
    built = build_referral(db, request, home=home, passphrase=PASSPHRASE)
    document = json.loads((built.path / "referral.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema(), format_checker=jsonschema.FormatChecker())
    assert document["items"]["count"] == built.record.items
    # A document missing a required key or with an unknown one is refused by the schema.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "extra": 1}, schema())
    del document["country"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema())
