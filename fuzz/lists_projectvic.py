"""Project VIC / VICS JSON media lists, read by the streaming JSON reader."""

from __future__ import annotations

import json

from .common import read_list


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    read_list("projectvic", data)


def seeds() -> dict[str, bytes]:
    media = {
        "MD5": "d41d8cd98f00b204e9800998ecf8427e",
        "SHA1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "Category": 1,
        "AlternativeHashes": [{"HashName": "PDQ", "HashValue": "0" * 64}],
        "Comments": "c",
    }
    return {
        "odata": json.dumps({"odata.metadata": "x", "value": [media, {"MD5": "bad"}]}).encode(),
        "vics1": json.dumps({"value": [{"CaseID": 1, "Media": [media]}]}, indent=1).encode(),
        "broken": b'{"value": [{"MD5": "d41d8cd98f00b204e9800998ecf8427e"}, {"MD5": ',
    }
