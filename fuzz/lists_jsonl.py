"""JSON-lines hash lists: one object per line."""

from __future__ import annotations

from .common import read_list


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    read_list("jsonl", data)


def seeds() -> dict[str, bytes]:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    return {
        "plain": (
            f'{{"type": "md5", "value": "{md5}", "labels": ["a", "b"], "note": "n"}}\n'
            f'{{"Value": "{"0" * 64}", "labels": "x|y", "disabled_until": "2030-01-01"}}\n'
        ).encode(),
        "bad": b'[1, 2]\n{"value": 5}\n{"value": "zz"\n\xff\n',
    }
