"""Reported URLs and report references: what is accepted, how it is normalised."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight.constants import HOTLINE_MAX_URL_LENGTH
from safelight.hotline.references import (
    ALPHABET,
    LENGTH,
    check_character,
    display,
    new_reference,
    parse_reference,
)
from safelight.hotline.urls import UrlProblem, parse_url


@pytest.mark.parametrize(
    ("text", "url", "host", "is_ip"),
    [
        ("example.com", "http://example.com/", "example.com", False),
        (
            "  HTTPS://Example.COM:443/a/b?q=1#top ",
            "https://example.com/a/b?q=1",
            "example.com",
            False,
        ),
        ("http://example.com:80", "http://example.com/", "example.com", False),
        ("example.com:8080/x", "http://example.com:8080/x", "example.com", False),
        ("//cdn.example.org/i.jpg", "http://cdn.example.org/i.jpg", "cdn.example.org", False),
        (
            "https://bücher.de/straße",
            "https://xn--bcher-kva.de/stra%C3%9Fe",
            "xn--bcher-kva.de",
            False,
        ),
        ("http://例え.jp/", "http://xn--r8jz45g.jp/", "xn--r8jz45g.jp", False),
        ("http://203.0.113.7/a", "http://203.0.113.7/a", "203.0.113.7", True),
        ("http://[2001:DB8::1]:8443/", "http://[2001:db8::1]:8443/", "2001:db8::1", True),
        ("http://example.com./", "http://example.com/", "example.com", False),
    ],
)
def test_accepted_urls_are_normalised(text: str, url: str, host: str, is_ip: bool) -> None:
    parsed = parse_url(text)
    assert (parsed.url, parsed.host, parsed.host_is_ip) == (url, host, is_ip)
    assert parsed.submitted == text.strip()
    assert len(parsed.key) == 64


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "url_empty"),
        ("   ", "url_empty"),
        ("javascript:alert(1)", "url_scheme"),
        ("file:///etc/passwd", "url_scheme"),
        ("data:text/html,hi", "url_scheme"),
        ("ftp://example.com/x", "url_scheme"),
        ("chrome://settings", "url_scheme"),
        ("http://user:secret@example.com/", "url_credentials"),
        ("http://user@example.com/", "url_credentials"),
        ("http://intranet/", "url_host"),
        ("http:///path", "url_host"),
        ("http://-bad-.com/", "url_host"),
        ("http://exa_mple.com/", "url_host"),
        ("http://example.123/", "url_host"),
        ("http://" + "a" * 64 + ".com/", "url_host"),
        ("http://example.com:99999/", "url_invalid"),
        ("http://[::1/", "url_invalid"),
        ("http://example.com/a b", "url_invalid"),
        ("http://example.com/\x00", "url_invalid"),
        ("http://example.com/" + "a" * HOTLINE_MAX_URL_LENGTH, "url_too_long"),
    ],
)
def test_refused_urls_say_why(text: str, code: str) -> None:
    with pytest.raises(UrlProblem) as problem:
        parse_url(text)
    assert problem.value.code == code


def test_the_length_bound_holds_at_the_edge() -> None:
    base = "http://example.com/"
    exactly = base + "a" * (HOTLINE_MAX_URL_LENGTH - len(base))
    assert parse_url(exactly).url == exactly
    with pytest.raises(UrlProblem):
        parse_url(exactly + "a")
    # percent-encoding can lengthen a URL past the bound: that is refused too
    with pytest.raises(UrlProblem, match="longer"):
        parse_url(base + "é" * (HOTLINE_MAX_URL_LENGTH - len(base)))


labels = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
paths = st.text(alphabet=string.ascii_letters + string.digits + "/-._~%é", max_size=40)


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.lists(labels, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "de"]),
    paths,
)
def test_normalising_twice_changes_nothing(
    scheme: str, names: list[str], tld: str, path: str
) -> None:
    once = parse_url(f"{scheme}://{'.'.join(names)}.{tld}/{path}")
    twice = parse_url(once.url)
    assert twice.url == once.url and twice.key == once.key
    assert once.url.isascii()


# --- references ------------------------------------------------------------------------------


def test_new_references_are_valid_and_distinct() -> None:
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    for reference in references:
        assert len(reference) == LENGTH and set(reference) <= set(ALPHABET)
        assert parse_reference(reference) == reference


def test_the_one_swap_luhn_misses_is_zero_and_z() -> None:
    missed = set()
    for first in ALPHABET:
        for second in ALPHABET:
            body = "1234567" + first + second
            swapped = "1234567" + second + first
            if first != second and check_character(body) == check_character(swapped):
                missed.add(first + second)
    assert missed == {"0Z", "Z0"}


def test_references_read_back_as_people_type_them() -> None:
    reference = new_reference()
    shown = display(reference)
    assert shown[5] == "-" and shown.replace("-", "") == reference
    assert parse_reference(shown.lower()) == reference
    assert parse_reference(f"  {shown[:3]} {shown[3:]} ") == reference
    zeros = "0" * 9 + check_character("0" * 9)
    assert parse_reference("OOOOO-OOOO" + zeros[-1]) == zeros
    ones = "1" * 9 + check_character("1" * 9)
    assert parse_reference("IiLl1" + "1111" + ones[-1]) == ones
    assert parse_reference("") is None
    assert parse_reference(reference + "0") is None
    assert parse_reference("U" + reference[1:]) is None


@given(st.text(alphabet=ALPHABET, min_size=9, max_size=9), st.data())
def test_the_check_character_catches_one_typo_and_one_swap(body: str, data: st.DataObject) -> None:
    reference = body + check_character(body)
    position = data.draw(st.integers(0, LENGTH - 1))
    wrong = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != reference[position]))
    typo = reference[:position] + wrong + reference[position + 1 :]
    assert parse_reference(typo) is None
    swap_at = data.draw(st.integers(0, LENGTH - 2))
    swapped = (
        reference[:swap_at] + reference[swap_at + 1] + reference[swap_at] + reference[swap_at + 2 :]
    )
    if swapped != reference and {reference[swap_at], reference[swap_at + 1]} != {"0", "Z"}:
        assert parse_reference(swapped) is None
