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

# --- Digest lengths (hex chars) ------------------------------------------------------------
DIGEST_HEX_LENGTHS: Final = {"md5": 32, "sha1": 40, "sha256": 64}

# --- Hash lists ("banks") ------------------------------------------------------------------
# Signal types a list entry can hold. vPDQ is one entry per video (see docs/lists.md).
LIST_SIGNAL_TYPES: Final = ("pdq", "md5", "sha1", "sha256", "vpdq")
# Hex length of each fixed-length type; a bare hex line is typed by its length, and 64 means
# PDQ as in HMA's local file exchange (python-threatexchange exchanges/impl/file_api.py).
LIST_HEX_LENGTHS: Final = {"pdq": PDQ_HEX_LENGTH, **DIGEST_HEX_LENGTHS}
# python-threatexchange / HMA signal type names accepted on import as aliases of ours
# (signal_type/md5.py "video_md5", HMA config "video_sha256", extensions/vpdq "vpdq").
LIST_SIGNAL_TYPE_ALIASES: Final = {
    "video_md5": "md5",
    "photo_md5": "md5",
    "video_sha256": "sha256",
    "video_vpdq": "vpdq",
}
# HMA bank names: "[A-Z_][A-Z0-9_]*", column of 255 (hma-api.md section 1). Using the same rule
# lets a list be served as an HMA bank unchanged.
LIST_NAME_PATTERN: Final = r"[A-Z_][A-Z0-9_]*"
LIST_NAME_MAX_LENGTH: Final = 255
# Labels are free taxonomy strings; bounded so a label index stays small on both databases.
LIST_LABEL_MAX_LENGTH: Final = 255
# pytx vpdq_util.py VPDQ_TIMESTAMP_PRECISION: timestamps carry 3 decimals.
VPDQ_TIMESTAMP_DECIMALS: Final = 3
# Rows parsed per database round trip during an import: large enough to amortise statement
# overhead, small enough that one batch of labels and ids stays a few MB.
LIST_IMPORT_BATCH_ROWS: Final = 5_000
# PostgreSQL work_mem for an import's transaction: the merge sorts the staged keys (about
# 150 MB per million rows); the 4 MB default spills that sort to temp files.
LIST_IMPORT_WORK_MEM: Final = "256MB"
# Invalid records kept in memory for a report; all are still counted (and streamed to the
# --problems file on the CLI).
LIST_MAX_REPORTED_PROBLEMS: Final = 1_000
