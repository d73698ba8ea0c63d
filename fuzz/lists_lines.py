"""Plain-line hash lists (``HEX`` or ``TYPE HEX``): one record or one problem per line."""

from __future__ import annotations

from .common import check, read_list

_BOM = b"\xef\xbb\xbf"


def _content_lines(data: bytes) -> int:
    """Lines that are neither blank nor comments, counted as the reader defines them."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    count = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :].strip()
        count += bool(line) and not line.startswith(b"#")
    return count


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    items = read_list("lines", data)
    # Every readable row is either imported or named: nothing vanishes.
    check(len(items) == _content_lines(data), f"{len(items)} items for {data[:80]!r}")


def seeds() -> dict[str, bytes]:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    pdq = "f" * 64
    return {
        "bare": f"{md5}\n{pdq}\n".encode(),
        "typed": f"md5 {md5}\npdq {pdq}\n# comment\n\nsha1 {'a' * 40}\n".encode(),
        "bad": b"\xef\xbb\xbfnot-hex\nmd5 123\n\xff\xfe\n",
    }
