"""What a worker does with a batch: read each item's bytes, hash them, match them.

The same function runs in the scanning process (``--jobs 1``), in a process pool and on Dask
workers. Hashers and matchers are built once per process and cached under the
``PipelineConfig`` (list names and generations, the store's URL): a task carries only that
small key and its items, never the index itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import fsspec

from safelight.constants import (
    DEFAULT_MAX_PIXELS,
    DIGEST_BLOCK_SIZE,
    SCAN_MAX_MEMBER_BYTES,
)
from safelight.errors import ItemError
from safelight.scan.hashing import ItemHasher, PipelineHasher
from safelight.scan.matching import MatchConfig, Matcher, make_matcher
from safelight.scan.members import MemberError, read_member
from safelight.scan.model import ItemResult, WorkItem
from safelight.scan.streams import Digests
from safelight.signals.options import HashOptions, Mode
from safelight.signals.records import HashRecord


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    match: MatchConfig = MatchConfig()
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = SCAN_MAX_MEMBER_BYTES
    # The photo pipeline's decode mode: "default" (luma decode, within a few bits of HMA),
    # "fast" or "reference" (bit-identical to Pillow + pdqhash); see docs/signals.md.
    mode: Mode = "default"


class Pipeline:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        options = HashOptions(mode=config.mode, max_pixels=config.max_pixels)
        self.hasher: ItemHasher = PipelineHasher(options)
        self.matcher: Matcher = make_matcher(config.match)

    def process(self, item: WorkItem) -> ItemResult:
        return self.process_many([item])[0]

    def process_many(self, items: list[WorkItem]) -> list[ItemResult]:
        """Hash every item, then match them all at once (one index search per type)."""
        done: dict[int, ItemResult] = {}
        hashed: list[tuple[int, HashRecord]] = []
        for position, item in enumerate(items):
            if item.kind == "failed":
                done[position] = _unhashed(item, item.error)
                continue
            try:
                hashed.append((position, self._signals(item)))
            except MemberError as exc:
                done[position] = _unhashed(item, exc.error)
            except OSError as exc:
                error = ItemError("unreadable", f"{item.logical_path}: cannot read: {exc}")
                done[position] = _unhashed(item, error)
            except Exception as exc:  # noqa: BLE001 - one item's bug must not sink the batch
                done[position] = _internal(item, exc)
        matches = self.matcher.match_flagged([record for _, record in hashed])
        for (position, record), (found, rule_flags) in zip(hashed, matches, strict=True):
            item = items[position]
            done[position] = ItemResult.from_record(
                item.logical_path, record, found, error=item.error, flags=item.flags + rule_flags
            )
        return [done[position] for position in range(len(items))]

    def _signals(self, item: WorkItem) -> HashRecord:
        if item.kind == "digested" and item.record is not None:
            return item.record
        if item.kind == "inline":
            return self.hasher.hash_bytes(item.data or b"", item.logical_path)
        if item.kind == "member":
            content = read_member(item, self.config.max_file_bytes)
            if isinstance(content, HashRecord):  # over the member limit: digests only
                return content
            return self.hasher.hash_bytes(content, item.logical_path)
        location = item.location or item.logical_path
        if item.kind == "file":
            return self.hasher.hash_file(location, item.logical_path)
        if item.size is not None and item.size > self.config.max_file_bytes:
            return self._stream_digests(location)
        with fsspec.open(location, "rb") as handle:
            data = handle.read()
        return self.hasher.hash_bytes(data, item.logical_path)

    def _stream_digests(self, location: str) -> HashRecord:
        # A remote object too large to hold in memory (a disk image): digests only.
        digests = Digests()
        with fsspec.open(location, "rb") as handle:
            while block := handle.read(DIGEST_BLOCK_SIZE):
                digests.update(block)
        return digests.record()


# Pipelines kept per process, most recent last: two lets two runs with different lists share
# a cluster without rebuilding on every task; an old list generation ages out.
PIPELINE_CACHE_SIZE = 2
_cache: OrderedDict[PipelineConfig, Pipeline] = OrderedDict()
_cache_lock = threading.Lock()


def pipeline_for(config: PipelineConfig) -> Pipeline:
    """This process's pipeline for ``config``, built on first use (the worker-side cache)."""
    with _cache_lock:
        pipeline = _cache.get(config)
        if pipeline is None:
            pipeline = _cache[config] = Pipeline(config)
            while len(_cache) > PIPELINE_CACHE_SIZE:
                _cache.popitem(last=False)
        _cache.move_to_end(config)
        return pipeline


def process_batch(config: PipelineConfig, items: list[WorkItem]) -> list[ItemResult]:
    """The task every executor runs: one result per item, in order, never raising for one."""
    pipeline = pipeline_for(config)
    try:
        return pipeline.process_many(items)
    finally:
        pipeline.matcher.release()


def _unhashed(item: WorkItem, error: ItemError | None) -> ItemResult:
    return ItemResult.failed(item.logical_path, error, size=item.size, flags=item.flags)


def _internal(item: WorkItem, exc: Exception) -> ItemResult:
    message = f"{item.logical_path}: {type(exc).__name__}: {exc}"
    return _unhashed(item, ItemError("internal", message))
