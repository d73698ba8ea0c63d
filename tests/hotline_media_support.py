"""Helpers for the capture and wellness tests: benign generated captures, an item to attach
them to, an app with captures enabled, a session, and a clock the tests move by hand."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select, update

from safelight.hotline.reports import ReportStore, Submission
from safelight.service.routes.hotline_media import captures_of, wellness_of
from safelight.service.sessions import CSRF_HEADER
from safelight.signals.synthetic import photo_like
from safelight.store import Database
from safelight.store.hotline_tables import hotline_items
from tests.service_support import PASSWORD, make_app

KEY = Fernet.generate_key().decode()
MEDIA = {"hotline_media_enabled": True, "hotline_media_key": KEY}


class Clock:
    """A clock that moves only when told (``advance``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def screenshot_png(seed: int = 1, size: tuple[int, int] = (800, 600)) -> bytes:
    """A benign generated picture (coloured shapes on noise), as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(photo_like(seed, *size)).save(buffer, "PNG")
    return buffer.getvalue()


def image_bytes(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def new_item(db: Database, url: str = "example.com/page", **values: Any) -> int:
    ReportStore(db).submit(Submission(urls=[url]))
    with db.begin() as conn:
        item_id: int = conn.execute(
            select(func.max(hotline_items.c.id)).where(hotline_items.c.host == "example.com")
        ).scalar_one()
        if values:
            conn.execute(
                update(hotline_items).where(hotline_items.c.id == item_id).values(**values)
            )
    return item_id


def media_app(db: Database, clock: Clock | None = None, **overrides: Any) -> FastAPI:
    app = make_app(db, **{**MEDIA, **overrides})
    if clock is not None:
        ctx = app.state.service
        captures_of(ctx).clock = clock
        wellness_of(ctx).clock = clock
    return app


def sign_in(client: TestClient, user: str) -> dict[str, str]:
    """Sign ``user`` in on ``client``; the CSRF header its unsafe requests need."""
    response = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {CSRF_HEADER: response.json()["csrf_token"]}


def upload(
    client: TestClient,
    item_id: int,
    data: bytes,
    headers: dict[str, str],
    name: str = "capture.png",
    note: str | None = None,
) -> Any:
    fields = {"note": note} if note is not None else None
    return client.post(
        f"/api/v1/hotline/items/{item_id}/captures",
        files={"file": (name, data, "application/octet-stream")},
        data=fields,
        headers=headers,
    )


def high_frequency_energy(grey: np.ndarray) -> float:
    """Mean squared difference of neighbouring pixels: what edges and detail are made of."""
    values = grey.astype(np.float64)
    return float(np.mean(np.diff(values, axis=0) ** 2) + np.mean(np.diff(values, axis=1) ** 2))


KNOWN_LIST = "HOTLINE_CONFIRMED"
KNOWN_PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
ILLEGAL = {
    "illegality": "baseline",
    "age_group": "pre_pubescent",
    "gender": "female",
    "site_type": "image_host",
    "commercial": False,
}


def make_known(db: Database, client: TestClient, csrf: dict[str, str], item: int) -> None:
    """Make ``item`` known material the way the workspace does: another item of the same
    picture is classified (four eyes off in the app) and its hash banked into a list, then
    ``item``'s hash matches that entry and pre-classifies it."""
    from safelight.lists.store import HashListStore

    HashListStore(db).create(KNOWN_LIST)
    assessed = new_item(db, f"example.com/assessed-before-{item}")
    api = f"/api/v1/hotline/items/{assessed}"
    for path, body in (
        ("classification", ILLEGAL),
        ("hashes", {"hashes": [f"pdq {KNOWN_PDQ}"]}),
        ("bank", {"list": KNOWN_LIST}),
    ):
        done = client.post(f"{api}/{path}", json=body, headers=csrf)
        assert done.status_code in (200, 201), done.text
    matched = client.post(
        f"/api/v1/hotline/items/{item}/hashes", json={"hashes": [f"pdq {KNOWN_PDQ}"]}, headers=csrf
    )
    assert matched.status_code == 201 and matched.json()["needs_viewing"] is False, matched.text
