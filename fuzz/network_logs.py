"""Whole sighting-log files (CSV, JSON lines) through the parse phase of ``network ingest``."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from safelight.network.columns import ColumnMapping
from safelight.network.ingest import parse_file

from .common import check, error_tree_is_fine

# In memory where the system offers it: each input is written and read back as a file.
_SHM = Path("/dev/shm")
_WORK = Path(tempfile.mkdtemp(prefix="safelight-fuzz-logs-", dir=_SHM if _SHM.is_dir() else None))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_NO_ROWS = np.zeros(0, dtype=np.uint64)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    suffix = ".jsonl" if data[:1] == b"{" else ".csv"
    log = _WORK / f"log{suffix}"
    log.write_bytes(data)
    parts = _WORK / "parts"
    parts.mkdir(exist_ok=True)
    with error_tree_is_fine():
        parsed = parse_file(log, ColumnMapping(), parts, "0" * 64, _NO_ROWS, [])
        check(
            parsed.rows_total == parsed.rows_good + parsed.rows_bad + parsed.rows_duplicate,
            f"rows do not add up: {parsed}",
        )
        check(all(line >= 1 for line, _ in parsed.shown_problems), "problem without a line")


def seeds() -> dict[str, bytes]:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    return {
        "csv": (
            f"time,ip,port,guid,software,hash,filename,size\n"
            f"2024-01-01T10:00:00Z,192.0.2.1,6881,abc,uTorrent,{md5},a.jpg,100\n"
            f"2024-01-01T10:00:00,192.0.2.300,99999,,,zz,,-1\nbad,row\n"
            f'1704103200,2001:db8::1,1,,"q,x",{md5},,\n'
        ).encode(),
        "jsonl": (
            f'{{"ts": "2024-01-01T00:00:00Z", "ip": "192.0.2.1", "md5": "{md5}"}}\n'
            f'{{"ts": 5, "ip": null}}\n[1]\n'
        ).encode(),
    }
