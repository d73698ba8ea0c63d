"""The comparisons of ``bench/before_after.py``: which figure of one side meets which of the
other, what each pair compares, medians, speedups, noise and verdicts, and the printed table.

Some pairs compare different work on purpose. Issue 10 made the default PDQ bit-exact (the
old default decoded luma only and drifted a few bits), so the old default against the new
default measures that decision, not issue 9's redesign; the like-for-like pairs beside it
are the old ``--exact-reference`` against the new default (both exact) and the same mode on
both sides where the route is the same. Each comparison says which it is in ``kind``:

* ``like for like``: the same work through the same route (a regression here counts);
* ``exact vs exact``: pdqhash's bits on both sides through different routes (counts too);
* ``approximate vs approximate``: both approximate, with different error bounds (reported);
* ``moved by design``: the work itself changed; ``why`` says how (reported, never flagged).
"""

from __future__ import annotations

import statistics
from typing import Any

LIKE, EXACT, APPROX, DESIGN = (
    "like for like", "exact vs exact", "approximate vs approximate", "moved by design",
)  # fmt: skip
COUNTED = (LIKE, EXACT)  # kinds whose "worse" is a regression
# Two repetitions give one difference, no estimate of the noise: a smoke run gets no verdict.
MIN_REPS_FOR_VERDICT = 3

DEFAULT_WHY = (
    "issue 10: the default PDQ became bit-exact (old: luma-only decode, a few bits off the "
    "reference; new: RGB decode as Pillow's + guarded sampled filter)"
)
FAST_WHY = (
    "issue 10: --fast decodes reduced RGB and computes the reference's luma (old: reduced "
    "grey only), and takes the exact route where the DCT spread is too small to keep it"
)
# (old variant, new variant, kind, why)
MODE_PAIRS = (
    ("default", "default", DESIGN, DEFAULT_WHY),
    ("reference", "default", EXACT, "old --exact-reference vs new default: both pdqhash's bits"),
    ("default", "fast", APPROX, "old default vs new --fast: both approximate"),
    ("fast", "fast", DESIGN, FAST_WHY),
    ("reference", "reference", LIKE, "Pillow full RGB decode + the exact PDQ filter, both"),
)
HASH_PAIRS = (
    *MODE_PAIRS,
    ("default_pdq_only", "default_pdq_only", DESIGN, DEFAULT_WHY + ", PDQ only"),
    ("fast_pdq_only", "fast_pdq_only", DESIGN, FAST_WHY + ", PDQ only"),
)
NON_MEDIA_PAIRS = (
    ("default", "default", LIKE, "no decode: read, MD5 + SHA-1 + SHA-256, sniff, the record"),
)
INDEX_WHY = (
    "same API and answers; issue 11 changed the segment layout between the revisions (chunks "
    "sized per segment, exact radii, prefetched verification); issue 9 barely touched it"
)
NETWORK_WHY = (
    "same commands and report; issue 9 (list files through the lists readers, one worker "
    "layer) and issue 10 (CSV formula guard, quote handling) both changed this path"
)


def spread(values: list[float]) -> float:
    """(max - min) / median of one side's repetitions."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def compare(
    old: list[float],
    new: list[float],
    higher_is_better: bool,
    kind: str,
    why: str,
    primary: bool = True,
) -> dict[str, Any]:
    """Medians, speedup (above 1: new better), paired ratios per repetition, noise, and the
    verdict: "better" or "worse" only when the speedup is farther from 1 than the noise (and
    none from fewer than ``MIN_REPS_FOR_VERDICT`` repetitions)."""
    old_median, new_median = statistics.median(old), statistics.median(new)

    def better(o: float, n: float) -> float:
        return n / o if higher_is_better else o / n

    speedup = better(old_median, new_median)
    noise = max(spread(old), spread(new))
    verdict = "better" if speedup > 1 + noise else "worse" if speedup < 1 - noise else "same"
    if min(len(old), len(new)) < MIN_REPS_FOR_VERDICT:
        verdict = "too few repetitions"
    return {
        "kind": kind,
        "why": why,
        "higher_is_better": higher_is_better,
        "old": {"median": old_median, "reps": old, "spread": spread(old)},
        "new": {"median": new_median, "reps": new, "spread": spread(new)},
        "speedup": speedup,
        "paired_speedups": [better(o, n) for o, n in zip(old, new, strict=True)],
        "noise": noise,
        "verdict": verdict,
        "regression_beyond_noise": kind in COUNTED and verdict == "worse",
        "primary": primary,  # printed in the table; the others are in the JSON only
    }


def _values(reps: list[dict[str, Any]], *keys: str) -> list[float]:
    out = []
    for rep in reps:
        value: Any = rep
        for key in keys:
            value = value[key]
        out.append(float(value))
    return out


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hashing(raw: dict[str, Any]) -> dict[str, Any]:
    old, new = raw["reps"]["old"], raw["reps"]["new"]
    rows: dict[str, Any] = {}
    exactness: dict[str, Any] = {}
    for set_name, variants in old[0]["sets"].items():
        image_set = "reference" in variants
        for old_v, new_v, kind, why in HASH_PAIRS if image_set else NON_MEDIA_PAIRS:
            for unit, key in (("CPU", "files_per_s_cpu"), ("wall", "files_per_s_wall")):
                rows[f"{set_name} {old_v} -> {new_v}, files/s ({unit})"] = compare(
                    _values(old, "sets", set_name, old_v, key),
                    _values(new, "sets", set_name, new_v, key),
                    True, kind, why, unit == "CPU",
                )  # fmt: skip
        if not image_set:
            continue
        reference = new[0]["sets"][set_name]["reference"]["pdq"]  # pdqhash's bits (issue 10)
        for side, reps in (("old", old), ("new", new)):
            for variant, found in reps[0]["sets"][set_name].items():
                bits = [_bits(a, b) for a, b in zip(found["pdq"], reference, strict=True)]
                exactness[f"{set_name} {side} {variant}"] = {
                    "max_bits": max(bits),
                    "images_off": sum(1 for b in bits if b),
                    "images": len(bits),
                }
    return {
        "inputs": raw["inputs"],
        "passes_per_rep": raw["passes"],
        "prime_s": raw["prime_s"],
        "comparisons": rows,
        "bits_from_new_exact_reference": exactness,
    }


def index(raw: dict[str, Any]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    measures = (
        ("build from arrays, s (wall)", "build_s_wall", False),
        ("open, ms", "open_ms", False),
        ("queries/s, one thread, one call per query", "query_qps_one_thread", True),
        ("queries/s by CPU time, one thread, one call per query", "query_qps_one_thread_cpu", True),
        ("queries/s, one thread, batch call", "batch_qps_one_thread", True),
        ("peak RSS of the process, bytes", "peak_rss_bytes", False),
    )
    for n, reps in raw["sizes"].items():
        for label, key, higher in measures:
            rows[f"{int(n):,} uniform: {label}"] = compare(
                _values(reps["old"], key), _values(reps["new"], key), higher, DESIGN, INDEX_WHY
            )
        prints = {side: {r["pairs_fingerprint"] for r in runs} for side, runs in reps.items()}
        answers[n] = {
            "pairs": reps["new"][0]["pairs"],
            "identical_answers": len(prints["old"] | prints["new"]) == 1,
        }
    return {"prime_s": raw["prime_s"], "comparisons": rows, "answers": answers}


ARCHIVES_WHY = "; the new scan also hashes each archive itself as an item (issue 10)"


def scan(raw: dict[str, Any]) -> dict[str, Any]:
    old, new = raw["reps"]["old"], raw["reps"]["new"]
    rows: dict[str, Any] = {}
    for source in old[0]["sources"]:
        for old_v, new_v, kind, why in MODE_PAIRS:
            if source == "with_archives":  # containers are items now: more work by design
                kind, why = (DESIGN if kind == LIKE else kind), why + ARCHIVES_WHY
            for unit, key in (("wall", "wall_s"), ("CPU", "cpu_s")):
                rows[f"{source} {old_v} -> {new_v}, seconds per scan ({unit})"] = compare(
                    _values(old, "sources", source, old_v, key),
                    _values(new, "sources", source, new_v, key),
                    False, kind, why,
                )  # fmt: skip
    counts = {
        side: {
            source: {
                mode: {key: row.get(key) for key in ("items", "matched_items", "errors")}
                for mode, row in modes.items()
            }
            for source, modes in reps[0]["sources"].items()
        }
        for side, reps in (("old", old), ("new", new))
    }
    return {
        "inputs": raw["inputs"],
        "list_setup_s": raw["list_setup_s"],
        "prime_s": raw["prime_s"],
        "comparisons": rows,
        "counts": counts,
    }


def network(raw: dict[str, Any]) -> dict[str, Any]:
    old, new = raw["reps"]["old"], raw["reps"]["new"]
    measures = (
        ("ingest + analyze, s (wall)", "total_s_wall", False, True),
        ("ingest, s (wall)", "ingest_s_wall", False, True),
        ("analyze, s (wall)", "analyze_s_wall", False, True),
        ("ingest + analyze, s (CPU)", "total_s_cpu", False, True),
        ("peak RSS of the process, bytes", "peak_rss_bytes", False, True),
    )
    rows = {
        label: compare(_values(old, key), _values(new, key), higher, DESIGN, NETWORK_WHY, primary)
        for label, key, higher, primary in measures
    }
    headlines = {side: reps[0]["headline"] for side, reps in (("old", old), ("new", new))}
    return {
        "inputs": raw["inputs"],
        "prime_s": raw["prime_s"],
        "comparisons": rows,
        "headline": headlines,
        "identical_headline": headlines["old"] == headlines["new"],
        "rows_good": {side: reps[0]["rows_good"] for side, reps in (("old", old), ("new", new))},
    }


def process_seconds(raw: dict[str, Any]) -> dict[str, list[float]]:
    """Wall seconds of each worker process (start-up, warm-up and all): what a run costs."""
    groups = raw["sizes"].values() if "sizes" in raw else [raw["reps"]]
    return {
        side: [round(rep["process_s"], 1) for reps in groups for rep in reps[side]]
        for side in ("old", "new")
    }


def compare_workloads(raw: dict[str, Any]) -> dict[str, Any]:
    makers = {"hashing": hashing, "index": index, "scan": scan, "network": network}
    return {
        name: {**makers[name](data), "worker_process_s": process_seconds(data)}
        for name, data in raw.items()
    }


def _figure(value: float) -> str:
    if value >= 1e8:
        return f"{value / 2**30:.2f} GiB"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_table(report: dict[str, Any]) -> None:
    """One line per comparison: medians, speedup, noise, verdict, kind."""
    print(f"\n{'workload / measure':<70} {'old':>10} {'new':>10} {'speedup':>8} "
          f"{'noise':>6}  verdict  kind")  # fmt: skip
    regressions = []
    for workload, data in report["workloads"].items():
        for label, row in data["comparisons"].items():
            name = f"{workload}: {label}"
            if row["regression_beyond_noise"]:
                regressions.append(name)
            if not row["primary"]:
                continue
            print(
                f"{name[:70]:<70} {_figure(row['old']['median']):>10} "
                f"{_figure(row['new']['median']):>10} {row['speedup']:7.2f}x "
                f"{row['noise']:6.1%}  {row['verdict'][:7]:<7}  {row['kind']}"
            )
    print(
        "\nregressions beyond noise (like-for-like kinds only):", ", ".join(regressions) or "none"
    )
