"""Project VIC / VICS JSON media lists, read as a stream and written as a stream.

Accepted shape (VICS 2.0, and 1.x with ``odata.metadata``)::

    {"@odata.context": "...DataModels/2.0.xml/Default/$metadata#Media",
     "value": [{"MediaID": 1, "Category": 1, "MD5": "ADEB...", "SHA1": "2B03...", ...}, ...]}

and the 1.x case wrapper ``{"value": [{"Media": [ ...media items... ]}]}``. National sets run
to millions of items, so the ``value`` array is decoded one item at a time with the standard
library's ``raw_decode``, keeping line numbers for error reports. See docs/lists.md for the
fields read and the labels they become.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TextIO

from safelight.lists.models import Entry, Problem, Record
from safelight.lists.records import ParseOptions, make_record

VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
)
# Media fields that hold hashes we store, by our signal type.
HASH_FIELDS = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
FLAG_LABELS = {
    "VictimIdentified": "vics:victim-identified",
    "OffenderIdentified": "vics:offender-identified",
    "IsDistributed": "vics:distributed",
}
_CHUNK = 1 << 20
# A single media item larger than this is not a media item: stop rather than buffer the file.
_MAX_ITEM_CHARS = 64 << 20
_WHITESPACE = " \t\r\n"


class _Readable(Protocol):
    def read(self, size: int) -> bytes: ...


class BadJson(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class JsonStream:
    """A JSON text consumed value by value, with the line number of the read position."""

    def __init__(self, raw: _Readable) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._line = 1
        self._eof = False

    @property
    def line(self) -> int:
        return self._line

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._raw.read(_CHUNK)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise BadJson(self._line, f"not valid UTF-8 text: {exc.reason}") from None
        self._eof = not data
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return True

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the input."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                if self._buf[self._pos] == "\n":
                    self._line += 1
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        found = self.skip_ws()
        if not found or found not in chars:
            shown = repr(found) if found else "the end of the file"
            raise BadJson(self._line, f"expected {what}, found {shown}")
        self._pos += 1
        return found

    def value(self) -> Any:
        """Decode the next JSON value, reading more input while it is incomplete."""
        self.skip_ws()
        while True:
            try:
                obj, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buf) - self._pos > _MAX_ITEM_CHARS:
                    raise BadJson(
                        self._line,
                        f"one JSON value here is larger than {_MAX_ITEM_CHARS >> 20} M "
                        "characters (or is broken): too big to read as one media item",
                    ) from None
                if not self._fill():
                    raise BadJson(self._line + exc.lineno - 1, f"bad JSON: {exc.msg}") from None
                continue
            self._line += self._buf.count("\n", self._pos, end)
            self._pos = end
            return obj


def iter_media(raw: _Readable, name: str) -> Iterator[tuple[str, Any] | Problem]:
    """(location, media item) for every item of the top-level ``value`` array."""
    stream = JsonStream(raw)
    saw_value = False
    try:
        stream.expect("{", "a JSON object (a Project VIC / VICS media list)")
        if stream.skip_ws() == "}":
            stream.expect("}", "'}'")
        else:
            while True:
                key = stream.value()
                stream.expect(":", "':'")
                if key == "value":
                    saw_value = True
                    yield from _iter_value_array(stream, name)
                else:
                    stream.value()
                if stream.expect(",}", "',' or '}'") == "}":
                    break
        if stream.skip_ws():
            raise BadJson(stream.line, "unexpected data after the top-level object")
    except BadJson as exc:
        yield Problem(f"{name}:{exc.line}", f"{exc.reason}; the rest of the file is not read")
        return
    if not saw_value:
        yield Problem(f"{name}:1", 'no "value" array: not a Project VIC / VICS media list')


def _iter_value_array(stream: JsonStream, name: str) -> Iterator[tuple[str, Any] | Problem]:
    stream.expect("[", "'[' starting the value array")
    if stream.skip_ws() == "]":
        stream.expect("]", "']'")
        return
    index = 0
    while True:
        stream.skip_ws()
        line = stream.line
        item = stream.value()
        location = f"{name}:{line} (value[{index}])"
        if isinstance(item, dict) and isinstance(item.get("Media"), list):
            # VICS 1.x case wrapper: the media items sit in the case's "Media" array.
            for sub, media in enumerate(item["Media"]):
                yield f"{name}:{line} (value[{index}].Media[{sub}])", media
        else:
            yield location, item
        index += 1
        if stream.expect(",]", "',' or ']'") == "]":
            return


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def media_labels(media: dict[str, Any]) -> list[str]:
    """The labels a media item carries (category, series, tags, flags, media id)."""
    labels = []
    category = media.get("Category")
    if category is not None and category != "":
        if isinstance(category, bool) or not str(category).strip().isdigit():
            raise ValueError(f"Category {category!r} is not a non-negative integer")
        labels.append(f"vics:category:{int(category)}")
    media_id = media.get("MediaID")
    if media_id is not None and media_id != "":
        labels.append(f"vics:media-id:{media_id}")
    series = media.get("Series")
    if isinstance(series, str) and series.strip():
        labels.append(f"vics:series:{series.strip()}")
    tags = media.get("Tags")
    if isinstance(tags, str):
        tags = tags.replace("|", ",").replace(";", ",").split(",")
    if isinstance(tags, list):
        labels.extend(f"vics:tag:{t.strip()}" for t in tags if isinstance(t, str) and t.strip())
    labels.extend(label for key, label in FLAG_LABELS.items() if _is_true(media.get(key)))
    return labels


def _media_hashes(media: dict[str, Any]) -> list[tuple[str, str]]:
    upper = {key.upper(): value for key, value in media.items()}
    found = []
    for signal_type, key in HASH_FIELDS.items():
        value = upper.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {type(value).__name__}")
        found.append((signal_type, value))
    for alternative in media.get("AlternativeHashes") or []:
        if not isinstance(alternative, dict):
            continue
        hash_name = str(alternative.get("HashName", "")).strip().lower().replace("-", "")
        value = alternative.get("HashValue")
        if hash_name in ("md5", "sha1", "sha256", "pdq") and isinstance(value, str) and value:
            found.append((hash_name, value))
    return found


def read_projectvic(raw: _Readable, name: str, options: ParseOptions) -> Iterator[Record | Problem]:
    """One record per hash (MD5, SHA1, SHA256, PDQ alternative hash) of every media item."""
    for item in iter_media(raw, name):
        if isinstance(item, Problem):
            yield item
            continue
        location, media = item
        if not isinstance(media, dict):
            kind = type(media).__name__
            yield Problem(location, f"a media item must be a JSON object, got {kind}")
            continue
        try:
            hashes = _media_hashes(media)
            if not hashes:
                raise ValueError("no MD5, SHA1 or SHA256 (PhotoDNA is not stored)")
            labels = media_labels(media)
            comments = media.get("Comments")
            note = comments if isinstance(comments, str) else None
            records = [
                make_record(options, value, signal_type=kind, labels=labels, note=note)
                for kind, value in hashes
            ]
        except ValueError as exc:
            yield Problem.of(location, exc)
            continue
        yield from records


def _media_object(entries: list[Entry]) -> dict[str, Any]:
    labels = set().union(*(entry.labels for entry in entries))
    media: dict[str, Any] = {"MediaID": entries[0].id, "Category": None}
    tags = []
    for label in sorted(labels):
        kind = rest = ""
        if label.startswith("vics:"):
            kind, _, rest = label.removeprefix("vics:").partition(":")
        if kind == "media-id" and rest.isdigit():
            media["MediaID"] = int(rest)
        elif kind == "category" and rest.isdigit():
            media["Category"] = int(rest)
        elif kind == "series":
            media["Series"] = rest
        elif kind == "tag":
            tags.append(rest)
        elif label in FLAG_LABELS.values():
            flag = next(key for key, value in FLAG_LABELS.items() if value == label)
            media[flag] = "true"
        else:
            tags.append(label)  # other taxonomies survive as tags (jsonl is lossless)
    if tags:
        media["Tags"] = ", ".join(tags)
    for entry in entries:
        media[HASH_FIELDS[entry.signal_type]] = entry.value.upper()
    notes = [entry.note for entry in entries if entry.note]
    if notes:
        media["Comments"] = notes[0]
    return media


def _media_key(entry: Entry) -> str | None:
    return next((label for label in entry.labels if label.startswith("vics:media-id:")), None)


def write_projectvic(entries: Iterable[Entry], out: TextIO) -> tuple[int, int]:
    """Write a VICS 2.0 media list; (entries written, entries skipped as not MD5/SHA).

    Consecutive entries of one media item (same ``vics:media-id`` label, as an import of a
    VICS file leaves them) become one media object again.
    """
    out.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ', "value": [')
    written = skipped = 0
    group: list[Entry] = []
    first = True

    def flush() -> None:
        nonlocal first
        if group:
            out.write(("\n" if first else ",\n") + json.dumps(_media_object(group)))
            first = False
            group.clear()

    for entry in entries:
        if entry.signal_type not in HASH_FIELDS:
            skipped += 1
            continue
        key = _media_key(entry)
        fits = (
            group
            and key is not None
            and _media_key(group[-1]) == key
            and all(e.signal_type != entry.signal_type for e in group)
        )
        if not fits:
            flush()
        group.append(entry)
        written += 1
    flush()
    out.write("\n]}\n")
    return written, skipped
