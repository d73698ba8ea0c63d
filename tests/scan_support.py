"""Shared builders for the scan tests: a small benign corpus with planted known items."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from safelight.scan.corpus import jpeg_bytes
from safelight.scan.hashing import PipelineHasher
from safelight.store import Database
from tests.video_synth import make_video

from .list_support import create_list, vpdq_list_value


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Corpus:
    root: Path
    entries: list[tuple[str, str, list[str]]]  # the known list: (type, value, labels)
    known_paths: set[str]  # logical paths that must match
    all_paths: set[str]  # every logical path the scan must record
    list_name: str = "KNOWN"

    def install(self, db: Database) -> str:
        """Create the known list in ``db``'s store; returns its name."""
        create_list(db, self.list_name, self.entries, workdir=self.root.parent)
        return self.list_name


def build_corpus(base: Path, *, images: int = 8, size: tuple[int, int] = (160, 120)) -> Corpus:
    """Folder with images, a subfolder, a zip holding a tar.gz, a video, a text file and a
    bad JPEG.

    Known items: image 1 by PDQ (the list holds a hash 3 bits away), image 2 by MD5, the
    JPEG inside the nested tar.gz by SHA-256, and the video by vPDQ.
    """
    root = base / "corpus"
    (root / "sub").mkdir(parents=True)
    hasher = PipelineHasher()
    paths: set[str] = set()
    blobs: dict[int, bytes] = {}
    for i in range(images):
        data = jpeg_bytes(i, *size)
        blobs[i] = data
        path = root / ("sub" if i % 2 else "") / f"photo{i:03d}.jpg"
        path.write_bytes(data)
        paths.add(str(path))
    inner_jpeg = jpeg_bytes(1000, *size)
    inner = tar_bytes({"deep/inner.jpg": inner_jpeg, "deep/readme.txt": b"benign text"}, "w:gz")
    outer = zip_bytes({"photos/a.jpg": jpeg_bytes(1001, *size), "nested/b.tar.gz": inner})
    (root / "bundle.zip").write_bytes(outer)
    zip_path = str(root / "bundle.zip")
    paths |= {
        f"{zip_path}!/photos/a.jpg",
        f"{zip_path}!/nested/b.tar.gz!/deep/inner.jpg",
        f"{zip_path}!/nested/b.tar.gz!/deep/readme.txt",
        # Every container is an item too: the zip, the tar.gz in it, the tar in the gzip.
        zip_path,
        f"{zip_path}!/nested/b.tar.gz",
        f"{zip_path}!/nested/b.tar.gz!/b.tar",
    }
    clip = make_video("mp4", frames=12, fps=6)
    (root / "clip.mp4").write_bytes(clip)
    clip_vpdq = hasher.hash_bytes(clip, "clip.mp4").vpdq
    assert clip_vpdq is not None
    (root / "notes.txt").write_text("not an image")
    (root / "broken.jpg").write_bytes(blobs[0][: len(blobs[0]) // 3])
    paths |= {str(root / "notes.txt"), str(root / "broken.jpg"), str(root / "clip.mp4")}

    near = hasher.hash_bytes(blobs[1], "x").pdq
    assert near is not None
    flipped = int(near.hex, 16) ^ 0b10101  # 3 bits away: a PDQ match at threshold 31
    md5 = hasher.hash_bytes(blobs[2], "x").digests.get("md5")
    sha256 = hasher.hash_bytes(inner_jpeg, "x").digests.get("sha256")
    assert md5 is not None and sha256 is not None
    entries = [
        ("pdq", f"{flipped:064x}", ["series-a", "known"]),
        ("md5", md5, ["known"]),
        ("sha256", sha256, ["series-b"]),
        ("md5", "0" * 32, ["never-seen"]),
        ("vpdq", vpdq_list_value(clip_vpdq), ["series-v"]),
    ]
    known = {
        str(root / "clip.mp4"),
        str(root / "sub" / "photo001.jpg"),
        str(root / "photo002.jpg"),
        f"{zip_path}!/nested/b.tar.gz!/deep/inner.jpg",
    }
    return Corpus(root, entries, known, paths)
