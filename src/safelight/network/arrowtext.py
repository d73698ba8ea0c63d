"""The bytes of an Arrow string array as the numba kernels read them: data and offsets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(data bytes, offsets) of a null-free Arrow string array, honouring slices."""
    arr = arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return data, offsets.astype(np.int64)
