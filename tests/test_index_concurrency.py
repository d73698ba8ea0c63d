"""Readers keep answering, consistently, while writers add and compact; kill -9 loses nothing.

Each writer adds batches in order; a batch becomes visible all at once (one manifest rename),
so a reader must always see a prefix of the batches, each batch whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from safelight.index import HammingIndex, synthetic

BATCH = 40
BATCHES = 12
SEED = 21


def _batches() -> list[np.ndarray]:
    rng = np.random.default_rng(SEED)
    return [synthetic.uniform_hashes(rng, BATCH) for _ in range(BATCHES)]


def _batch_ids(k: int) -> np.ndarray:
    return np.arange(BATCH) + 1000 * (k + 1)


def _visible_prefix(index: HammingIndex, batches: list[np.ndarray]) -> int:
    """How many leading batches are visible; fails if any batch is partly visible or a later
    batch is visible before an earlier one."""
    found = index.search(np.concatenate(batches), 0)
    seen = [
        sum(1 for i in range(k * BATCH, (k + 1) * BATCH) if found[i]) for k in range(len(batches))
    ]
    assert all(s in (0, BATCH) for s in seen), seen
    prefix = next((k for k, s in enumerate(seen) if s == 0), len(seen))
    assert all(s == 0 for s in seen[prefix:]), seen
    return prefix


def _base(path: Path) -> HammingIndex:
    rng = np.random.default_rng(SEED + 1)
    return HammingIndex.build(path, np.arange(500), synthetic.uniform_hashes(rng, 500))


def test_threads_read_while_a_thread_writes_and_compacts(tmp_path: Path) -> None:
    writer = _base(tmp_path)
    batches = _batches()
    errors: list[BaseException] = []
    done = threading.Event()
    progress: list[int] = []

    def read() -> None:
        reader = HammingIndex.open(tmp_path)
        last = 0
        try:
            while not done.is_set():
                now = _visible_prefix(reader, batches)
                assert now >= last  # never goes back in time
                last = now
            progress.append(_visible_prefix(reader, batches))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    for k, batch in enumerate(batches):
        writer.add(_batch_ids(k), batch)
        if k == BATCHES // 2:
            writer.compact_in_background()
    done.set()
    for thread in readers:
        thread.join()
    assert not errors, errors
    assert progress == [BATCHES, BATCHES]


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from safelight.index import HammingIndex, synthetic
    path, seed, count, batch, compact = sys.argv[1:]
    rng = np.random.default_rng(int(seed))
    index = HammingIndex.open(path)
    start = int(index.meta.get("batches", 0))
    batches = [synthetic.uniform_hashes(rng, int(batch)) for _ in range(int(count))]
    for k in range(start, int(count)):
        ids = np.arange(int(batch)) + 1000 * (k + 1)
        index.add(ids, batches[k], meta={"batches": k + 1})
        if compact == "1" and k % 4 == 3:
            index.compact()
        print(k + 1, flush=True)
    """
)


def _spawn_writer(path: Path, compact: bool, *, talk: bool = True) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(SEED), str(BATCHES), str(BATCH),
         "1" if compact else "0"],
        stdout=subprocess.PIPE if talk else subprocess.DEVNULL,
        text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_a_reader_process_sees_a_writer_process(tmp_path: Path) -> None:
    _base(tmp_path)
    batches = _batches()
    reader = HammingIndex.open(tmp_path)
    child = _spawn_writer(tmp_path, compact=True, talk=False)
    seen = 0
    while child.poll() is None:
        now = _visible_prefix(reader, batches)
        assert now >= seen
        seen = now
    assert child.returncode == 0
    assert _visible_prefix(reader, batches) == BATCHES
    assert len(reader) == 500 + BATCHES * BATCH


@pytest.mark.slow
def test_kill_9_mid_write_loses_nothing_committed(tmp_path: Path) -> None:
    _base(tmp_path)
    batches = _batches()
    rng = np.random.default_rng(0)
    for _ in range(3):
        child = _spawn_writer(tmp_path, compact=True)
        assert child.stdout is not None
        child.stdout.readline()  # at least one batch committed in this round
        time.sleep(float(rng.uniform(0.0, 0.05)))  # then kill it at some unknown moment
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        index = HammingIndex.open(tmp_path, verify=True)
        committed = int(index.meta["batches"])
        assert _visible_prefix(index, batches) == committed
        assert len(index) == 500 + committed * BATCH
    finisher = _spawn_writer(tmp_path, compact=False, talk=False)
    assert finisher.wait() == 0
    index = HammingIndex.open(tmp_path, verify=True)
    assert _visible_prefix(index, batches) == BATCHES
    index.add([99_999], batches[0][:1])  # the lock of a killed writer does not block anyone
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []
