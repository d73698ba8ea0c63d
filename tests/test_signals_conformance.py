"""End to end from files against upstream's expected PDQ hashes (../shared/conformance/pdq).

Tolerance rules (conformance README): exact to the directly hashable python-threatexchange rows
(Pillow + pdqhash at full resolution) in reference mode and in the default mode
(DEFAULT_MODE_MAX_BITS = 0); <= 10 bits to the C++ (CImg, 512x512 resize), Java (ImageIO) and
PHP (libgd) rows, whose decoders and pre-resizing differ; <= 16 to the pure-Python rows
(upstream's own test tolerance). Rows made with python-threatexchange pre-processing
(un-letterboxing, PIL rotations) get that pre-processing from python-threatexchange itself (a
dev dependency) and are then held to the same rules as the plain pytx rows.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safelight.constants import (
    DEFAULT_MODE_MAX_BITS,
    FAST_MODE_MAX_BITS,
    PDQ_UPSTREAM_TOLERANCE,
)
from safelight.signals import pdq
from safelight.signals.files import hash_file
from safelight.signals.options import HashOptions

from .conftest import CONFORMANCE, conformance_dir

EXPECTED = CONFORMANCE / "pdq" / "expected" / "upstream_expected_pdq.tsv"
PDQ_ONLY = frozenset({"pdq"})


def _rows() -> list[dict[str, str]]:
    if not EXPECTED.is_file():
        return [{"image": "(conformance data absent)"}]
    lines = [line for line in EXPECTED.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


PYTX = "pytx(Pillow+pdqhash,full-res)"


def _tolerance(implementation: str) -> int:
    """Allowed bits for a row in the default mode."""
    if implementation.startswith("pytx("):
        return DEFAULT_MODE_MAX_BITS
    if implementation.startswith("pure-python-ref"):
        return 16
    return PDQ_UPSTREAM_TOLERANCE  # cpp-ref, java-ref, php-ref: other decoders and resizing


def _is_plain_or_preprocessed_pytx(implementation: str) -> bool:
    """pytx rows hashed by Pillow + pdqhash at full resolution: reference mode is exact."""
    return implementation.startswith(PYTX)


_UNLETTERBOX = re.compile(r"\+unletterbox\(black_threshold=(\d+)\)$")
_TRANSFORM = re.compile(r"\+PIL-transform:([A-Z0-9]+)$")


def _preprocessed(image: Path, implementation: str, workdir: Path) -> Path:
    """The file python-threatexchange's ``hash --photo-preprocess`` would hash for this row.

    Pixel-domain rotations (pytx ``--photo-preprocess=rotations``) are re-encoded files, not
    pdq8's DCT-domain dihedral hashes (64-92 bits apart on LA.png, docs/signals.md), so they are
    made the way pytx makes them and hashed as files.
    """
    unletterbox, transform = _UNLETTERBOX.search(implementation), _TRANSFORM.search(implementation)
    if unletterbox is None and transform is None:
        return image
    photo = pytest.importorskip("threatexchange.content_type.photo")
    if unletterbox is not None:
        data = photo.PhotoContent.unletterbox(image, int(unletterbox.group(1)))
    else:
        assert transform is not None
        rotations = photo.PhotoContent.all_simple_rotations(image.read_bytes())
        data = {kind.name: value for kind, value in rotations.items()}[transform.group(1)]
    out = workdir / f"preprocessed{image.suffix}"  # pytx's hash command keeps the suffix too
    out.write_bytes(data)
    return out


ROWS = _rows()


@pytest.mark.conformance
@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['image']}|{r.get('implementation', '')[:14]}" for r in ROWS]
)
def test_upstream_expected_hash(row: dict[str, str], tmp_path: Path) -> None:
    images = conformance_dir("pdq", "images")
    implementation = row["implementation"]
    path = str(_preprocessed(images / row["image"], implementation, tmp_path))
    default = hash_file(path, HashOptions(signals=PDQ_ONLY))
    assert default.error is None and default.pdq is not None
    expected = bytes.fromhex(row["pdq_hex"])
    assert pdq.hamming_distance(default.pdq.digest, expected) <= _tolerance(implementation)
    if _is_plain_or_preprocessed_pytx(implementation):
        reference = hash_file(path, HashOptions(signals=PDQ_ONLY, mode="reference"))
        assert reference.pdq is not None and reference.pdq.hex == row["pdq_hex"]
        if row["quality"]:
            assert reference.pdq.quality == default.pdq.quality == int(row["quality"])


def _all_images() -> list[Path]:
    images = conformance_dir("pdq", "images")
    return sorted(p for p in images.rglob("*") if p.suffix.lower() != ".md" and p.is_file())


@pytest.mark.conformance
def test_every_conformance_image_default_and_fast_against_the_hma_path() -> None:
    default_bits, fast_bits = [], []
    for path in _all_images():
        with Image.open(path) as image:
            hma = pdq.pdq_from_rgb(np.asarray(image.convert("RGB")))  # Pillow RGB -> pdqhash
        default = hash_file(str(path), HashOptions(signals=PDQ_ONLY))
        fast = hash_file(str(path), HashOptions(signals=PDQ_ONLY, mode="fast"))
        reference = hash_file(str(path), HashOptions(signals=PDQ_ONLY, mode="reference"))
        assert default.pdq and fast.pdq and reference.pdq, path
        assert reference.pdq == hma, path
        assert default.pdq.quality == hma.quality, path
        default_bits.append(default.pdq.distance(hma))
        fast_bits.append(fast.pdq.distance(hma))
    assert len(default_bits) > 40
    assert max(default_bits) == DEFAULT_MODE_MAX_BITS == 0
    assert max(fast_bits) <= FAST_MODE_MAX_BITS


@pytest.mark.conformance
def test_python_threatexchange_pitfalls_are_fixed() -> None:
    # pytx hashes np.asarray(image) unconverted: CMYK ~254 bits off, palette 38, 1-bit quality 0.
    modes = conformance_dir("pdq", "images", "modes")
    original = hash_file(str(modes / "RGB.jpg"), HashOptions(signals=PDQ_ONLY))
    assert original.pdq is not None
    for name in ("CMYK.jpg", "P.png", "1.png", "L.png", "PA.webp", "LAB.webp", "HSV.webp"):
        record = hash_file(str(modes / name), HashOptions(signals=PDQ_ONLY))
        assert record.pdq is not None, name
        assert record.pdq.distance(original.pdq) <= 16, name
        assert record.pdq.quality == 100, name
