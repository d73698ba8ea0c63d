"""vPDQ hash files (``frame,quality,pdq_hex,timestamp`` per line): one video entry."""

from __future__ import annotations

from .common import read_list


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    read_list("vpdq", data)


def seeds() -> dict[str, bytes]:
    pdq = "a" * 64
    return {
        "video": f"0,100,{pdq},0.000\n1,90,{'b' * 64},1.000\n".encode(),
        "bad": f"# comment\nx,100,{pdq},0\n0,101,{pdq},-1\n0,1\n".encode(),
    }
