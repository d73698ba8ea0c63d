"""The reference's vPDQ hash-file format (vpdq/cpp/io/vpdqio.cpp): the tests' oracle.

One feature per line, CSV without a header: ``frame,quality,pdq_hex,timestamp``, the
timestamp printed with 3 decimals, e.g.
``0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000``.
Older upstream files (vpdq/python ``vpdq_util.py``) have no timestamp column; those read
only when the caller gives the video's frame rate, since the timestamp is frame / fps.

Reading checks every line and reports all bad lines at once (``ValidationError.problems``,
each located as ``file:line``), so an analyst fixes a file in one pass.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from safelight.constants import PDQ_HEX_LENGTH, VPDQ_TIMESTAMP_DECIMALS
from safelight.errors import InputError, ValidationError
from safelight.signals.vpdq import VpdqFeature

# Stop collecting after this many bad lines: a wrong file type would otherwise list them all.
_MAX_PROBLEMS = 20


def format_vpdq_line(feature: VpdqFeature) -> str:
    timestamp = f"{feature.timestamp:.{VPDQ_TIMESTAMP_DECIMALS}f}"
    return f"{feature.frame},{feature.quality},{feature.pdq},{timestamp}"


def format_vpdq(features: Iterable[VpdqFeature]) -> str:
    return "".join(format_vpdq_line(f) + "\n" for f in features)


def write_vpdq_file(path: str | os.PathLike[str], features: Iterable[VpdqFeature]) -> None:
    """Write the hash file atomically: a crash never leaves a half-written file behind."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "w", encoding="ascii", newline="\n") as out:
            out.write(format_vpdq(features))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _parse_line(line: str, fps: float | None) -> VpdqFeature:
    fields = [field.strip() for field in line.split(",")]
    if len(fields) == 3 and fps is None:
        raise ValueError("3 fields (no timestamp): give the video's fps to read this old format")
    if len(fields) not in (3, 4):
        raise ValueError(f"expected 4 fields frame,quality,pdq_hex,timestamp, got {len(fields)}")
    frame_text, quality_text, pdq, *rest = fields
    try:
        frame = int(frame_text)
    except ValueError:
        raise ValueError(f"frame {frame_text!r} is not an integer") from None
    try:
        quality = int(quality_text)
    except ValueError:
        raise ValueError(f"quality {quality_text!r} is not an integer") from None
    if rest:
        try:
            timestamp = float(rest[0])
        except ValueError:
            raise ValueError(f"timestamp {rest[0]!r} is not a number") from None
        if not math.isfinite(timestamp) or timestamp < 0:
            raise ValueError(f"timestamp {rest[0]!r} must be a finite number >= 0")
    else:
        assert fps is not None
        timestamp = round(frame / fps, VPDQ_TIMESTAMP_DECIMALS)
    pdq = pdq.lower()
    if len(pdq) != PDQ_HEX_LENGTH or not all(c in "0123456789abcdef" for c in pdq):
        raise ValueError(f"pdq_hex {pdq[:80]!r} is not {PDQ_HEX_LENGTH} hex characters")
    # VpdqFeature checks the ranges of frame and quality and says which is wrong.
    return VpdqFeature(frame=frame, timestamp=timestamp, pdq=pdq, quality=quality)


def parse_vpdq(text: str, *, source: str = "<text>", fps: float | None = None) -> list[VpdqFeature]:
    """Features from hash-file text; blank lines are skipped, any bad line is an error."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    features: list[VpdqFeature] = []
    problems: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            features.append(_parse_line(line, fps))
        except ValueError as exc:
            problems.append((f"{source}:{number}", str(exc)))
            if len(problems) >= _MAX_PROBLEMS:
                problems.append((source, f"stopped after {_MAX_PROBLEMS} bad lines"))
                break
    if problems:
        raise ValidationError(f"{source}: {len(problems)} bad vPDQ line(s)", problems)
    if not features:
        raise ValidationError(f"{source}: no vPDQ features (empty hash file)", [])
    return features


def read_vpdq_file(path: str | os.PathLike[str], *, fps: float | None = None) -> list[VpdqFeature]:
    """Features from a reference hash file; names the file and line of every problem."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read vPDQ hash file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path}: not a vPDQ hash file (byte {exc.start} is not ASCII)",
            [(f"{path}:byte {exc.start}", "not ASCII text")],
        ) from None
    return parse_vpdq(text, source=str(path), fps=fps)
