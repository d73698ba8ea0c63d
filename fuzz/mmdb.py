"""MaxMind DB files (the user's ``--geo FILE.mmdb``) opened and queried as ``network`` does."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from safelight.network.geo import MmdbGeo

from .common import check, error_tree_is_fine

_WORK = Path(tempfile.mkdtemp(prefix="safelight-fuzz-mmdb-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_IPS = ["192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1", "::1", "10.0.0.1"]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    path = _WORK / "fuzz.mmdb"
    path.write_bytes(data)
    with error_tree_is_fine():
        geo = MmdbGeo([path])
        answers = geo.lookup(_IPS)
        check(len(answers.countries) == len(_IPS), "one answer per address")
        check(all(isinstance(c, str) for c in answers.countries), "country not text")


def seeds() -> dict[str, bytes]:
    from safelight.network.mmdb import write_mmdb

    networks = [
        ("192.0.2.0/24", {"country": {"iso_code": "FR"}}),
        ("2001:db8::/32", {"country": {"iso_code": "DE"}, "autonomous_system_number": 64500}),
    ]
    return {"small": write_mmdb(_WORK / "seed.mmdb", networks).read_bytes()}
