"""Coverage-guided fuzz harnesses (atheris) of every parser of untrusted bytes.

One module per target, each with ``TestOneInput(data: bytes)`` and ``seeds()``. A harness
returns quietly on what Safelight promises for bad input (an error from ``safelight.errors``,
a per-item error record, a ``Problem`` naming the line) and raises on anything else: that is a
crash. ``fuzz/run.py`` drives them with atheris; ``tests/test_fuzz_seeds.py`` replays the
committed seeds without atheris. See docs/fuzzing.md.
"""

TARGETS = (
    "sniff",
    "photo",
    "video",
    "archives",
    "lists_lines",
    "lists_csv",
    "lists_jsonl",
    "lists_projectvic",
    "lists_vpdq",
    "network_parse",
    "network_logs",
    "mmdb",
)
