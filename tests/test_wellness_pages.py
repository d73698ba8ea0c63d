"""The wellness pages without a browser: the header's viewing time and the banners on every
workspace page, the settings form, the admin's limit form, one capture's page, the media
panel, and the attach / reveal / blur-again forms (each with its CSRF field)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import select

from safelight.hotline.pages import render
from safelight.hotline.panels import PanelContext, load_panels, registered_panels
from safelight.service.audit import AuditLog
from safelight.service.roles import Principal, Role
from safelight.service.sessions import CSRF_HEADER
from safelight.store import Database
from safelight.store.hotline_tables import hotline_items
from tests.hotline_media_support import (
    Clock,
    make_known,
    media_app,
    new_item,
    screenshot_png,
    sign_in,
    upload,
)
from tests.service_support import BASE, add_user, make_app


@contextmanager
def signed_in(
    db: Database,
    clock: Clock | None = None,
    user: str = "alice",
    role: Role = Role.ANALYST,
    **overrides: object,
) -> Iterator[tuple[TestClient, str]]:
    add_user(db, user, role)
    with TestClient(media_app(db, clock, **overrides), base_url=BASE) as client:
        csrf = sign_in(client, user)
        yield client, next(iter(csrf.values()))


def attached(client: TestClient, token: str, item: int, seed: int = 31) -> int:
    created = upload(client, item, screenshot_png(seed), {"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def text_of(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_page_shows_todays_viewing_time_and_the_break_banner(db: Database) -> None:
    clock = Clock()
    with signed_in(db, clock, wellness_break_after_minutes=10, wellness_reveal_minutes=5) as (
        client,
        token,
    ):
        item = new_item(db)
        capture = attached(client, token, item)
        home = text_of(client.get("/workspace").text)
        assert "Viewing today: 0 of 240 min" in home
        for _ in range(2):
            client.post(
                f"/workspace/items/{item}/captures/{capture}/reveal", data={"csrf_token": token}
            )
            clock.advance(minutes=5)
        home = text_of(client.get("/workspace?lang=de").text)
        assert "Sichtung heute: 10 von 240 Min." in home
        assert "ohne Pause Material gesichtet" in home
        clock.advance(minutes=10)
        assert "without a break" not in text_of(client.get("/workspace").text)


def test_no_viewing_time_for_people_who_do_not_view(db: Database) -> None:
    add_user(db, "audrey", Role.AUDITOR)
    with TestClient(make_app(db), base_url=BASE) as client:
        sign_in(client, "audrey")
        assert "Viewing today" not in client.get("/workspace").text


def test_the_settings_form_saves_refuses_and_resets(db: Database) -> None:
    with signed_in(db) as (client, token):
        page = client.get("/workspace/wellness")
        assert page.status_code == 200 and 'id="viewed-today"' in page.text
        fields = {
            "csrf_token": token,
            "blur_percent": "12",
            "greyscale": "off",
            "daily_limit_minutes": "120",
            "break_after_minutes": "45",
            "break_minutes": "15",
            "time_zone": "Europe/Berlin",
        }
        saved = client.post("/workspace/wellness", data=fields, follow_redirects=False)
        assert saved.status_code == 303 and saved.headers["location"].endswith("saved=1")
        status = client.get("/api/v1/me/wellness").json()
        assert status["settings"]["own"] == {
            "blur_percent": 12,
            "greyscale": False,
            "daily_limit_minutes": 120,
            "break_after_minutes": 45,
            "break_minutes": 15,
            "time_zone": "Europe/Berlin",
        }
        assert "Your settings were saved." in client.get(saved.headers["location"]).text
        looser = client.post(
            "/workspace/wellness?lang=fr", data={**fields, "daily_limit_minutes": "300"}
        )
        assert looser.status_code == 400
        assert "Votre limite quotidienne doit être un nombre entier de minutes entre 1 et 240." in (
            looser.text
        )
        assert 'value="300"' in looser.text  # what was typed is kept
        both = client.post(
            "/workspace/wellness?lang=en",
            data={**fields, "break_minutes": "5", "time_zone": "Mars/Base"},
        )
        assert "A break must last at least 10 minutes" in both.text
        assert "Unknown time zone." in both.text  # every problem at once, not just the first
        assert both.text.count('aria-invalid="true"') == 2
        for bad in ({"break_minutes": "5"}, {"blur_percent": "two"}, {"time_zone": "Mars/Base"}):
            assert client.post("/workspace/wellness", data={**fields, **bad}).status_code == 400
        reset = {name: "" for name in fields} | {"csrf_token": token}
        client.post("/workspace/wellness", data=reset)
        assert client.get("/api/v1/me/wellness").json()["settings"]["own"] == {}
        forged = client.post("/workspace/wellness", data={**fields, "csrf_token": "forged"})
        assert forged.status_code == 403
    entries = [e.action for e in AuditLog(db).entries()]
    assert entries.count("wellness.settings") == 2


def test_admins_set_a_users_limit_analysts_cannot(db: Database) -> None:
    add_user(db, "bob", Role.ANALYST)
    with signed_in(db, user="root", role=Role.ADMIN) as (client, token):
        page = client.get("/workspace/wellness").text
        assert 'action="/workspace/wellness/limits"' in page
        done = client.post(
            "/workspace/wellness/limits",
            follow_redirects=False,
            data={"csrf_token": token, "username": "bob", "admin_limit_minutes": "300"},
        )
        assert done.status_code == 303
        assert "The daily limit of bob was saved." in client.get(done.headers["location"]).text
        unknown = client.post(
            "/workspace/wellness/limits",
            data={"csrf_token": token, "username": "nobody", "admin_limit_minutes": "30"},
        )
        assert unknown.status_code == 400 and "There is no user named nobody." in unknown.text
    with TestClient(media_app(db), base_url=BASE) as other:
        bob = next(iter(sign_in(other, "bob").values()))
        assert "/workspace/wellness/limits" not in other.get("/workspace/wellness").text
        assert other.get("/api/v1/me/wellness").json()["limit_minutes"] == 300
        refused = other.post(
            "/workspace/wellness/limits",
            data={"csrf_token": bob, "username": "bob", "admin_limit_minutes": "900"},
        )
        assert refused.status_code == 403


def test_reveal_and_blur_again_on_the_capture_page(db: Database) -> None:
    with signed_in(db) as (client, token):
        item = new_item(db)
        capture = attached(client, token, item)
        page_url = f"/workspace/items/{item}/captures/{capture}"
        api = f"/api/v1/hotline/items/{item}/captures/{capture}"
        page = client.get(page_url).text
        assert f'src="{api}/preview"' in page and f"{api}/original" not in page
        revealed = client.post(
            page_url + "/reveal", data={"csrf_token": token}, follow_redirects=False
        )
        assert revealed.status_code == 303
        assert revealed.headers["location"] == f"{page_url}#capture-{capture}"
        page = client.get(page_url).text
        assert f'src="{api}/original"' in page and "Blur again" in page
        assert client.get(api + "/original").status_code == 200
        client.post(page_url + "/blur", data={"csrf_token": token})
        assert f'src="{api}/preview"' in client.get(page_url).text
        assert client.get(api + "/original").status_code == 403
        forged = client.post(page_url + "/reveal", data={"csrf_token": "nope"})
        assert forged.status_code == 403
    actions = [e.action for e in AuditLog(db).entries() if e.action.startswith("hotline.capture")]
    assert actions == ["hotline.capture.add", "hotline.capture.reveal", "hotline.capture.blur"]


def test_a_refused_reveal_says_why_in_the_readers_language(db: Database) -> None:
    clock = Clock()
    with signed_in(db, clock, wellness_daily_limit_minutes=5) as (client, token):
        item = new_item(db)
        capture = attached(client, token, item)
        url = f"/workspace/items/{item}/captures/{capture}/reveal"
        client.post(url, data={"csrf_token": token})
        clock.advance(minutes=6)
        refused = client.post(url + "?lang=es", data={"csrf_token": token})
        assert refused.status_code == 403
        assert "Ha alcanzado su límite de visionado de hoy, 5 minutos." in refused.text
        assert "no-store" in refused.headers["cache-control"]
        page = client.get(f"/workspace/items/{item}/captures/{capture}?lang=en").text
        assert "Material stays blurred until midnight" in page
        assert ">Reveal<" not in page


def test_the_attach_form_keeps_the_file_in_memory_and_explains_refusals(db: Database) -> None:
    with signed_in(db) as (client, token):
        item = new_item(db)
        ok = client.post(
            f"/workspace/items/{item}/captures",
            follow_redirects=False,
            data={"csrf_token": token, "note": "landing page"},
            files={"file": ("shot.png", screenshot_png(32), "image/png")},
        )
        assert ok.status_code == 303 and ok.headers["location"].startswith(
            f"/workspace/items/{item}#"
        )
        bad = client.post(
            f"/workspace/items/{item}/captures?lang=ja",
            data={"csrf_token": token},
            files={"file": ("shot.png", b"%PDF-1.7\n" * 40, "image/png")},
        )
        assert bad.status_code == 422
        assert "キャプチャは PNG・JPEG・WebP のスクリーンショット" in bad.text
        empty = client.post(
            f"/workspace/items/{item}/captures?lang=en",
            data={"csrf_token": token},
            files={"file": ("", b"", "application/octet-stream")},
        )
        assert empty.status_code == 422 and "Choose a file to attach." in empty.text
        forged = client.post(
            f"/workspace/items/{item}/captures",
            data={"csrf_token": "x"},
            files={"file": ("a.png", screenshot_png(33), "image/png")},
        )
        assert forged.status_code == 403
    with TestClient(make_app(db), base_url=BASE) as off:  # the organisation has not opted in
        token = next(iter(sign_in(off, "alice").values()))
        refused = off.post(
            f"/workspace/items/{item}/captures",
            data={"csrf_token": token},
            files={"file": ("a.png", screenshot_png(34), "image/png")},
        )
        assert refused.status_code == 403
        assert "has not turned on storing captures" in refused.text


def _panel_html(db: Database, client: TestClient, item_id: int, who: str) -> str:
    app = client.app
    ctx = app.state.service  # type: ignore[attr-defined]
    principal = Principal("user", who, frozenset({Role.ANALYST}), None, session_csrf="tok")
    with db.connect() as conn:
        row = conn.execute(select(hotline_items).where(hotline_items.c.id == item_id)).one()
        context = PanelContext(ctx, principal, dict(row._mapping), "en", conn, "tok")
        panels = {panel.key: panel for panel in load_panels(context)}
    media = panels["media"]
    return render(media.template, "en", f"/workspace/items/{item_id}", **media.values)


def test_the_media_panel_shows_blurred_thumbnails_and_forms(db: Database) -> None:
    assert [p.order for p in registered_panels() if p.key == "media"] == [40]
    with signed_in(db) as (client, token):
        item = new_item(db)
        capture = attached(client, token, item)
        html = _panel_html(db, client, item, "alice")
        assert f'src="/api/v1/hotline/items/{item}/captures/{capture}/preview"' in html
        assert f'action="/workspace/items/{item}/captures/{capture}/reveal"' in html
        assert 'enctype="multipart/form-data"' in html and 'value="tok"' in html
        client.post(
            f"/workspace/items/{item}/captures/{capture}/reveal", data={"csrf_token": token}
        )
        html = _panel_html(db, client, item, "alice")
        assert "/original" in html and "Blur again" in html
        assert "/original" not in _panel_html(db, client, item, "bob")  # alice's reveal only


def test_the_media_panel_says_known_material_needs_no_viewing(db: Database) -> None:
    with signed_in(db, four_eyes=False) as (client, token):
        csrf = {CSRF_HEADER: token}
        known, unknown = new_item(db, "example.com/known"), new_item(db, "example.com/unknown")
        capture = attached(client, token, known)
        other = attached(client, token, unknown, seed=32)
        make_known(db, client, csrf, known)  # pre-classified from a list entry
        html = _panel_html(db, client, known, "alice")
        assert "No viewing needed" in html
        assert "/preview" not in html and "/reveal" not in html
        page = client.get(f"/workspace/items/{known}/captures/{capture}").text
        assert "No viewing needed" in page and "/preview" not in page and "/reveal" not in page
        item_page = client.get(f"/workspace/items/{known}?lang=en").text
        assert "No viewing needed" in item_page and "/reveal" not in item_page
        html = _panel_html(db, client, unknown, "alice")  # no list knows it: viewed as ever
        assert "No viewing needed" not in html
        assert f'action="/workspace/items/{unknown}/captures/{other}/reveal"' in html


def test_a_revealed_video_is_muted_without_autoplay(db: Database) -> None:
    from tests.video_synth import make_video

    with signed_in(db) as (client, token):
        item = new_item(db)
        created = upload(
            client, item, make_video("mp4", frames=20), {"X-CSRF-Token": token}, name="rec.mp4"
        )
        capture = created.json()["id"]
        url = f"/workspace/items/{item}/captures/{capture}"
        client.post(url + "/reveal", data={"csrf_token": token})
        page = client.get(url).text
        video = re.search(r"<video[^>]*>", page)
        assert video is not None
        assert " muted" in video.group(0) and "autoplay" not in video.group(0)
        assert " controls" in video.group(0)
        original = client.get(f"/api/v1/hotline/items/{item}/captures/{capture}/original")
        assert original.headers["content-type"] == "video/mp4"


def test_the_item_page_carries_the_media_panel_for_viewers_only(db: Database) -> None:
    add_user(db, "audrey", Role.AUDITOR)
    with signed_in(db) as (client, token):
        item = new_item(db)
        capture = attached(client, token, item)
        page = client.get(f"/workspace/items/{item}?lang=en").text
        assert 'id="panel-media"' in page
        assert f"/api/v1/hotline/items/{item}/captures/{capture}/preview" in page
    with TestClient(media_app(db), base_url=BASE) as other:
        sign_in(other, "audrey")
        page = other.get(f"/workspace/items/{item}").text
        assert 'id="panel-resolution"' in page and 'id="panel-media"' not in page
