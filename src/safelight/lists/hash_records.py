"""Banking what ``safelight hash`` wrote: one hash record (a JSON line) becomes one entry per
signal it holds, so ``safelight hash ... | safelight lists import NAME -`` works as pipes do.

A record carries its file digests (MD5, SHA-1, SHA-256 and any registered type), its PDQ
with quality and, for a video, its vPDQ frames; each becomes an entry with the labels given
to the import. A PDQ below the type's quality cut-off is not banked (HMA stores no hash for
such photos either) and is named as a problem, as is a record that failed to hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from safelight.lists.models import Problem, Record
from safelight.lists.records import ParseOptions
from safelight.signals.types import registry, vpdq_feature, vpdq_value

# Keys every `safelight hash` JSON record has (docs/model.md, record format 1).
HASH_RECORD_KEYS = frozenset({"path", "media", "error"})


def is_hash_record(obj: dict[str, Any]) -> bool:
    return HASH_RECORD_KEYS <= obj.keys()


def hash_record_items(
    obj: dict[str, Any], location: str, options: ParseOptions
) -> Iterator[Record | Problem]:
    """The entries of one hash record, or the problems that keep parts of it out."""
    where = f"{location} ({obj.get('path')!r})"
    found = 0
    try:
        for signal_type in registry.file_digests():
            value = obj.get(signal_type.name)
            if value:
                found += 1
                yield _record(signal_type.name, str(value), options)
        pdq = registry.get("pdq")
        if obj.get("pdq"):
            quality = obj.get("pdq_quality")
            if isinstance(quality, int) and pdq.min_quality and quality < pdq.min_quality:
                yield Problem(
                    where, f"pdq quality {quality} is below {pdq.min_quality}: not banked"
                )
            else:
                found += 1
                yield _record("pdq", str(obj["pdq"]), options)
        if obj.get("vpdq"):
            features = [
                vpdq_feature(frame["pdq"], frame["quality"], frame["timestamp"])
                for frame in obj["vpdq"]
            ]
            video = vpdq_value(features)
            found += 1
            yield Record("vpdq", video.value, video.key, options.extra_labels)
    except (ValueError, KeyError, TypeError) as exc:
        yield Problem(where, f"bad hash record: {exc}")
        return
    error = obj.get("error")
    if not found and isinstance(error, dict):
        yield Problem(where, f"not hashed: {error.get('code')}: {error.get('message')}")
    elif not found:
        yield Problem(where, "the hash record holds no signal to bank")


def _record(signal_type: str, raw: str, options: ParseOptions) -> Record:
    normalised = registry.get(signal_type).normalise(raw)
    return Record(signal_type, normalised.value, normalised.key, options.extra_labels)
