"""CSV hash lists with a header row (values, types, labels, notes, disabled_until)."""

from __future__ import annotations

from .common import read_list


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    read_list("csv", data)
    read_list("tsv", data.replace(b",", b"\t"))


def seeds() -> dict[str, bytes]:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    return {
        "plain": f"type,value,labels,note\nmd5,{md5},a|b,x\npdq,{'0' * 64},,\n".encode(),
        "quoted": f'value,note,disabled_until\n{md5},"a, ""b""",2030-01-01T00:00:00Z\n'.encode(),
        "bad-quote": f'value,note\n{md5},"open\n{md5},x\n'.encode(),
        "widths": f"hash,category\n{md5}\n{md5},1,2\n".encode(),
    }
