"""The public pages' languages: gettext catalogs compiled by Babel, chosen per request.

Messages are written in English in the templates and in ``messages.py``; each other
language has ``locales/<lang>/LC_MESSAGES/messages.po``, and its compiled ``messages.mo``
is committed beside it (so ``pip install`` and the package data need no build step).
``python -m safelight.hotline.i18n`` recompiles them; a test fails if any ``.mo`` is
older than its ``.po`` in content, or if any message is missing or untranslated.
"""

from __future__ import annotations

import gettext
import sys
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

SOURCE_LANGUAGE = "en"
# The nine languages of the public pages, in the switcher's order, with their own names.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "pt": "Português",
    "ja": "日本語",
    "ko": "한국어",
    "zh": "中文",
}
DOMAIN = "messages"


def locales_dir() -> Path:
    return Path(str(resources.files("safelight.hotline") / "locales"))


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language`` (English: the messages themselves)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    path = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def choose_language(query: str | None, accept_language: str | None) -> str:
    """``?lang=`` if it names one of LANGUAGES, else the best of ``Accept-Language``
    (by q-value, then order; ``pt-BR`` serves ``pt``, ``zh-Hant`` serves ``zh``), else
    English."""
    if query and query.strip().lower() in LANGUAGES:
        return query.strip().lower()
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().replace("_", "-").split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else SOURCE_LANGUAGE


def babel_locale(language: str) -> Locale:
    return Locale.parse("zh_Hans" if language == "zh" else language)


def format_date(moment: datetime, language: str) -> str:
    """A date and time as people of ``language`` write it (UTC, named as such)."""
    return format_datetime(moment, "medium", tzinfo=None, locale=babel_locale(language)) + " UTC"


def format_number(number: int, language: str) -> str:
    return format_decimal(number, locale=babel_locale(language))


def compile_catalogs(root: Path | None = None) -> list[Path]:
    """Compile every ``.po`` under ``root`` to its ``.mo``; the files written."""
    written = []
    for po_path in sorted((root or locales_dir()).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for path in compile_catalogs(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(path)
