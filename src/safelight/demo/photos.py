"""Demo step 1: generate benign photos, hash them, and show that edited copies still match."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.signals.batch import hash_paths
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord, printable
from safelight.signals.synthetic import photo_like

# (width, height, suffix) of the generated originals: JPEGs of two sizes and some PNGs.
DEMO_SHAPES = (
    [(1024, 768, ".jpg")] * 4
    + [(640, 480, ".jpg")] * 4
    + [(800, 600, ".png")] * 2
    + [(480, 640, ".jpg")] * 2
)


@dataclass(frozen=True, slots=True)
class VariantMatch:
    """An original, an edited copy of it, and how far apart their PDQ hashes are."""

    original: str
    variant: str
    edit: str
    distance: int

    @property
    def matches(self) -> bool:
        return self.distance <= PDQ_MATCH_THRESHOLD


@dataclass(frozen=True, slots=True)
class PhotoDemo:
    records: list[HashRecord]
    variants: list[VariantMatch]
    unrelated_distance: int  # between two different generated photos, for contrast


def _edited(original: Path, out: Path, index: int) -> tuple[Path, str]:
    """A copy as platforms re-serve photos: resized to 60% and re-encoded as JPEG quality 70."""
    with Image.open(original) as image:
        smaller = image.convert("RGB").resize(
            (image.width * 3 // 5, image.height * 3 // 5), Image.Resampling.LANCZOS
        )
    buffer = io.BytesIO()
    smaller.save(buffer, "JPEG", quality=70)
    path = out / f"edited-{index:02d}.jpg"
    path.write_bytes(buffer.getvalue())
    return path, "resized to 60%, re-encoded JPEG q70"


def generate(out: Path, seed: int = 2024) -> tuple[list[Path], list[tuple[Path, Path, str]]]:
    """Write the originals and one edited copy of each of the first four."""
    out.mkdir(parents=True, exist_ok=True)
    originals = []
    for index, (width, height, suffix) in enumerate(DEMO_SHAPES):
        path = out / f"photo-{index:02d}{suffix}"
        image = Image.fromarray(photo_like(seed + index, width, height))
        image.save(path, quality=85) if suffix == ".jpg" else image.save(path)
        originals.append(path)
    pairs = []
    for index, original in enumerate(originals[:4]):
        variant, edit = _edited(original, out, index)
        pairs.append((original, variant, edit))
    return originals, pairs


def run_photo_demo(out: Path, echo: Callable[[str], None] = print) -> PhotoDemo:
    """Generate, hash and print: every photo, then each edited copy against its original."""
    echo(f"== Photos: generating benign synthetic photos in {out}")
    originals, pairs = generate(out)
    paths = [str(p) for p in originals] + [str(v) for _, v, _ in pairs]
    records = list(hash_paths(paths, HashOptions(signals=frozenset({"pdq", "sha256"}))))
    by_path = {r.path: r for r in records}
    echo(f"{'path':<28} {'bytes':>8}  {'pdq':<64}  quality")
    for record in records:
        name = printable(Path(record.path).name)
        pdq_hex = record.pdq.hex if record.pdq else f"ERROR {record.error}"
        quality = record.pdq.quality if record.pdq else "-"
        echo(f"{name:<28} {record.size:>8}  {pdq_hex:<64}  {quality}")
    variants = []
    echo(f"\nEdited copies against their originals (match: distance <= {PDQ_MATCH_THRESHOLD}):")
    for original, variant, edit in pairs:
        first, second = by_path[str(original)].pdq, by_path[str(variant)].pdq
        if first is None or second is None:
            continue
        match = VariantMatch(str(original), str(variant), edit, first.distance(second))
        variants.append(match)
        verdict = "MATCH" if match.matches else "no match"
        echo(f"  {variant.name} vs {original.name}: {match.distance:>3} bits  {verdict}  ({edit})")
    first, second = records[0].pdq, records[1].pdq
    unrelated = first.distance(second) if first and second else 0
    echo(
        f"  {Path(records[1].path).name} vs {Path(records[0].path).name}: {unrelated:>3} bits  "
        "no match  (different photos)"
    )
    return PhotoDemo(records, variants, unrelated)
