"""One workload of ``bench/before_after.py`` against whichever ``safelight`` is importable.

``before_after.py`` starts this script in a fresh process per side and repetition, with
``PYTHONPATH=<that tree>/src``; it is never run by hand. It imports nothing from ``bench/``
and only entry points that every compared version has: ``signals.files.hash_file`` with
``signals.options.HashOptions``, ``index.HammingIndex``, and the click CLI (``safelight.cli``)
run in this process. The CLI grammar changed between versions (issue 9: ``--json`` became
``--format json``, ``lists import --format`` became ``--input-format``), so the arguments are
chosen from the options the loaded commands declare (``cli_args``), never from a version
number, and the old code is never edited.

    python bench/before_after_worker.py SPEC.json     # writes the spec's "result" file
    python bench/before_after_worker.py --grammar DIR # each step's arguments, parsed (tests)

Every workload runs the same untimed warm-up before it times anything, so imports, numba's
kernel loading and first-call costs stay outside the figures on both sides.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

THRESHOLD = 31  # PDQ match threshold (HMA's and Safelight's default), both versions
MODE_FLAGS = {"default": [], "fast": ["--fast"], "reference": ["--exact-reference"]}


def peak_rss_bytes() -> int:
    """This process's own peak resident set (VmHWM: not inherited across exec)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def check_tree(src: str) -> str:
    """The imported safelight must be the one the driver named (not the venv's editable one)."""
    import safelight

    found = Path(safelight.__file__).resolve()
    if not found.is_relative_to(Path(src).resolve()):
        raise SystemExit(f"safelight imported from {found}, expected under {src}")
    return str(found.parent)


# --- the CLI, whatever its grammar -------------------------------------------------------


def command(path: Sequence[str]) -> Any:
    """The click command at ``path`` (e.g. ("network", "ingest")) of the loaded CLI."""
    from safelight.cli import main

    found: Any = main
    for name in path:
        found = found.commands[name]
    return found


def _choice_option(cmd: Any, value: str) -> str | None:
    """The first documented option of ``cmd`` whose choices include ``value`` exactly (the
    new CLI keeps old spellings as hidden, warning aliases: never chosen here)."""
    for param in cmd.params:
        choices = getattr(param.type, "choices", None)
        documented = param.param_type_name == "option" and not getattr(param, "hidden", False)
        if documented and choices and value in choices:
            return str(max(param.opts, key=len))
    return None


def json_output(cmd: Any) -> list[str]:
    """How ``cmd`` is asked for JSON: a choice holding "json" (``--format json``, or the old
    ``lists import --report json``), else the old ``--json`` flag."""
    option = _choice_option(cmd, "json")
    if option is not None:
        return [option, "json"]
    if any("--json" in param.opts for param in cmd.params):
        return ["--json"]
    raise SystemExit(f"{cmd.name}: no JSON output option")


def input_format(cmd: Any, value: str) -> list[str]:
    """The input-format option (``--input-format`` now, ``--format`` before issue 9)."""
    option = _choice_option(cmd, value)
    if option is None:
        raise SystemExit(f"{cmd.name}: no input format option offering {value}")
    return [option, value]


def cli_args(step: str, **values: str) -> list[str]:
    """The argument list of one benchmark step in the loaded CLI's grammar."""
    if step == "lists_create":
        return ["lists", "create", values["name"]]
    if step == "lists_import":
        cmd = command(("lists", "import"))
        args = ["lists", "import", values["name"], values["file"]]
        args += input_format(cmd, "lines") + json_output(cmd)
        if "type" in values:
            args += ["--type", values["type"]]
        return args
    if step == "scan":
        args = ["scan", values["source"], "--list", values["list"], "--jobs", "1", "--quiet"]
        args += ["--out", values["out"]] + json_output(command(("scan",)))
        return args + MODE_FLAGS[values["mode"]]
    if step == "network_ingest":
        args = ["network", "ingest", values["file"], "--case", values["case"]]
        args += ["--list-file", values["list_file"]]
        return args + json_output(command(("network", "ingest")))
    if step == "network_analyze":
        args = ["network", "analyze", "--case", values["case"], "--out", values["out"]]
        return args + ["--geo", values["geo"]]
    raise ValueError(step)


def check_parses(args: list[str]) -> None:
    """Parse ``args`` with the loaded CLI's own command without running it: click rejects an
    unknown option, a value outside a choice or a missing file here."""
    import click

    from safelight.cli import main

    # Each command's context under its group's, as the CLI makes them: a context made
    # without its parent would miss the group's settings (-h), and click caches the help
    # option a command first saw, which changed later --help output in the same process.
    found: Any = main
    parent = click.Context(main, info_name="safelight", **main.context_settings)
    rest = list(args)
    while isinstance(found, click.Group):
        name = rest.pop(0)
        found = found.commands[name]
        if isinstance(found, click.Group):
            parent = click.Context(found, info_name=name, parent=parent)
    with found.make_context(found.name, rest, parent=parent):
        pass


def grammar(folder: Path) -> dict[str, list[str]]:
    """Every step's arguments in the loaded CLI's grammar, each checked by parsing it."""
    files = {name: folder / name for name in ("list.txt", "log.csv", "known.csv", "geo.mmdb")}
    for path in files.values():
        path.touch()
    steps = {
        "lists_create": {"name": "BEFORE_AFTER"},
        "lists_import": {"name": "BEFORE_AFTER", "file": str(files["list.txt"]), "type": "pdq"},
        "scan": {"source": str(folder), "list": "BEFORE_AFTER", "mode": "fast",
                 "out": str(folder / "out.jsonl")},
        "network_ingest": {"file": str(files["log.csv"]), "case": "BENCH",
                           "list_file": str(files["known.csv"])},
        "network_analyze": {"case": "BENCH", "out": str(folder / "report"),
                            "geo": str(files["geo.mmdb"])},
    }  # fmt: skip
    found = {step: cli_args(step, **values) for step, values in steps.items()}
    for args in found.values():
        check_parses(args)
    return found


def run_cli(args: list[str], ok: tuple[int, ...] = (0,)) -> str:
    """Run the CLI in this process; its stdout, or SystemExit naming the failure. ``ok``:
    the exit codes expected (``network ingest`` exits 1 when it rejected rows, as the
    simulated log's malformed rows are meant to be)."""
    from safelight.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main.main(args=args, prog_name="safelight", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
    if (code or 0) not in ok:
        raise SystemExit(f"safelight {' '.join(args)}: exit {code}\n{err.getvalue()[-3000:]}")
    return out.getvalue()


def timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds (this process, all threads) and the value of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return time.perf_counter() - wall, time.process_time() - cpu, value


# --- workloads ------------------------------------------------------------------------------


def hashing(spec: dict[str, Any]) -> dict[str, Any]:
    """Files/s per variant and set through ``hash_file``; each variant's PDQ per image."""
    from safelight.signals.files import hash_file
    from safelight.signals.options import HashOptions

    pdq_only = frozenset({"pdq"})
    options = {
        "default": HashOptions(),
        "fast": HashOptions(mode="fast"),
        "reference": HashOptions(mode="reference"),
        "default_pdq_only": HashOptions(signals=pdq_only),
        "fast_pdq_only": HashOptions(mode="fast", signals=pdq_only),
    }
    sets: dict[str, dict[str, Any]] = spec["sets"]
    for entry in sets.values():  # the warm-up: two files of every set, every variant
        for name in entry["variants"]:
            for path in entry["paths"][:2]:
                hash_file(path, options[name])
    results: dict[str, Any] = {}
    for set_name, entry in sets.items():
        paths, names, passes = entry["paths"], entry["variants"], spec["passes"]
        turn = spec["rep"] % len(names)
        per_variant: dict[str, Any] = {}
        for name in names[turn:] + names[:turn]:
            option = options[name]
            wall, cpu = time.perf_counter(), time.process_time()
            records = [hash_file(p, option) for _ in range(passes) for p in paths]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            failed = [r.error for r in records if r.error is not None]
            if failed:
                raise SystemExit(f"{name} on {set_name}: {failed[0]}")
            per_variant[name] = {
                "files_per_s_wall": len(records) / wall,
                "files_per_s_cpu": len(records) / max(cpu, 1e-9),
                "pdq": [r.pdq.hex if r.pdq else None for r in records[: len(paths)]],
            }
        results[set_name] = per_variant
    return {"sets": results}


def _result_fingerprint(pairs: list[tuple[int, int, int]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]


def index(spec: dict[str, Any]) -> dict[str, Any]:
    """Build from arrays, open, and one-thread queries of a HammingIndex at threshold 31."""
    from safelight.index import HammingIndex, array_to_hex

    hashes = np.load(spec["hashes"])
    queries = np.load(spec["queries"])
    ids = np.arange(len(hashes), dtype=np.int64)
    work = Path(spec["workdir"])
    hex_queries = array_to_hex(queries)
    warm = HammingIndex.build(work / "warm-up", ids[:1000], hashes[:1000])  # kernels, untimed
    for query in hex_queries[:20]:
        warm.search(query, THRESHOLD, workers=1)
    warm.search(queries, THRESHOLD, workers=1)
    del warm
    build_wall, build_cpu = time.perf_counter(), time.process_time()
    HammingIndex.build(work / "index", ids, hashes)
    build_wall, build_cpu = time.perf_counter() - build_wall, time.process_time() - build_cpu
    del hashes
    opens = [timed(lambda: HammingIndex.open(work / "index"))[0] for _ in range(5)]
    opened = HammingIndex.open(work / "index")
    rounds = spec["rounds"]
    for query in hex_queries:  # one untimed pass over every query, as bench/index.py
        opened.search(query, THRESHOLD, workers=1)
    latencies: list[float] = []
    pass_qps: list[float] = []
    pass_qps_cpu: list[float] = []  # CPU time of the whole pass: steadier on a busy machine
    answers: list[Any] = []
    for _ in range(rounds):
        spent, answers, cpu = 0.0, [], time.process_time()
        for query in hex_queries:
            start = time.perf_counter()
            answers.append(opened.search(query, THRESHOLD, workers=1))
            seconds = time.perf_counter() - start
            spent += seconds
            latencies.append(seconds)
        pass_qps_cpu.append(len(hex_queries) / max(time.process_time() - cpu, 1e-9))
        pass_qps.append(len(hex_queries) / spent)
    pairs = [(q, int(i), int(d)) for q, a in enumerate(answers) for i, d in a[0]]
    batch = [timed(lambda: opened.search(queries, THRESHOLD, workers=1)) for _ in range(rounds)]
    batch_pairs = [(q, int(i), int(d)) for q in range(len(queries)) for i, d in batch[-1][2][q]]
    if sorted(batch_pairs) != sorted(pairs):
        raise SystemExit("batch and per-query answers differ")
    return {
        "n": len(ids),
        "queries": len(hex_queries),
        "build_s_wall": build_wall,
        "build_s_cpu": build_cpu,
        "open_ms": 1000 * statistics.median(opens),
        "query_qps_one_thread": statistics.median(pass_qps),
        "query_qps_one_thread_cpu": statistics.median(pass_qps_cpu),
        "query_latency_ms_median": 1000 * statistics.median(latencies),
        "batch_qps_one_thread": len(queries) / statistics.median(b[0] for b in batch),
        "pairs": len(pairs),
        "pairs_fingerprint": _result_fingerprint(pairs),
        "peak_rss_bytes": peak_rss_bytes(),
    }


def scan_setup(spec: dict[str, Any]) -> dict[str, Any]:
    """The side's store: one list holding the PDQ and MD5 list files (not timed)."""
    started = time.perf_counter()
    run_cli(cli_args("lists_create", name=spec["list"]))
    run_cli(cli_args("lists_import", name=spec["list"], file=spec["pdq_list"], type="pdq"))
    run_cli(cli_args("lists_import", name=spec["list"], file=spec["md5_list"]))
    return {"setup_s": time.perf_counter() - started}


def _scan(spec: dict[str, Any], source: str, mode: str, out: str) -> dict[str, Any]:
    args = cli_args("scan", source=source, list=spec["list"], mode=mode, out=out)
    wall, cpu, text = timed(lambda: run_cli(args))
    summary = json.loads(text)
    return {"wall_s": wall, "cpu_s": cpu, **{k: summary.get(k) for k in SCAN_COUNTS}}


SCAN_COUNTS = ("items", "matched_items", "errors", "containers", "bytes")


def scan(spec: dict[str, Any]) -> dict[str, Any]:
    """One scan per source and mode against the list: the folder with archives (loose JPEGs,
    a zip, a tar.gz) and its loose JPEGs alone."""
    work = Path(spec["workdir"])
    modes = ["default", "fast", "reference"]
    for mode in modes:  # the warm-up: a small folder of the same kinds, every mode
        _scan(spec, spec["warm_source"], mode, str(work / f"warm-{mode}.jsonl"))
    turn = spec["rep"] % len(modes)
    results: dict[str, Any] = {}
    for source_name, source in spec["sources"].items():
        for mode in modes[turn:] + modes[:turn]:
            out = work / f"scan-{source_name}-{mode}.jsonl"
            row = _scan(spec, source, mode, str(out))
            row["jsonl_lines"] = sum(1 for _ in out.open())
            results.setdefault(source_name, {})[mode] = row
    return {"sources": results, "peak_rss_bytes": peak_rss_bytes()}


def _network_case(spec: dict[str, Any], sightings: str, case: str, out: Path) -> dict[str, Any]:
    ingest_args = cli_args("network_ingest", file=sightings, case=case, list_file=spec["list_file"])
    ingest_wall, ingest_cpu, text = timed(lambda: run_cli(ingest_args, ok=(0, 1)))
    analyze_args = cli_args("network_analyze", case=case, out=str(out), geo=spec["geo"])
    analyze_wall, analyze_cpu, _ = timed(lambda: run_cli(analyze_args))
    summary = json.loads(text)
    summary = summary[0] if isinstance(summary, list) else summary
    if summary.get("status") != "ingested":
        raise SystemExit(f"ingest of {sightings}: {summary.get('status')}, expected ingested")
    headline = json.loads((out / "report.json").read_text())["headline"]
    return {
        "ingest_s_wall": ingest_wall,
        "analyze_s_wall": analyze_wall,
        "total_s_wall": ingest_wall + analyze_wall,
        "total_s_cpu": ingest_cpu + analyze_cpu,
        "rows_good": summary.get("rows_good"),
        "known_files": summary.get("known_files"),
        "headline": {k: v for k, v in headline.items() if isinstance(v, int | float)},
    }


def network(spec: dict[str, Any]) -> dict[str, Any]:
    """``network ingest`` (with the simulated list file) + ``network analyze`` (with its geo
    database) of the simulated log, after the same two commands on a small slice."""
    work = Path(spec["workdir"])
    _network_case(spec, spec["warm_sightings"], "WARM", work / "report-warm")
    result = _network_case(spec, spec["sightings"], "BENCH", work / "report")
    shutil.rmtree(work / "report-warm", ignore_errors=True)
    return {**result, "peak_rss_bytes": peak_rss_bytes()}


WORKLOADS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "hashing": hashing,
    "index": index,
    "scan_setup": scan_setup,
    "scan": scan,
    "network": network,
}


def main(argv: list[str]) -> int:
    if argv[0] == "--grammar":  # for the tests: this tree's arguments, parsed, as JSON
        print(json.dumps(grammar(Path(argv[1]))))
        return 0
    spec = json.loads(Path(argv[0]).read_text())
    imported_from = check_tree(spec["src"])
    os.environ["SAFELIGHT_HOME"] = spec["home"]  # the side's own store and indexes
    os.environ.pop("SAFELIGHT_DATABASE_URL", None)
    result = WORKLOADS[spec["workload"]](spec)
    result["safelight"] = imported_from
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
