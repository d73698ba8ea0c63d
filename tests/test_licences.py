"""Licence audit: no GPL or AGPL package among Safelight's required dependencies.

The tree is walked as installed: the ``dependencies`` of pyproject.toml, then recursively
every package's Requires-Dist whose environment marker holds here (a dependency's extras only
where a requirement asks for them; Safelight's own extras, dev included, are not walked).

A package's licence terms are read from all three places its metadata may hold them:
License-Expression (SPDX), the ``License ::`` classifiers, and the License field (a licence
name; when it is a whole licence file instead, its ``License: <SPDX>`` lines, which is how
wheels such as SciPy's declare the libraries they bundle). A term is forbidden when it is GPL
or AGPL, unless an SPDX ``OR`` offers a permitted alternative or it carries a linking
exception (below). LGPL is allowed only for a package named in LGPL_JUSTIFIED with the reason.
"""

from __future__ import annotations

import re
import tomllib
from email.message import Message
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# Packages allowed to carry LGPL terms among the required dependencies, each with why.
LGPL_JUSTIFIED: dict[str, str] = {
    # SciPy's wheels bundle GCC's libquadmath (LGPL-2.1-or-later) as a shared library of its
    # own (scipy.libs/libquadmath*.so), dynamically linked by SciPy's Fortran code, unmodified
    # and replaceable: LGPL lets a program under any licence use a library linked that way.
    # Safelight neither modifies nor statically links it, and SciPy itself is BSD-3-Clause.
    "scipy": "bundles libquadmath (LGPL-2.1-or-later) as a separate, dynamically linked .so",
}

# Exceptions that take a GPL component out of copyleft for the programs that use it: the
# GCC runtime library exception (libgfortran/libgcc bundled in SciPy and NumPy wheels) lets
# any program link the runtime whatever its licence; Classpath and LLVM likewise.
LINKING_EXCEPTIONS = ("GCC-exception-", "Classpath-exception-", "LLVM-exception")

_GPL = re.compile(r"\bA?GPL|\bGNU (?:Affero )?General Public", re.IGNORECASE)
_LGPL = re.compile(r"\bLGPL|\bGNU (?:Lesser|Library)", re.IGNORECASE)
_BUNDLED = re.compile(r"^\s*License:\s*(.+?)\s*$", re.MULTILINE)


def licence_terms(meta: Message) -> list[str]:
    """Every licence statement of a package: SPDX expressions, classifiers, License."""
    terms: list[str] = []
    if meta.get("License-Expression"):
        terms.append(str(meta["License-Expression"]))
    terms += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = str(meta.get("License") or "").strip()
    if "\n" in text:  # a licence file: the licences it declares for what the wheel bundles
        terms += _BUNDLED.findall(text)
    elif text:
        terms.append(text)
    return terms


def _spdx_allowed(expression: str, package: str) -> bool | None:
    """An SPDX expression is allowed if its AND parts are, an OR if one alternative is;
    None if ``expression`` is not one (a licence's name in words, such as "Apache 2.0")."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def peek() -> str:
        return tokens[position].upper() if position < len(tokens) else ""

    def parse_or() -> bool:
        nonlocal position
        allowed = parse_and()
        while peek() == "OR":
            position += 1
            allowed = parse_and() or allowed
        return allowed

    def parse_and() -> bool:
        nonlocal position
        allowed = parse_with()
        while peek() == "AND":
            position += 1
            allowed = parse_with() and allowed
        return allowed

    def parse_with() -> bool:
        nonlocal position
        if peek() == "(":
            position += 1
            allowed = parse_or()
            if peek() != ")":
                raise ValueError(expression)
            position += 1
            return allowed
        licence = tokens[position] if position < len(tokens) else ""
        if not re.fullmatch(r"[A-Za-z0-9.+-]*[A-Za-z][A-Za-z0-9.+-]*", licence) or not (
            "-" in licence or licence.isupper() or licence in _SPDX_WORDS
        ):
            raise ValueError(expression)
        position += 1
        if peek() == "WITH":
            exception = tokens[position + 1] if position + 1 < len(tokens) else ""
            position += 2
            if exception.startswith(LINKING_EXCEPTIONS):
                return True
        return _term_allowed(licence, package)

    try:
        allowed = parse_or()
    except ValueError:
        return None
    return allowed if position == len(tokens) else None


# SPDX identifiers without a hyphen or an upper-case name (MIT, BSD and the like are upper).
_SPDX_WORDS = frozenset({"Unlicense", "Zlib", "Beerware", "Glide", "Naumen", "Xnet"})


def _term_allowed(term: str, package: str) -> bool:
    if _LGPL.search(term):
        return package in LGPL_JUSTIFIED
    return not _GPL.search(term)


def forbidden_terms(package: str, terms: list[str]) -> list[str]:
    """The terms that make ``package`` unacceptable as a required dependency."""
    found = []
    for term in terms:
        allowed = None if term.startswith("License ::") else _spdx_allowed(term, package)
        if allowed is None:  # a classifier, or a licence named in words
            allowed = _term_allowed(term, package)
        if not allowed:
            found.append(term)
    return found


def required_tree() -> dict[str, metadata.Distribution]:
    """Every installed distribution Safelight's required dependencies pull in, by name."""
    roots = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    pending = [(Requirement(spec), "safelight") for spec in roots]
    found: dict[str, metadata.Distribution] = {}
    missing: list[str] = []
    while pending:
        requirement, parent = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{requirement} (required by {parent})")
            continue
        found[name] = dist
        extras = {"", *requirement.extras}
        for spec in dist.requires or []:
            child = Requirement(spec)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                pending.append((child, name))
    assert not missing, "required packages not installed, so not audited: " + ", ".join(missing)
    return found


def _table(rows: list[tuple[str, str, str]]) -> str:
    width = max(len(name) + len(version) + 1 for name, version, _ in rows)
    return "\n".join(f"  {f'{name} {version}':<{width}}  {terms}" for name, version, terms in rows)


def test_required_dependency_tree_has_no_gpl() -> None:
    tree = required_tree()
    rows: list[tuple[str, str, str]] = []
    bad: list[str] = []
    for name, dist in sorted(tree.items()):
        terms = licence_terms(dist.metadata)  # type: ignore[arg-type]
        rows.append((name, dist.version, "; ".join(terms) or "(no licence metadata)"))
        if forbidden := forbidden_terms(name, terms):
            bad.append(f"{name}: {'; '.join(forbidden)}")
    assert "numpy" in tree and "sqlalchemy" in tree  # the walk found the tree
    assert not bad, (
        "GPL/AGPL among the required dependencies:\n  "
        + "\n  ".join(bad)
        + "\n\nEvery required package and its licence:\n"
        + _table(rows)
    )


def _meta(**fields: str | list[str]) -> Message:
    meta = Message()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            meta[key.replace("_", "-")] = item
    return meta


@pytest.mark.parametrize(
    ("meta", "forbidden"),
    [
        (_meta(License_Expression="MIT"), []),
        (_meta(License_Expression="GPL-3.0-only"), ["GPL-3.0-only"]),
        (_meta(License_Expression="AGPL-3.0-or-later"), ["AGPL-3.0-or-later"]),
        (_meta(License_Expression="GPL-2.0-only OR MIT"), []),
        (_meta(License_Expression="(GPL-2.0-only OR BSD-3-Clause) AND MIT"), []),
        (_meta(License_Expression="GPL-2.0-only AND MIT"), ["GPL-2.0-only AND MIT"]),
        (_meta(License_Expression="LGPL-3.0-only"), ["LGPL-3.0-only"]),
        (_meta(License_Expression="GPL-3.0-or-later WITH GCC-exception-3.1"), []),
        (
            _meta(Classifier="License :: OSI Approved :: GNU General Public License v3 (GPLv3)"),
            ["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"],
        ),
        (
            _meta(Classifier="License :: OSI Approved :: GNU Affero General Public License v3"),
            ["License :: OSI Approved :: GNU Affero General Public License v3"],
        ),
        (
            _meta(Classifier="License :: OSI Approved :: GNU Lesser General Public License v3"),
            ["License :: OSI Approved :: GNU Lesser General Public License v3"],
        ),
        (_meta(License="GNU GPL v2"), ["GNU GPL v2"]),
        (_meta(License="BSD"), []),
        (
            _meta(License="BSD text...\n Name: libgfortran\n License: GPL-3.0-or-later\n"),
            ["GPL-3.0-or-later"],
        ),
        (
            _meta(License="BSD text\n License: GPL-3.0-or-later WITH GCC-exception-3.1\n"),
            [],
        ),
    ],
)
def test_audit_rules(meta: Message, forbidden: list[str]) -> None:
    assert forbidden_terms("pkg", licence_terms(meta)) == forbidden


def test_lgpl_needs_a_justification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LGPL_JUSTIFIED, "pkg", "a separate package, dynamically linked")
    assert forbidden_terms("pkg", ["LGPL-3.0-only"]) == []
    assert forbidden_terms("other", ["LGPL-3.0-only"]) == ["LGPL-3.0-only"]
