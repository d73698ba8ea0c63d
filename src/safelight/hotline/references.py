"""Report references: unguessable, short enough to type, hard to mistype.

A reference is 9 random characters of Crockford's base-32 alphabet (no I, L, O or U, so no
letter reads as a digit) and one check character, Luhn mod 32 over the other nine: any one
mistyped character is caught, and any swap of two neighbours but 0 and Z (Luhn's
blind spot, as 09/90 is in base ten). 9 x 5 = 45 random bits (3.5e13
references), against a status lookup that is rate limited per client address.
Shown as ``XXXXX-XXXXX``; read back case-insensitively, with or without the dash, with
O read as 0 and I or L as 1 (Crockford's decoding).
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 9
LENGTH = RANDOM_LENGTH + 1
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(body: str) -> str:
    """Luhn mod N (N = 32) over ``body``: the character that makes the whole valid."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def new_reference() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def parse_reference(text: str) -> str | None:
    """The canonical reference ``text`` stands for, or None if it cannot be one."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "").translate(_READ_AS)
    if len(cleaned) != LENGTH or any(char not in _VALUE for char in cleaned):
        return None
    if check_character(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def display(reference: str) -> str:
    return f"{reference[:5]}-{reference[5:]}"
