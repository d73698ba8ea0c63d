"""Object storage: scanning s3:// prefixes on a local S3-compatible server (moto, loopback)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from safelight.scan.archives import ArchiveLimits
from safelight.scan.corpus import jpeg_bytes
from safelight.scan.hashing import PipelineHasher
from safelight.scan.runner import ScanOptions, run_scan
from safelight.scan.runs import RunStore
from safelight.store import Database
from tests.scan_support import tar_bytes, zip_bytes

from .list_support import create_list

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield endpoint
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_scan_an_s3_prefix_with_archives(s3_endpoint: str, db: Database, tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="uploads")
    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint)
    known = jpeg_bytes(5, 120, 90)
    fs.pipe("uploads/2026/a.jpg", known)
    fs.pipe("uploads/2026/b.jpg", jpeg_bytes(6, 120, 90))
    fs.pipe("uploads/batch.zip", zip_bytes({"in/c.jpg": jpeg_bytes(7, 120, 90)}))
    fs.pipe("uploads/batch.tar.gz", tar_bytes({"d.jpg": known}, "w:gz"))
    record = PipelineHasher().hash_bytes(known, "k")
    assert record.pdq is not None
    create_list(db, "S3_KNOWN", [("pdq", record.pdq.hex, ["known"])], workdir=tmp_path)

    out = tmp_path / "s3.jsonl"
    summary = run_scan(db, ScanOptions(["s3://uploads"], ["S3_KNOWN"], out=out))
    rows = {row["path"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {
        "s3://uploads/2026/a.jpg",
        "s3://uploads/2026/b.jpg",
        "s3://uploads/batch.zip!/in/c.jpg",
        "s3://uploads/batch.tar.gz!/d.jpg",
        # Archives are items too (matched by their own digests), and so is the gzipped tar.
        "s3://uploads/batch.zip",
        "s3://uploads/batch.tar.gz",
        "s3://uploads/batch.tar.gz!/batch.tar",
    }
    matched = {path for path, row in rows.items() if row["matches"]}
    assert matched == {"s3://uploads/2026/a.jpg", "s3://uploads/batch.tar.gz!/d.jpg"}
    assert rows["s3://uploads/2026/b.jpg"]["pdq_quality"] == 100
    assert summary.total.errors == 0

    # Objects over the member limit are hashed streaming: digests, no PDQ, no error.
    limited = ScanOptions(["s3://uploads/2026"], limits=ArchiveLimits(max_member_bytes=1000))
    big = run_scan(db, limited)
    assert big.total.items == 2 and big.total.errors == 0
    (a_row,) = [
        r for r in RunStore(db).iter_results(big.run_id) if r.logical_path.endswith("a.jpg")
    ]
    record = a_row.record
    assert (record.digests["md5"], record.media, record.pdq) == (
        hashlib.md5(known).hexdigest(),
        "other",
        None,
    )

    missing = run_scan(db, ScanOptions(["s3://no-such-bucket/x"]))
    assert missing.total.errors == 1 and set(missing.total.per_error) == {"unreadable"}
