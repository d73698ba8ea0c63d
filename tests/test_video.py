"""Video decoding and frame sampling on benign synthetic videos made with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from safelight.errors import MediaError, UsageError
from safelight.signals.pdq import hamming_distance, pdq_from_rgb
from safelight.signals.video import (
    frame_modulus,
    frame_timestamp,
    hash_video,
    hash_video_detailed,
)

from .video_synth import (
    FORMATS,
    make_audio_only,
    make_declared_huge,
    make_video,
    make_zero_frame_avi,
    synthetic_rgb,
)

FRAMES, FPS, WIDTH, HEIGHT = 30, 10, 96, 64


@pytest.fixture(scope="module")
def videos() -> dict[str, bytes]:
    return {kind: make_video(kind, FRAMES, FPS, WIDTH, HEIGHT) for kind in FORMATS}


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_every_container_hashes_every_frame_in_order(videos: dict[str, bytes], kind: str) -> None:
    result = hash_video_detailed(videos[kind], seconds_per_hash=0, name=f"clip.{kind}")
    assert result.problem is None and not result.partial
    assert result.frames_decoded == FRAMES
    assert (result.info.width, result.info.height, result.info.fps) == (WIDTH, HEIGHT, FPS)
    assert [f.frame for f in result.features] == list(range(FRAMES))
    assert [f.timestamp for f in result.features] == [
        pytest.approx(i / FPS, abs=1e-6) for i in range(FRAMES)
    ]
    # Each hash is nearest to the frame encoded at that position among all encoded frames (a
    # wrong order, channel or plane would not be); the lossless codec reproduces it exactly.
    sources = [pdq_from_rgb(synthetic_rgb(i, WIDTH, HEIGHT)) for i in range(FRAMES)]
    for feature in result.features:
        distances = [hamming_distance(feature.digest, s.digest) for s in sources]
        assert distances.index(min(distances)) == feature.frame, (kind, feature.frame)
        if kind == "ffv1.mkv":
            assert (feature.pdq, feature.quality) == (
                sources[feature.frame].hex,
                sources[feature.frame].quality,
            )


def test_path_and_bytes_give_the_same_features(videos: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(videos["mp4"])
    assert hash_video(path) == hash_video(videos["mp4"]) == hash_video(str(path))


@pytest.mark.parametrize(
    ("seconds_per_hash", "expected"),
    [
        (1.0, [0, 10, 20]),
        (0.5, [0, 5, 10, 15, 20, 25]),
        (2.5, [0, 25]),
        (0.05, list(range(FRAMES))),  # 0.05 * 10 fps truncates to 0: every frame
        (0.0, list(range(FRAMES))),
        (100.0, [0]),
    ],
)
def test_sampling_keeps_frames_at_the_reference_modulus(
    videos: dict[str, bytes], seconds_per_hash: float, expected: list[int]
) -> None:
    features = hash_video(videos["mkv"], seconds_per_hash)
    assert [f.frame for f in features] == expected
    every = {f.frame: f for f in hash_video(videos["mkv"], 0)}
    assert features == [every[n] for n in expected]


def test_ntsc_rate_truncates_the_modulus_and_keeps_float32_timestamps() -> None:
    data = make_video("mp4", frames=65, fps=Fraction(30000, 1001), width=64, height=48)
    result = hash_video_detailed(data)
    assert result.info.fps == pytest.approx(29.97002997)
    assert result.info.frame_modulus == 29
    assert [f.frame for f in result.features] == [0, 29, 58]
    assert [f"{f.timestamp:.3f}" for f in result.features] == ["0.000", "0.968", "1.935"]


def test_frame_modulus_and_timestamp_rules() -> None:
    assert frame_modulus(1.0, 30.0) == 30
    assert frame_modulus(1.0, 29.97) == 29
    assert frame_modulus(1.0, 0.5) == 1  # fps * seconds_per_hash < 1: every frame
    assert frame_modulus(0.0, 30.0) == 1
    assert frame_timestamp(1, 30.0) == float(np.float32(1) / np.float32(30))
    assert frame_timestamp(1, 30.0) != 1 / 30  # float32, as the reference stores it


def test_slow_frame_rate_hashes_every_frame() -> None:
    data = make_video("mkv", frames=5, fps=Fraction(1, 2), width=48, height=32)
    features = hash_video(data)
    assert [f.frame for f in features] == [0, 1, 2, 3, 4]
    assert [f.timestamp for f in features] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_downsample_hashes_scaled_frames(videos: dict[str, bytes]) -> None:
    native = hash_video(videos["mov"], 0)
    square = hash_video(videos["mov"], 0, downsample=32)
    wide = hash_video(videos["mov"], 0, downsample=(48, 32))
    assert hash_video(videos["mov"], 0, downsample=0) == native
    for a, b, c in zip(native, square, wide, strict=True):
        assert a.frame == b.frame == c.frame
        assert hamming_distance(a.digest, c.digest) <= 31
        assert hamming_distance(a.digest, b.digest) <= 48  # aspect changed: more bits move
    assert square != native
    with pytest.raises(UsageError, match="downsample"):
        hash_video(videos["mov"], downsample=-4)


@pytest.mark.parametrize("pixels", ["rgb-accurate", "luma"])
def test_alternative_pixel_paths_stay_near_the_default(
    videos: dict[str, bytes], pixels: str
) -> None:
    default = hash_video(videos["mp4"], 0)
    other = hash_video(videos["mp4"], 0, pixels=pixels)  # type: ignore[arg-type]
    assert [f.frame for f in other] == [f.frame for f in default]
    distances = [hamming_distance(a.digest, b.digest) for a, b in zip(default, other, strict=True)]
    assert max(distances) <= 24
    luma_scaled = hash_video(videos["mp4"], 0, downsample=32, pixels="luma")
    assert len(luma_scaled) == FRAMES


def test_luma_path_handles_full_range_and_other_pixel_formats(videos: dict[str, bytes]) -> None:
    # mjpeg decodes to full-range yuvj420p; ffv1 here decodes to bgr0 (no Y plane at all).
    for data in (videos["mjpeg.avi"], videos["ffv1.mkv"]):
        rgb = hash_video(data, 0)
        luma = hash_video(data, 0, pixels="luma")
        assert (
            max(hamming_distance(a.digest, b.digest) for a, b in zip(rgb, luma, strict=True)) <= 24
        )


def test_worker_count_does_not_change_the_result(videos: dict[str, bytes]) -> None:
    assert hash_video(videos["webm"], 0, workers=1) == hash_video(videos["webm"], 0, workers=3)


def test_bad_arguments_are_usage_errors(videos: dict[str, bytes]) -> None:
    with pytest.raises(UsageError, match="seconds_per_hash"):
        hash_video(videos["mp4"], -1)
    with pytest.raises(UsageError, match="pixels"):
        hash_video(videos["mp4"], pixels="bgr")  # type: ignore[arg-type]


def test_tiny_frames_hash_to_zero_with_quality_zero() -> None:
    features = hash_video(make_video("mjpeg.avi", frames=3, width=4, height=4), 0)
    assert [(f.pdq, f.quality) for f in features] == [("0" * 64, 0)] * 3


# --- bad input -------------------------------------------------------------------------------


def _error(source: object, **kwargs: object) -> MediaError:
    with pytest.raises(MediaError) as caught:
        hash_video(source, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_empty_file_and_empty_bytes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    error = _error(empty)
    assert error.code == "empty_file" and str(empty) in error.message
    assert _error(b"", name="upload.mp4").code == "empty_file"


def test_missing_file_and_directory_are_unreadable(tmp_path: Path) -> None:
    missing = _error(tmp_path / "nope.mp4")
    assert missing.code == "unreadable" and "nope.mp4" in missing.message
    assert missing.path == str(tmp_path / "nope.mp4")
    assert _error(tmp_path).code == "unreadable"


def test_garbage_named_mp4_is_not_media(tmp_path: Path) -> None:
    path = tmp_path / "holiday.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, np.uint8).tobytes())
    error = _error(path)
    assert error.code == "not_media" and "holiday.mp4" in error.message


def test_text_is_not_media() -> None:
    assert _error(b"just some text\n" * 40, name="notes.mp4").code == "not_media"


def test_playlists_are_not_followed(tmp_path: Path) -> None:
    # An HLS playlist would make FFmpeg read the files it names.
    target = tmp_path / "clip.mp4"
    target.write_bytes(make_video("mp4", frames=3))
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n"
    (tmp_path / "list.m3u8").write_text(playlist)
    assert _error(tmp_path / "list.m3u8").code == "not_media"


def test_formats_outside_the_video_whitelist_are_refused() -> None:
    # FFmpeg identifies a WAV file, but Safelight does not hand audio demuxers to the decoder.
    wav = b"RIFF" + (36 + 800).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    wav += bytes.fromhex("01000100401f0000401f000001000800") + b"data" + (800).to_bytes(4, "little")
    error = _error(wav + bytes(800), name="tone.mp4")
    assert error.code == "not_media" and "whitelist" in error.message


def test_audio_only_file_is_not_media() -> None:
    error = _error(make_audio_only(), name="voice.m4a")
    assert error.code == "not_media" and "no video stream" in error.message
    assert "audio" in error.message


def test_video_stream_without_frames_is_corrupt() -> None:
    error = _error(make_zero_frame_avi(), name="zero.avi")
    assert error.code == "corrupt_video" and "no decodable frames" in error.message


def test_declared_huge_resolution_is_refused_before_decoding() -> None:
    error = _error(make_declared_huge(15000, 15000), name="huge.mkv")
    assert error.code == "decompression_bomb"
    assert "15000x15000" in error.message and "huge.mkv" in error.message


def test_pixel_limit_applies_to_the_stream_and_the_frames(videos: dict[str, bytes]) -> None:
    assert _error(videos["mp4"], max_pixels=WIDTH * HEIGHT - 1).code == "decompression_bomb"
    assert len(hash_video(videos["mp4"], max_pixels=WIDTH * HEIGHT)) == 3


def test_frame_limit_stops_with_a_partial_result(videos: dict[str, bytes]) -> None:
    result = hash_video_detailed(videos["mkv"], 0, max_frames=7)
    assert result.frames_decoded == 7 and len(result.features) == 7
    assert result.problem is not None and result.problem.code == "decompression_bomb"
    assert _error(videos["mkv"], max_frames=7).code == "decompression_bomb"


def test_mp4_cut_in_half_is_truncated_with_nothing_to_hash(videos: dict[str, bytes]) -> None:
    data = videos["mp4"]
    error = _error(data[: len(data) // 2], name="partial.mp4")
    assert error.code == "truncated"
    assert "partial.mp4" in error.message and "mdat" in error.message


@pytest.mark.parametrize("kind", ["mkv", "webm", "avi", "mjpeg.avi"])
def test_cut_video_hashes_its_decodable_prefix_and_says_so(
    videos: dict[str, bytes], kind: str
) -> None:
    data = videos[kind]
    cut = data[: len(data) * 3 // 4]
    result = hash_video_detailed(cut, 0, name=f"partial.{kind}")
    assert result.problem is not None and result.problem.code == "truncated"
    assert "partial." in result.problem.message
    assert 0 < result.frames_decoded < FRAMES
    full = hash_video(data, 0)
    # The prefix is the same frames, numbered the same; all but the last decode the same.
    assert [f.frame for f in result.features] == list(range(result.frames_decoded))
    assert result.features[:-1] == full[: result.frames_decoded - 1]
    error = _error(cut, seconds_per_hash=0, name=f"partial.{kind}")
    assert error.code == "truncated"
    assert hash_video(cut, 0, allow_partial=True) == result.features


def test_damaged_index_is_corrupt_video(videos: dict[str, bytes]) -> None:
    data = bytearray(videos["mp4"])
    moov = data.rindex(b"moov")
    for name in (b"stsd", b"stsz", b"stco"):
        at = data.index(name, moov)
        data[at + 4 : at + 20] = b"\xff" * 16  # sizes and counts become nonsense
    error = _error(bytes(data), name="damaged.mp4")
    assert error.code == "corrupt_video" and "damaged.mp4" in error.message


def test_a_broken_frame_is_skipped_and_the_result_is_partial(videos: dict[str, bytes]) -> None:
    data = bytearray(videos["mjpeg.avi"])
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]
    assert len(starts) == FRAMES
    data[starts[12] : starts[12] + 600] = bytes(600)  # frame 12 loses its JPEG markers
    result = hash_video_detailed(bytes(data), 0, name="broken.avi")
    assert result.problem is not None and result.problem.code == "corrupt_video"
    assert "broken.avi" in result.problem.message and "after frame 12" in result.problem.message
    # The frames before and after the damage are all hashed (the later ones numbered early).
    full = hash_video(videos["mjpeg.avi"], 0)
    assert result.frames_decoded == FRAMES - 1
    assert result.features[:12] == full[:12]
    assert [f.pdq for f in result.features[12:]] == [f.pdq for f in full[13:]]
    assert _error(bytes(data), seconds_per_hash=0).code == "corrupt_video"


def test_unknown_codec_is_undecodable(videos: dict[str, bytes]) -> None:
    data = videos["mkv"].replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/XYZ")
    error = _error(data, name="odd.mkv")
    assert error.code == "undecodable" and "odd.mkv" in error.message


def test_too_many_broken_packets_end_decoding(
    videos: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from safelight.signals import video

    monkeypatch.setattr(video, "VIDEO_MAX_DECODE_ERRORS", 0)
    data = bytearray(videos["mjpeg.avi"])
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]
    data[starts[5] : starts[5] + 600] = bytes(600)
    result = hash_video_detailed(bytes(data), 0)
    assert result.frames_decoded == 5 and result.problem is not None
    assert result.problem.code == "corrupt_video"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_frame_that_cannot_be_converted_is_undecodable(
    videos: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    from safelight.signals import video

    def refuse(pixels: object, size: object) -> object:
        def convert(frame: object) -> object:
            raise ValueError("Cannot convert a hardware frame to numpy directly.")

        return convert

    monkeypatch.setattr(video, "_frame_hasher", refuse)
    error = _error(videos["mp4"], seconds_per_hash=0, workers=workers, name="hw.mp4")
    assert error.code == "undecodable" and "hw.mp4: frame 0" in error.message
