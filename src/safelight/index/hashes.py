"""Hashes as arrays: hex strings <-> ``np.ndarray[uint8]`` of shape (n, width).

Byte order is the hex string's: ``bytes.fromhex(hex)``, i.e. big-endian as PDQ and the digest
tools print. A 256-bit PDQ hash is 32 bytes, an MD5 16, a SHA-1 20, a SHA-256 32.

Two ways to parse: ``hex_to_array`` is strict (any bad item raises one ``ValidationError``
naming every bad item), ``parse_hex`` is tolerant (returns the good rows and the problems) so a
batch never dies on one bad item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from safelight.constants import PDQ_HASH_BITS
from safelight.errors import InputError, ValidationError

PDQ_BYTES = PDQ_HASH_BITS // 8
U8Array = npt.NDArray[np.uint8]
I64Array = npt.NDArray[np.int64]
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Problems listed in one error message before "... and N more".
_MAX_LISTED = 20


def key_width(signal_type: str) -> int:
    """Bytes of one key for a signal type (pdq 32, md5 16, sha1 20, sha256 32; vPDQ frames
    are PDQ keys), from the signal-type registry."""
    from safelight.signals.types import UnknownSignalTypeError, registry

    try:
        found = registry.get(signal_type)
    except UnknownSignalTypeError as exc:
        raise InputError(f"signal_type: {exc}") from None
    return PDQ_BYTES if found.index_kind == "vpdq_frames" else found.key_bytes


def _problem(item: object, width: int) -> str | None:
    """Why ``item`` is not a hash of ``width`` bytes, or None when it is one."""
    if isinstance(item, bytes | bytearray | memoryview):
        size = len(item)
        return None if size == width else f"expected {width} bytes, got {size}"
    if not isinstance(item, str):
        return f"expected a hex string, got {type(item).__name__}"
    if len(item) != 2 * width:
        return f"expected {2 * width} hex characters, got {len(item)}"
    if not _HEX_DIGITS.issuperset(item):
        bad = next(ch for ch in item if ch not in _HEX_DIGITS)
        return f"not hexadecimal: character {bad!r}"
    return None


def _as_bytes(item: str | bytes | bytearray | memoryview) -> bytes:
    return bytes.fromhex(item) if isinstance(item, str) else bytes(item)


def parse_hex(
    items: Iterable[str | bytes], width: int = PDQ_BYTES, *, label: str = "item"
) -> tuple[U8Array, npt.NDArray[np.bool_], list[tuple[str, str]]]:
    """Parse hashes tolerantly.

    Returns ``(array, ok, problems)``: ``array`` holds the good items in order (shape (k, width)),
    ``ok[i]`` says whether input ``i`` was good, and ``problems`` lists ``("<label> <i>", reason)``
    for each bad one. Items may be hex strings (either case) or raw bytes.
    """
    seq = list(items)
    fast = _all_hex(seq, width)
    if fast is not None:
        return fast, np.ones(len(seq), dtype=np.bool_), []
    good: list[bytes] = []
    ok = np.zeros(len(seq), dtype=np.bool_)
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(seq):
        reason = _problem(item, width)
        if reason is None:
            good.append(_as_bytes(item))
            ok[i] = True
        else:
            problems.append((f"{label} {i}", reason))
    array = np.frombuffer(b"".join(good), dtype=np.uint8).reshape(len(good), width).copy()
    return array, ok, problems


def _all_hex(seq: list[str | bytes], width: int) -> U8Array | None:
    """The array when every item is a hex string of the right length (what stored values
    are): one ``bytes.fromhex`` over them all, 10x faster than item by item; None when any
    item is not (the caller then finds which, item by item). ``fromhex`` skips whitespace,
    so an item with some inside makes the total come out short: caught by the size."""
    size = 2 * width
    if not seq or not all(type(item) is str and len(item) == size for item in seq):
        return None
    try:
        raw = bytes.fromhex("".join(seq))  # type: ignore[arg-type]
    except ValueError:
        return None
    if len(raw) != len(seq) * width:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(seq), width).copy()


def hex_to_array(items: Iterable[str | bytes], width: int = PDQ_BYTES) -> U8Array:
    """Parse hashes strictly: one ``ValidationError`` lists every bad item (index and reason)."""
    array, ok, problems = parse_hex(items, width)
    if problems:
        raise validation_error(f"{len(problems)} of {ok.size} hashes are invalid", problems)
    return array


def array_to_hex(hashes: npt.ArrayLike) -> list[str]:
    """Lower-case hex strings of the rows of a (n, width) uint8 array."""
    array = np.ascontiguousarray(hashes, dtype=np.uint8)
    if array.ndim != 2:
        raise InputError(f"hashes: expected a 2-D array, got shape {array.shape}")
    return [row.tobytes().hex() for row in array]


def validation_error(message: str, problems: Sequence[tuple[str, str]]) -> ValidationError:
    """A ValidationError whose message names the first few problems too."""
    listed = "; ".join(f"{where}: {why}" for where, why in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    suffix = f" ... and {more} more" if more > 0 else ""
    return ValidationError(f"{message}: {listed}{suffix}", list(problems))


def as_key_array(keys: npt.ArrayLike | Sequence[str], width: int, *, field: str) -> U8Array:
    """Accept a (n, width) uint8 array or a sequence of hex strings; check the shape."""
    if isinstance(keys, np.ndarray):
        if keys.dtype != np.uint8:
            raise InputError(f"{field}: expected dtype uint8, got {keys.dtype}")
        if keys.ndim == 1 and keys.size == width:
            keys = keys.reshape(1, width)
        if keys.ndim != 2 or keys.shape[1] != width:
            raise InputError(f"{field}: expected shape (n, {width}), got {keys.shape}")
        return np.ascontiguousarray(keys)
    if isinstance(keys, str | bytes):
        keys = [keys]
    return hex_to_array(list(keys), width)  # type: ignore[arg-type]


def as_id_array(ids: npt.ArrayLike, count: int | None = None, *, field: str = "ids") -> I64Array:
    """Entry ids as a contiguous int64 array; with ``count``, check there are that many."""
    try:
        array = np.asarray(ids)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{field}: not an array of integers ({exc})") from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise InputError(f"{field}: expected a 1-D sequence, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{field}: expected integers, got dtype {array.dtype}")
    if array.dtype == np.uint64 and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise InputError(f"{field}: ids must fit in int64")
    result = np.ascontiguousarray(array, dtype=np.int64)
    if count is not None and result.size != count:
        raise InputError(f"{field}: got {result.size} ids for {count} hashes")
    return result


def words(hashes: U8Array) -> npt.NDArray[np.uint64]:
    """The 32-byte rows as 4 native uint64 words each (a view, no copy) for popcount."""
    return np.ascontiguousarray(hashes).view(np.uint64)
