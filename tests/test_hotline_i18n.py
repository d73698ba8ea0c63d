"""Every message of the public pages is in every catalog, translated, with its placeholders;
no text in the templates bypasses the catalog; the compiled catalogs match their sources."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from safelight.hotline import i18n
from safelight.hotline.i18n import LANGUAGES, SOURCE_LANGUAGE, choose_language
from safelight.hotline.pages import render, site_type_choices

PACKAGE = Path(i18n.__file__).parent
TEMPLATES = PACKAGE / "templates"
TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def source_messages() -> set[str]:
    """Every message the templates and messages.py hand to gettext."""
    found = extract_from_dir(
        str(PACKAGE),
        method_map=[
            ("templates/**.html", "jinja2"),
            ("messages.py", "python"),
            ("messages_*.py", "python"),
        ],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "N_": None, "gettext": None},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def has_words(message: str) -> bool:
    """Whether a message has words to translate (not only placeholders and punctuation)."""
    return bool(re.search(r"[^\W\d_]", PLACEHOLDER.sub("", message)))


def catalog(language: str) -> dict[str, str]:
    path = PACKAGE / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and isinstance(m.id, str)}


def test_the_extraction_finds_the_messages() -> None:
    messages = source_messages()
    assert not has_words("%(field)s: %(problem)s") and has_words("Report %(reference)s")
    assert len(messages) > 50
    assert "Send report" in messages and "Image host" in messages


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_in_every_catalog(language: str) -> None:
    messages, translated = source_messages(), catalog(language)
    missing = sorted(messages - set(translated))
    assert missing == [], f"{language}: messages missing from the catalog: {missing}"
    assert sorted(set(translated) - messages) == [], f"{language}: stale messages"
    untranslated = [
        m for m in messages if not translated[m].strip() or (translated[m] == m and has_words(m))
    ]
    assert untranslated == [], f"{language}: untranslated (or left in English): {untranslated}"
    for message in messages:
        wanted = sorted(PLACEHOLDER.findall(message))
        assert sorted(PLACEHOLDER.findall(translated[message])) == wanted, (language, message)


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalogs_match_their_sources(language: str) -> None:
    folder = PACKAGE / "locales" / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        expected = io.BytesIO()
        write_mo(expected, read_po(handle), use_fuzzy=False)
    with (folder / "messages.mo").open("rb") as handle:
        committed = {m.id: m.string for m in read_mo(handle)}
    expected.seek(0)
    fresh = {m.id: m.string for m in read_mo(expected)}
    assert committed == fresh, "run: python -m safelight.hotline.i18n (and commit the .mo)"


def test_compile_catalogs_writes_every_language(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(PACKAGE / "locales", tmp_path / "locales")
    for mo in (tmp_path / "locales").glob("*/LC_MESSAGES/*.mo"):
        mo.unlink()
    written = i18n.compile_catalogs(tmp_path / "locales")
    assert sorted(path.parent.parent.name for path in written) == sorted(TRANSLATED)


TEXT_ATTRIBUTES = re.compile(r'\b(title|alt|aria-label|placeholder)="([^"]*)"')


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
)
def test_templates_have_no_text_outside_the_catalog(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    for _, value in TEXT_ATTRIBUTES.findall(source):
        assert not re.sub(r"\{\{.*?\}\}", "", value).strip(), (template, value)
    text = re.sub(r"<style>.*?</style>", "", source, flags=re.S)
    # a page's own rules go in the base's <style> through {% block style %}
    text = re.sub(r"\{% block style %\}.*?\{% endblock %\}", "", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", "", text)
    assert re.findall(r"[^\W\d_]+", text) == [], f"{template}: text not through gettext"


def test_a_planted_literal_would_be_caught(tmp_path: Path) -> None:
    """The check above is not vacuous: the same steps find a bare word."""
    source = '<p>{{ _("Send report") }} Hello</p><input placeholder="Type">'
    assert TEXT_ATTRIBUTES.findall(source) == [("placeholder", "Type")]
    text = re.sub(r"<[^>]*>", "", re.sub(r"\{\{.*?\}\}", "", source))
    assert re.findall(r"[^\W\d_]+", text) == ["Hello"]


def rendered_pages(language: str) -> dict[str, str]:
    common = {"form_token": "t", "max_urls": "20", "max_description": 10, "max_contact": 10}
    return {
        "report": render(
            "report.html",
            language,
            "/report",
            page="report",
            values={"urls": "", "description": "", "site_type": "", "contact": ""},
            problems=["x"],
            site_types=site_type_choices(language),
            contact_days="90",
            **common,
        ),
        "submitted": render(
            "submitted.html", language, "/report", reference="R", received="d", urls="1"
        ),
        "status": render(
            "status.html",
            language,
            "/report/status",
            status="received",
            not_found=True,
            status_name="s",
            status_text="t",
            reference="R",
            typed="",
            example="E",
            received="d",
            updated="d",
            urls="1",
        ),
    }


@pytest.mark.parametrize("language", TRANSLATED)
def test_rendered_pages_carry_no_english_message(language: str) -> None:
    english = {m for m in source_messages() if "%(" not in m}
    for name, html in rendered_pages(language).items():
        assert f'<html lang="{language}">' in html, name
        body = html.split("<body>", 1)[1]
        body = re.sub(r'<nav aria-label="[^"]*">\s*<ul>\s*(<li>.*?</li>\s*)+</ul>', "", body)
        left = sorted(m for m in english if f">{m}<" in body or f'"{m}"' in body)
        assert left == [], (language, name, left)


def test_english_pages_show_the_source_messages() -> None:
    """The same search the check above makes finds the messages on the English pages."""
    pages = rendered_pages("en")
    english = {m for m in source_messages() if "%(" not in m}
    shown = {m for m in english for html in pages.values() if f">{m}<" in html}
    assert len(shown) > 25
    assert '<html lang="en">' in pages["report"]
    assert "Send report" in pages["report"] and "Check status" in pages["status"]


@pytest.mark.parametrize(
    ("query", "header", "chosen"),
    [
        ("es", "de", "es"),
        ("ES ", None, "es"),
        ("xx", "ja,en;q=0.5", "ja"),
        (None, "fr-CA;q=0.4, de-DE;q=0.9", "de"),
        (None, "pt-BR", "pt"),
        (None, "zh-Hant-TW,zh;q=0.9", "zh"),
        (None, "ko;q=0, it;q=bad, sv", "en"),
        (None, None, "en"),
        (None, "ko_KR, en;q=0.1", "ko"),
    ],
)
def test_language_choice(query: str | None, header: str | None, chosen: str) -> None:
    assert choose_language(query, header) == chosen


def test_dates_and_numbers_follow_the_locale() -> None:
    moment = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    assert i18n.format_date(moment, "de").startswith("06.12.2026")
    assert i18n.format_date(moment, "ja").startswith("2026/12/06")
    assert "2026年12月6日" in i18n.format_date(moment, "zh")
    assert i18n.format_number(12345, "de") == "12.345"
    assert i18n.format_number(12345, "en") == "12,345"
    assert i18n.format_number(12345, "fr") == "12\u202f345"
