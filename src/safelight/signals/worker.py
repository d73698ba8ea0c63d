"""Preloaded once into the forkserver so every hashing worker forks warm.

Importing the hashing modules and running each compiled PDQ kernel once here (numba loads
its cached machine code on first call, about half a second) means worker processes fork with
all of it in memory instead of paying it again each (``batch.WORKER_PRELOAD``; the
server itself is ``safelight.workers.processes``).
"""

from __future__ import annotations

import numpy as np

from safelight.signals import batch, pdq, pdq_separable

__all__ = ["batch", "warm_up"]


def warm_up() -> None:
    """Call every kernel signature the hashing paths use (uint8 grey, float32 luma, RGB),
    through both the exact and the sampled filter (its uint16 and uint32 row sums)."""
    grey = np.zeros((70, 70), np.uint8)
    for exact in (True, False):
        pdq.pdq_from_luma(grey, exact=exact)
        pdq.pdq_from_luma(grey.astype(np.float32), exact=exact)
    pdq.pdq_dihedral_from_rgb(np.zeros((70, 70, 3), np.uint8))
    pdq.hashes_from_rgb(np.zeros((70, 70, 3), np.uint8))
    pdq_separable.downsample_64_sampled(np.zeros((2100, 5), np.uint8))  # uint32: past 2,048 px


warm_up()
