"""Domain constants, each with where it comes from.

Everything a reader might want to tune or check against an upstream source lives here,
so a number never hides inside an algorithm.
"""

from typing import Final

# --- PDQ (facebook/ThreatExchange pdq/README.md, pdq/cpp/hashing/pdqhashing.cpp) ---------
PDQ_HASH_BITS: Final = 256
PDQ_HEX_LENGTH: Final = 64
# "Hamming distance <= 31 is a match" (pdq/README.md; python-threatexchange pdq_utils.py).
PDQ_MATCH_THRESHOLD: Final = 31
# Largest meaningful threshold for a list: beyond 63 bits unrelated images begin to collide.
PDQ_MAX_LIST_THRESHOLD: Final = 63
# "Quality below 50 is too unreliable to match on" (python-threatexchange signal.py).
PDQ_MIN_QUALITY: Final = 50
# Images under this size in either dimension hash to all zeros with quality 0 (pdqhashing.cpp).
PDQ_MIN_DIMENSION: Final = 5
# The Jarosz filter decimates to 64x64 cells and keeps the 16x16 low-frequency DCT block.
PDQ_DOWNSAMPLE: Final = 64
PDQ_DCT_SIZE: Final = 16
# Jarosz window: ceil(size / (2 * 64)) (downscaling.cpp computeJaroszFilterWindowSize).
PDQ_JAROSZ_PASSES: Final = 2
# Upstream conformance tolerance for quality >= 80 images vs the C++ reference (pdq/README.md).
PDQ_UPSTREAM_TOLERANCE: Final = 10
# Reduced (--fast) decode keeps the short side at least this large: upstream pre-resizes to 512,
# so hashing at >= 512 stays inside the reference's own flavour spread.
FAST_DECODE_MIN_SIDE: Final = 512

# --- vPDQ (facebook/ThreatExchange vpdq/README.md, python-threatexchange vpdq) -------------
VPDQ_SECONDS_PER_HASH: Final = 1.0
VPDQ_MATCH_THRESHOLD: Final = 31
VPDQ_QUALITY_THRESHOLD: Final = 50
# vpdq/README.md suggests compared >= 80% and query >= 0%.
VPDQ_COMPARED_MATCH_PERCENT: Final = 80.0
VPDQ_QUERY_MATCH_PERCENT: Final = 0.0

# --- Input safety --------------------------------------------------------------------------
# Pillow's own default bomb limit is ~89 MP (warning) / 179 MP (error); we refuse above this.
DEFAULT_MAX_PIXELS: Final = 178_956_970
# Digests are read in blocks of this size: large enough to amortise syscalls, small for cache.
DIGEST_BLOCK_SIZE: Final = 1 << 20
# Files up to this size are read into memory once and the same bytes feed the digests and the
# decoder; larger files are streamed through the digests and decoded from the path.
READ_IN_MEMORY_LIMIT: Final = 256 << 20
# --all-frames hashes at most this many frames of an animated GIF/WebP/APNG.
MAX_ANIMATION_FRAMES: Final = 1000

# --- File hashing (safelight hash) -----------------------------------------------------------
# JPEGs with fewer pixels than this take the RGB decode instead of the luma-only decode: on small
# images PDQ's tent filter averages only a few pixels per cell, so the rounding difference between
# the decoder's Y plane and luma recomputed from rounded RGB shows up in the hash (8 bits measured
# on a 256x256 conformance image); at these sizes the RGB decode costs under a millisecond anyway.
# Chosen so VGA (640x480) and larger take the luma path; see docs/signals.md for the measurements.
LUMA_DECODE_MIN_PIXELS: Final = 640 * 480
# Default exactness bound of the default mode against the HMA path (Pillow RGB + pdqhash);
# asserted by tests on the conformance set and a generated corpus (Safelight issue 2).
DEFAULT_MODE_MAX_BITS: Final = 4

# --- Digest lengths (hex chars) ------------------------------------------------------------
DIGEST_HEX_LENGTHS: Final = {"md5": 32, "sha1": 40, "sha256": 64}
