"""Worker-side pieces: reading items, the per-process pipeline cache, progress displays."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

from safelight.scan.model import WorkItem
from safelight.scan.pipeline import PipelineConfig, pipeline_for, process_batch
from safelight.scan.progress import LiveProgress, LogProgress, describe
from safelight.scan.runs import Tally


def test_large_files_get_streamed_digests_only(tmp_path: Path) -> None:
    big = tmp_path / "disk.img"
    data = bytes(range(256)) * 64
    big.write_bytes(data)
    config = PipelineConfig(max_file_bytes=1000)
    (result,) = process_batch(config, [WorkItem(str(big), "file", str(big), size=len(data))])
    record = result.record
    assert record.digests["md5"] == hashlib.md5(data).hexdigest()
    assert record.digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert (record.size, record.media, record.pdq, record.error) == (len(data), "other", None, None)


def test_items_that_vanish_or_fail_are_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_bytes(b"ok")
    items = [
        WorkItem(str(tmp_path / "gone.jpg"), "file", str(tmp_path / "gone.jpg"), size=3),
        WorkItem.failed("listed-bad", "symlink_loop", "listed-bad: loop"),
        WorkItem(str(tmp_path / "ok.txt"), "file", str(tmp_path / "ok.txt"), size=2),
    ]
    gone, failed, ok = process_batch(PipelineConfig(), items)
    assert gone.error is not None and gone.error.code == "unreadable"
    assert failed.error is not None and failed.error.code == "symlink_loop"
    assert ok.error is None and ok.record.digests["md5"] == hashlib.md5(b"ok").hexdigest()


def test_an_unexpected_bug_in_one_item_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = pipeline_for(PipelineConfig())

    def explode(data: bytes, name: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline.hasher, "hash_bytes", explode)
    (result,) = process_batch(PipelineConfig(), [WorkItem("x", "inline", data=b"x", size=1)])
    assert result.error is not None and result.error.code == "internal"
    assert "boom" in result.error.message


def test_pipeline_is_cached_per_config_and_old_ones_age_out() -> None:
    first = pipeline_for(PipelineConfig())
    assert pipeline_for(PipelineConfig()) is first
    second = pipeline_for(PipelineConfig(max_pixels=10))
    assert second is not first
    assert pipeline_for(PipelineConfig()) is first  # two fit
    pipeline_for(PipelineConfig(max_pixels=20))
    pipeline_for(PipelineConfig(max_pixels=30))
    assert pipeline_for(PipelineConfig()) is not first  # rebuilt after ageing out


def _tally() -> Tally:
    tally = Tally()
    tally.items, tally.bytes, tally.matched_items, tally.errors = 10, 5_000_000, 2, 1
    return tally


def test_describe_has_rates_matches_errors_and_eta() -> None:
    text = describe(_tally(), 2.0, 10_000_000)
    assert "10 items (5.0/s)" in text and "2.5 MB/s" in text
    assert "2 matched" in text and "1 errors" in text and "ETA 2s" in text
    assert describe(_tally(), 2.0, None).endswith("ETA ?")


def test_log_progress_writes_periodic_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "f").write_bytes(b"12345")
    progress = LogProgress(interval=0.0)
    with caplog.at_level(logging.INFO, logger="safelight.scan"):
        progress.start(1, [str(tmp_path)], already=0)
        progress.update(_tally())
        progress.stop()
    assert "scan run 1 started" in caplog.text and "10 items" in caplog.text


def test_live_progress_draws_on_a_terminal(tmp_path: Path) -> None:
    buffer = io.StringIO()
    progress = LiveProgress(Console(file=buffer, force_terminal=True, width=200))
    progress.start(7, [str(tmp_path)], already=0)
    progress.update(_tally())
    progress.stop()
    assert "10 items" in buffer.getvalue()
