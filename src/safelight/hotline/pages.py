"""Server-rendered public pages: Jinja2 templates, each string through the gettext catalog
of the page's language (``i18n``), autoescaped."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from safelight.hotline.i18n import LANGUAGES, translations
from safelight.hotline.messages import FIELD_LINE, FIELD_NAMES, PROBLEMS, SITE_TYPES, URL_LINE
from safelight.hotline.reports import ReportProblem


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("safelight.hotline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, language: str, path: str, **values: Any) -> str:
    """``template`` in ``language``; ``path`` is the page's path, for the switcher."""
    catalog = translations(language)
    environment = _environment().overlay()
    environment.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    return environment.get_template(template).render(
        lang=language, languages=LANGUAGES, path=path, **values
    )


def site_type_choices(language: str) -> list[tuple[str, str]]:
    gettext = translations(language).gettext
    return [(site_type.value, gettext(label)) for site_type, label in SITE_TYPES.items()]


def problem_lines(problems: list[ReportProblem], language: str, **numbers: str) -> list[str]:
    """Each problem in the reporter's language (``numbers``: formatted figures for them)."""
    gettext = translations(language).gettext
    lines = []
    for problem in problems:
        text = gettext(PROBLEMS.get(problem.code, PROBLEMS["url_invalid"])) % numbers
        if problem.field.startswith("urls["):
            number = int(problem.field[5:-1]) + 1
            lines.append(gettext(URL_LINE) % {"number": number, "problem": text})
        elif problem.field in FIELD_NAMES:
            field = gettext(FIELD_NAMES[problem.field])
            lines.append(gettext(FIELD_LINE) % {"field": field, "problem": text})
        else:
            lines.append(text)
    return lines
