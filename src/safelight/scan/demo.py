"""A self-contained scan demo: a generated benign corpus with planted known items.

``run_demo_scan`` builds a folder of photo-like images, a zip partner upload holding a nested
tar.gz, and a demo hash list naming three of the images ("known"). One known image is planted
as an exact copy, one resized and re-encoded (found only by PDQ), one deep inside the nested
archive; a path-traversal member shows how hostile archives are recorded (hashed, matched
and flagged ``unsafe_name``, never extracted). It scans the corpus
and reports what it found. ``safelight demo`` calls it.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from PIL import Image

from safelight.errors import ConflictError
from safelight.lists import HashListStore
from safelight.scan.corpus import jpeg_bytes
from safelight.scan.hashing import PipelineHasher
from safelight.scan.runner import ScanOptions, run_scan
from safelight.scan.runs import RunStore
from safelight.store import Database

DEMO_IMAGES = 24
DEMO_LIST = "SCAN_DEMO"


def _reencoded(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    smaller = image.resize((image.width * 9 // 10, image.height * 9 // 10))
    buffer = io.BytesIO()
    smaller.save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_demo_corpus(
    workdir: Path, images: int = DEMO_IMAGES
) -> tuple[Path, list[tuple[str, str, list[str]]]]:
    """Write the corpus under ``workdir``; return it and the demo list's entries."""
    corpus = workdir / "corpus"
    (corpus / "camera").mkdir(parents=True, exist_ok=True)
    known = {i: jpeg_bytes(10_000 + i, 480, 360) for i in range(3)}
    for i in range(images):
        (corpus / "camera" / f"IMG_{i:04d}.jpg").write_bytes(jpeg_bytes(i, 480, 360))
    (corpus / "camera" / "IMG_9000.jpg").write_bytes(known[0])  # exact copy
    (corpus / "shared-resized.jpg").write_bytes(_reencoded(known[1]))  # near duplicate
    nested = _tar_gz({"2026/photo.jpg": known[2], "2026/notes.txt": b"benign"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("upload/ok.jpg", jpeg_bytes(20_000, 480, 360))
        archive.writestr("upload/inner.tar.gz", nested)
        archive.writestr("../../escape.txt", b"a hostile member name")
    (corpus / "partner-upload.zip").write_bytes(buffer.getvalue())
    hasher = PipelineHasher()
    entries: list[tuple[str, str, list[str]]] = []
    for i, data in known.items():
        record = hasher.hash_bytes(data, f"known-{i}")
        assert record.pdq is not None and "md5" in record.digests
        entries.append(("pdq", record.pdq.hex, ["demo-known", f"series-{i}"]))
        entries.append(("md5", record.digests["md5"], ["demo-known", f"series-{i}"]))
    return corpus, entries


def run_demo_scan(
    workdir: Path,
    db: Database | None = None,
    *,
    jobs: int = 1,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build the demo corpus, scan it against the demo list and print what was found."""
    corpus, entries = build_demo_corpus(workdir)
    # The caller's database stays open; one opened here is closed with the block.
    with nullcontext(db) if db is not None else Database.open() as database:
        lists = HashListStore(database)
        try:
            lists.create(DEMO_LIST, description="Safelight scan demo: benign generated photos")
        except ConflictError:
            pass  # a demo run before this one made it; importing again changes nothing
        path = workdir / "demo-list.jsonl"
        path.write_text(
            "".join(
                json.dumps({"type": t, "value": v, "labels": labels}) + "\n"
                for t, v, labels in entries
            )
        )
        lists.import_file(DEMO_LIST, path, fmt="jsonl")
        out = workdir / "scan-results.jsonl"
        summary = run_scan(database, ScanOptions([str(corpus)], [DEMO_LIST], jobs=jobs, out=out))
        found = list(RunStore(database).iter_results(summary.run_id, matched_only=True))
    report = summary.to_dict()
    echo(f"scan run {summary.run_id}: {report['items']} items, {report['errors']} errors")
    for result in found:
        how = ", ".join(f"{m.signal_type} d={m.distance}" for m in result.matches)
        echo(f"  known item: {result.logical_path} ({how})")
    report["found"] = [result.logical_path for result in found]
    report["out"] = str(out)
    return report
