"""The refusals an analyst meets most, on the page they land on, in the reader's language:
an item another analyst holds, confirming one's own classification (four eyes), and the
daily viewing limit. Each page words the refusal in German and Japanese and never shows
the library's English message (which stays in the audit trail and the JSON API)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from safelight.service.roles import Role
from safelight.store import Database
from tests.hotline_media_support import Clock, media_app, new_item, screenshot_png, upload
from tests.service_support import BASE, add_user
from tests.test_workspace_shell import csrf_of, sign_in

HELD = {
    "de": "Eintrag {item} wird von jemand anderem bearbeitet. Nur eine Administratorin oder ein "
    "Administrator kann ihn neu zuweisen.",
    "ja": "項目 {item} は他の人が担当しています。担当を変更できるのは管理者だけです。",
}
OWN = {
    "de": "Vier-Augen-Prinzip: Eine andere Person muss diese Klassifizierung bestätigen oder "
    "ihr widersprechen.",
    "ja": "4つの目の原則：別の分析者がこの分類を確認するか異議を出す必要があります。",
}
LIMIT = {
    "de": ("Die Aufnahme bleibt unscharf", "Sie haben Ihr heutiges Sichtungslimit von 1 Minuten"),
    "ja": ("キャプチャはぼかしたままです", "今日の閲覧上限 1 分に達しました。"),
}
ENGLISH = ("is held by", "four eyes: a classification", "viewing limit of", "Something went")
CLASSIFICATION = {
    "illegality": "baseline",
    "age_group": "pubescent",
    "gender": "male",
    "site_type": "forum",
    "commercial": "no",
}


def main_text(html: str) -> str:
    """The page's main content as one line of text (no markup, no style)."""
    main = html.split('id="main"', 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def english_free(html: str) -> None:
    assert not [words for words in ENGLISH if words in html]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clients(db: Database, clock: Clock) -> Iterator[dict[str, TestClient]]:
    """ana and ben, each signed in with a browser session of their own."""
    for name in ("ana", "ben"):
        add_user(db, name, Role.ANALYST)
    app = media_app(db, clock, wellness_daily_limit_minutes=1, wellness_reveal_minutes=1)
    with ExitStack() as stack:
        found = {}
        for name in ("ana", "ben"):
            found[name] = stack.enter_context(TestClient(app, base_url=BASE))
            sign_in(found[name], name)
        yield found


@pytest.mark.parametrize("language", ["de", "ja"])
def test_an_item_held_by_another_analyst(
    db: Database, clients: dict[str, TestClient], language: str
) -> None:
    ana, ben = clients["ana"], clients["ben"]
    item = new_item(db)
    page = f"/workspace/items/{item}?lang={language}"
    ana.post(f"/workspace/items/{item}/claim", data={"csrf_token": csrf_of(ana.get(page).text)})
    token = csrf_of(ben.get(page).text)
    for action in ("claim", "release"):
        landed = ben.post(f"/workspace/items/{item}/{action}", data={"csrf_token": token})
        assert landed.status_code == 200 and landed.url.path == f"/workspace/items/{item}"
        assert f'<html lang="{language}">' in landed.text
        assert HELD[language].format(item=item) in main_text(landed.text)
        english_free(landed.text)


@pytest.mark.parametrize("language", ["de", "ja"])
def test_confirming_ones_own_classification(
    db: Database, clients: dict[str, TestClient], language: str
) -> None:
    ana = clients["ana"]
    item = new_item(db)
    page = ana.get(f"/workspace/items/{item}/classification?lang={language}")
    form = {"csrf_token": csrf_of(page.text), **CLASSIFICATION}
    assert ana.post(f"/workspace/items/{item}/classification", data=form).status_code == 200
    back = {"back": f"/workspace/items/{item}#panel-classification"}
    for action in ("confirm", "disagree"):
        data = {"csrf_token": form["csrf_token"], "version": "1", "reason": "no", **back}
        landed = ana.post(f"/workspace/items/{item}/{action}?lang={language}", data=data)
        assert landed.status_code == 403
        assert OWN[language] in main_text(landed.text)
        english_free(landed.text)


@pytest.mark.parametrize("language", ["de", "ja"])
def test_the_daily_viewing_limit(
    db: Database, clients: dict[str, TestClient], clock: Clock, language: str
) -> None:
    ana = clients["ana"]
    item = new_item(db)
    token = csrf_of(ana.get(f"/workspace/items/{item}").text)
    capture = upload(ana, item, screenshot_png(5), {"X-CSRF-Token": token}).json()["id"]
    reveal = f"/workspace/items/{item}/captures/{capture}/reveal"
    ana.post(reveal, data={"csrf_token": token})
    clock.advance(minutes=2)  # the viewing closed after a minute: today's limit is spent
    landed = ana.post(
        f"{reveal}?lang={language}",
        data={"csrf_token": token, "next": f"/workspace/items/{item}"},
    )
    assert landed.status_code == 403
    heading, reason = LIMIT[language]
    assert f"<h1>{heading}</h1>" in landed.text and reason in main_text(landed.text)
    english_free(landed.text)
