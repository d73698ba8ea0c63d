"""Captures: opt-in, sealed at rest, hashed, refused when hostile, previews blurred and
greyscale, originals only inside a reveal, deleted on time (docs/wellness.md).

Every picture here is generated (coloured shapes on noise, gradients): no real media.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from safelight.errors import (
    InputError,
    MediaError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from safelight.hotline.media import CaptureStore, MediaPolicy
from safelight.hotline.media_render import render_preview
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.service.settings import load_settings
from safelight.service.uploads import read_form_in_memory
from safelight.signals.files import hash_bytes
from safelight.store import Database
from safelight.store.hotline_media_tables import hotline_captures, hotline_viewings
from tests.hotline_media_support import (
    KEY,
    Clock,
    high_frequency_energy,
    image_bytes,
    media_app,
    new_item,
    screenshot_png,
    sign_in,
    upload,
)
from tests.service_support import BASE, add_user, bearer, make_app, make_token
from tests.signals_media import png_declaring
from tests.video_synth import make_video

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def store(db: Database, clock: Clock | None = None, **policy: object) -> CaptureStore:
    values: dict[str, object] = {
        "enabled": True,
        "keys": KEY,
        "max_bytes": 20_000_000,
        "max_seconds": 60.0,
        "retention": timedelta(days=30),
    }
    values.update(policy)
    kwargs = {"clock": clock} if clock else {}
    return CaptureStore(db, MediaPolicy(**values), audit=AuditLog(db), **kwargs)  # type: ignore[arg-type]


# --- at rest -------------------------------------------------------------------------------


def test_captures_are_sealed_at_rest_and_open_to_the_same_bytes(
    db: Database, database_url: tuple[str, str | None]
) -> None:
    item = new_item(db)
    original = screenshot_png(3)
    captures = store(db)
    capture = captures.add(item, original, by="user:alice", note="front page")
    with db.connect() as conn:
        row = conn.execute(select(hotline_captures)).one()
    sealed, poster = bytes(row.sealed), bytes(row.poster)
    for stored in (sealed, poster):
        assert PNG_SIGNATURE not in stored
        assert original[1000:1032] not in stored and original[-64:] not in stored
    assert len(sealed) > len(original)  # a token, not a compressed copy
    assert captures.original(capture) == original
    assert captures.poster(capture).startswith(PNG_SIGNATURE)
    url, _ = database_url
    if url.startswith("sqlite:///"):  # and nowhere in the database file on disk
        on_disk = Path(url.removeprefix("sqlite:///")).read_bytes()
        for wal in Path(url.removeprefix("sqlite:///")).parent.glob("*.db-wal"):
            on_disk += wal.read_bytes()
        assert original[1000:1032] not in on_disk and original[5000:5032] not in on_disk


def test_hashes_are_the_projects_signals_and_feed_the_item(db: Database) -> None:
    item = new_item(db)
    data = screenshot_png(4)
    capture = store(db).add(item, data, by="user:alice")
    record = hash_bytes(data, "x")
    assert record.pdq is not None
    assert capture.hash_values() == {
        "sha256": record.digests["sha256"],
        "md5": record.digests["md5"],
        "pdq": record.pdq.hex,
    }
    assert capture.pdq_quality == record.pdq.quality
    assert (capture.width, capture.height, capture.kind, capture.format) == (
        800,
        600,
        "image",
        "png",
    )


def test_a_screen_recording_gets_vpdq_and_a_poster(db: Database) -> None:
    item = new_item(db)
    video = make_video("mp4", frames=30, fps=10, width=96, height=64)
    captures = store(db)
    capture = captures.add(item, video, by="user:alice")
    assert capture.kind == "video" and capture.content_type == "video/mp4"
    assert capture.vpdq is not None and capture.pdq is None
    assert capture.seconds is not None and 2.5 <= capture.seconds <= 3.5
    assert "vpdq" in capture.hash_values()
    poster = Image.open(io.BytesIO(captures.poster(capture)))
    assert poster.size == (96, 64)
    webm = captures.add(item, make_video("webm", frames=10), by="user:alice")
    assert webm.content_type == "video/webm"


def test_without_opt_in_or_key_nothing_is_stored(db: Database) -> None:
    item = new_item(db)
    with pytest.raises(PermissionDeniedError) as refused:
        store(db, enabled=False).add(item, screenshot_png(), by="user:alice")
    assert refused.value.code == "media_disabled"
    with pytest.raises(PermissionDeniedError) as refused:
        store(db, keys=None).add(item, screenshot_png(), by="user:alice")
    assert refused.value.code == "media_key_missing"
    with db.connect() as conn:
        assert conn.execute(select(hotline_captures.c.id)).first() is None


def test_settings_refuse_opt_in_without_a_key_and_never_echo_a_bad_key() -> None:
    with pytest.raises(UsageError, match="hotline_media_key"):
        load_settings(hotline_media_enabled=True)
    with pytest.raises(UsageError) as bad:
        load_settings(hotline_media_key="not-a-key-secret-value")
    assert "not-a-key-secret-value" not in bad.value.message
    with pytest.raises(UsageError, match="time zone"):
        load_settings(wellness_time_zone="Mars/Olympus")
    assert load_settings(hotline_media_enabled=True, hotline_media_key=KEY).hotline_media_enabled


# --- hostile uploads ------------------------------------------------------------------------


def real_bomb() -> bytes:
    """A valid 7000x7000 PNG (49 megapixels, over the 40 Mpx limit) of ~50 KB: all black."""
    return image_bytes(Image.new("L", (7000, 7000)), "PNG")


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (png_declaring(100_000, 100_000), "decompression_bomb", "pixels"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n" * 20, "not_media", "screenshot"),
        (b"just some text, not a picture\n" * 10, "not_media", "screenshot"),
        (image_bytes(Image.new("RGB", (40, 40), "red"), "GIF"), "unsupported_format", "gif"),
        (screenshot_png(5)[:4000], "truncated", "truncated"),
    ],
    ids=["declared-bomb", "pdf", "text", "gif", "truncated"],
)
def test_hostile_uploads_are_refused_with_clear_errors(
    db: Database, data: bytes, code: str, words: str
) -> None:
    item = new_item(db)
    with pytest.raises(MediaError) as refused:
        store(db).add(item, data, by="user:alice")
    assert refused.value.code == code
    assert words in refused.value.message.lower()
    with db.connect() as conn:
        assert conn.execute(select(hotline_captures.c.id)).first() is None


def test_a_real_decompression_bomb_is_refused_before_decoding(db: Database) -> None:
    bomb = real_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(MediaError) as refused:
        store(db).add(new_item(db), bomb, by="user:alice")
    assert refused.value.code == "decompression_bomb"
    assert "7000x7000" in refused.value.message


def test_size_length_and_duplicates(db: Database) -> None:
    item = new_item(db)
    with pytest.raises(InputError) as refused:
        store(db, max_bytes=1000).add(item, screenshot_png(), by="user:alice")
    assert refused.value.code == "too_large" and refused.value.field == "file"
    with pytest.raises(InputError) as refused:
        store(db, max_seconds=1.0).add(item, make_video("mp4", frames=30), by="user:alice")
    assert refused.value.code == "too_long" and "hotline_media_max_seconds" in refused.value.message
    with pytest.raises(InputError, match="empty"):
        store(db).add(item, b"", by="user:alice")
    captures = store(db)
    captures.add(item, screenshot_png(6), by="user:alice")
    with pytest.raises(Exception) as twice:
        captures.add(item, screenshot_png(6), by="user:bob")
    assert getattr(twice.value, "code", None) == "duplicate_capture"


# --- previews ------------------------------------------------------------------------------


def test_previews_are_greyscale_and_blurred_beyond_recognition(db: Database) -> None:
    original = screenshot_png(7, (900, 600))
    captures = store(db)
    capture = captures.add(new_item(db), original, by="user:alice")
    poster = captures.poster(capture)
    preview = Image.open(io.BytesIO(render_preview(poster, blur_percent=8, greyscale=True)))
    assert preview.mode == "L" and max(preview.size) == 320
    rgb = np.asarray(preview.convert("RGB")).astype(int)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    grey = Image.open(io.BytesIO(original)).convert("L")
    same_size = grey.resize(preview.size, Image.Resampling.BOX)
    sharp, blurred = (
        high_frequency_energy(np.asarray(same_size)),
        high_frequency_energy(np.asarray(preview)),
    )
    assert blurred < sharp / 100, (sharp, blurred)  # measured: 1/222 (101 vs 0.45)
    # the weakest blur a viewer may choose still removes almost all detail, even in colour
    weakest = Image.open(io.BytesIO(render_preview(poster, blur_percent=3, greyscale=False)))
    assert weakest.mode == "RGB"
    assert high_frequency_energy(np.asarray(weakest.convert("L"))) < sharp / 40  # measured 1/89
    with pytest.raises(UsageError, match="never shown unblurred"):
        render_preview(poster, blur_percent=0, greyscale=True)


# --- retention -----------------------------------------------------------------------------


def test_retention_deletes_captures_and_keeps_viewing_time(db: Database) -> None:
    clock = Clock()
    captures = store(db, clock, retention=timedelta(days=2))
    item = new_item(db)
    capture = captures.add(item, screenshot_png(8), by="user:alice")
    with db.begin() as conn:
        conn.execute(
            hotline_viewings.insert().values(
                viewer="user:alice",
                capture_id=capture.id,
                item_id=item,
                opened_at=clock.now,
                ends_at=clock.now + timedelta(minutes=5),
            )
        )
    clock.advance(days=1)
    assert captures.purge_expired() == 0 and len(captures.list(item)) == 1
    clock.advance(days=1, seconds=1)
    with pytest.raises(NotFoundError):  # hidden at once, even before the purge ran
        captures.get(item, capture.id)
    assert captures.purge_expired() == 1
    assert captures.list(item) == []
    with db.connect() as conn:
        assert conn.execute(select(hotline_captures.c.id)).first() is None
        kept = conn.execute(select(hotline_viewings.c.capture_id)).one()
    assert kept.capture_id is None
    purge = [e for e in AuditLog(db).entries() if e.action == "hotline.capture.purge"]
    assert purge[0].details["captures"] == [capture.id]
    assert AuditLog(db).verify().ok


# --- over HTTP -----------------------------------------------------------------------------


def test_upload_list_preview_over_http(db: Database) -> None:
    add_user(db, "alice", Role.ANALYST)
    item = new_item(db)
    with TestClient(media_app(db), base_url=BASE) as client:
        csrf = sign_in(client, "alice")
        created = upload(client, item, screenshot_png(9), csrf, note="landing page")
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["note"] == "landing page" and body["created_by"] == "user:alice"
        listed = client.get(f"/api/v1/hotline/items/{item}/captures").json()
        assert listed["viewing_needed"] is True
        assert [c["id"] for c in listed["captures"]] == [body["id"]]
        preview = client.get(body["preview_url"])
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        assert preview.headers["cache-control"] == "no-store"
        assert Image.open(io.BytesIO(preview.content)).mode == "L"
        refused = upload(client, item, b"plain text\n" * 5, csrf)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "not_media"
        bomb = upload(client, item, png_declaring(50_000, 50_000), csrf)
        assert bomb.status_code == 422 and bomb.json()["error"]["code"] == "decompression_bomb"
        missing = client.get(f"/api/v1/hotline/items/{item + 99}/captures")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_item"
    actions = [e.action for e in AuditLog(db).entries()]
    assert actions.count("hotline.capture.add") == 1


def test_upload_refused_without_opt_in_and_over_the_size_limit(db: Database) -> None:
    token = make_token(db, "t", Role.ANALYST)
    item = new_item(db)
    with TestClient(make_app(db), base_url=BASE) as client:
        refused = upload(client, item, screenshot_png(), bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "media_disabled"
    with TestClient(media_app(db, hotline_media_max_bytes=5000), base_url=BASE) as client:
        big = upload(client, item, screenshot_png(), bearer(token))
        assert big.status_code == 413


def test_auditors_and_investigators_see_no_captures(db: Database) -> None:
    item = new_item(db)
    with TestClient(media_app(db), base_url=BASE) as client:
        for role in (Role.AUDITOR, Role.INVESTIGATOR, Role.API_CLIENT):
            token = make_token(db, f"t-{role.value}", role)
            seen = client.get(f"/api/v1/hotline/items/{item}/captures", headers=bearer(token))
            assert seen.status_code == 403


async def _form_of(body: bytes, boundary: str) -> object:
    from starlette.requests import Request

    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    return await read_form_in_memory(request, 10_000_000)


def test_uploads_are_held_in_memory_never_spooled_to_disk() -> None:
    import asyncio

    data = screenshot_png(10, (1400, 1000))
    assert len(data) > 2 * 1024 * 1024  # past Starlette's default 1 MB spool
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    form = asyncio.run(_form_of(body, boundary))
    upload_file = form["file"]  # type: ignore[index]
    assert upload_file.file._rolled is False  # SpooledTemporaryFile never became a file
    upload_file.file.seek(0)
    assert upload_file.file.read() == data
    asyncio.run(form.close())  # type: ignore[attr-defined]
