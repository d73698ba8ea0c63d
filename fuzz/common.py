"""What the harnesses share: the crash rule and tiny benign seed makers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image

from safelight.errors import SafelightError
from safelight.lists.formats import read_records
from safelight.lists.models import Problem, Record
from safelight.lists.records import HashingReader, ParseOptions

NAME = "fuzz-input"


class Crash(AssertionError):
    """The code under test broke a promise about bad input (wrong answer or error shape)."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Crash(what)


@contextmanager
def error_tree_is_fine() -> Iterator[None]:
    """An error from Safelight's own tree is the promised answer to bad bytes; every other
    exception propagates and is a crash."""
    try:
        yield
    except SafelightError as exc:
        check(bool(exc.code) and bool(exc.message), f"error without code or message: {exc!r}")


def gradient(width: int = 8, height: int = 8) -> Image.Image:
    """A benign RGB gradient (no content of any kind beyond colour ramps)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height)], -1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def encoded(fmt: str, image: Image.Image | None = None, **params: object) -> bytes:
    out = io.BytesIO()
    (image or gradient()).save(out, format=fmt, **params)
    return out.getvalue()


def read_list(fmt: str, data: bytes) -> list[object]:
    """Every item a list reader yields for ``data``, each checked for its promised shape."""
    items: list[object] = []
    with error_tree_is_fine():
        source = HashingReader(io.BytesIO(data))
        for item in read_records(fmt, source, NAME, ParseOptions(), skip_invalid=False):
            if isinstance(item, Problem):
                check(item.location.startswith(f"{NAME}:"), f"problem not located: {item}")
                check(bool(item.reason), f"problem without a reason: {item}")
            else:
                check(isinstance(item, Record), f"reader yielded {type(item).__name__}")
                check(bool(item.value) and bool(item.key), f"empty record {item}")
            items.append(item)
    return items
