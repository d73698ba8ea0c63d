"""The hotline's public routes through the service: JSON API, form, status, limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.constants import HOTLINE_MAX_BODY_BYTES, HOTLINE_MAX_URLS
from safelight.service.routes.hotline import FORM_COOKIE
from safelight.store import Database
from tests.service_support import BASE, make_app


@pytest.fixture
def client(db: Database) -> Any:
    with TestClient(make_app(db, report_per_minute=10_000), base_url=BASE) as test_client:
        yield test_client


def form_token(client: TestClient, lang: str = "en") -> str:
    page = client.get(f"/report?lang={lang}")
    assert page.status_code == 200
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def shown_reference(html: str) -> str:
    found = re.search(r'id="reference">([0-9A-Z-]+)<', html)
    assert found is not None, html
    return found.group(1)


def test_api_report_and_status(client: TestClient) -> None:
    response = client.post(
        "/api/v1/reports",
        json={"urls": ["example.com/a"], "description": "d", "site_type": "forum", "contact": "c"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"reference", "status", "created_at", "status_url"}
    assert body["status"] == "received" and body["merged"] == 0
    status = client.get(body["status_url"])
    assert status.status_code == 200
    assert status.json()["reference"] == body["reference"]
    assert status.json()["status"] == "received" and status.json()["urls"] == 1
    again = client.post("/api/v1/reports", json={"urls": ["http://EXAMPLE.com/a"]}).json()
    assert again["merged"] == 1 and again["reference"] != body["reference"]


def test_api_refusals_use_the_error_shape(client: TestClient) -> None:
    bad = client.post("/api/v1/reports", json={"urls": ["javascript:alert(1)", "a.example"]})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation"
    assert error["details"]["problems"][0]["location"] == "urls[0]"
    for payload in ({}, {"urls": []}, {"urls": "x"}, {"urls": ["a.example"], "upload": "x"}):
        response = client.post("/api/v1/reports", json=payload)
        assert response.status_code == 422, payload
        assert response.json()["error"]["code"] == "invalid_request"
    too_many = {"urls": [f"example.com/{n}" for n in range(HOTLINE_MAX_URLS + 1)]}
    assert client.post("/api/v1/reports", json=too_many).status_code == 422
    assert client.post("/api/v1/reports", content=b"not json").status_code == 422
    unknown = client.get("/api/v1/reports/ABCDE-FGHJK/status")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_reference"


def test_bodies_over_the_limit_are_refused_unread(client: TestClient) -> None:
    big = b'{"urls": ["a.example"], "description": "' + b"x" * HOTLINE_MAX_BODY_BYTES + b'"}'
    response = client.post(
        "/api/v1/reports", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_large"

    def chunks() -> Any:  # no Content-Length: the stream is cut at the bound
        yield big

    response = client.post("/api/v1/reports", content=chunks())
    assert response.json()["error"]["code"] == "too_large"
    token = form_token(client)
    page = client.post("/report", data={"form_token": token, "urls": "x" * HOTLINE_MAX_BODY_BYTES})
    assert page.status_code == 413 and "The report is too large." in page.text


def test_reports_are_rate_limited_per_address(db: Database) -> None:
    with TestClient(make_app(db, report_per_minute=2), base_url=BASE) as client:
        for _ in range(2):
            assert client.post("/api/v1/reports", json={"urls": ["a.example"]}).status_code == 201
        limited = client.post("/api/v1/reports", json={"urls": ["a.example"]})
        assert limited.status_code == 429 and "Retry-After" in limited.headers
        token = form_token(client, "de")
        page = client.post("/report", data={"form_token": token, "urls": "a.example", "lang": "de"})
        assert page.status_code == 429
        assert "Zu viele Meldungen aus Ihrem Netz" in page.text
        assert 'value="a.example"' in page.text or ">a.example<" in page.text  # kept


def test_the_form_in_spanish_end_to_end(client: TestClient) -> None:
    page = client.get("/report", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in page.text and "Enviar denuncia" in page.text
    assert "No suba, descargue, guarde ni envíe" in page.text  # never an upload
    assert "Qué pasa después" in page.text and "hasta 20" in page.text
    assert 'enctype="multipart' not in page.text and 'type="file"' not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = client.post(
        "/report",
        data={
            "form_token": token,
            "lang": "es",
            "urls": "ejemplo.es/pagina\n\nhttps://ejemplo.es/otra",
            "description": "",
            "site_type": "image_host",
            "contact": "",
        },
    )
    assert sent.status_code == 200
    assert "Gracias. Hemos recibido su denuncia." in sent.text
    reference = shown_reference(sent.text)
    # the language switcher keeps the reference in view
    assert f'href="/report/status?reference={reference}&amp;lang=ko"' in sent.text
    status = client.get(f"/report/status?reference={reference.lower()}&lang=es")
    assert status.status_code == 200 and "Recibida" in status.text
    assert reference in status.text and '<html lang="es">' in status.text
    api = client.get(f"/api/v1/reports/{reference}/status").json()
    assert api["urls"] == 2 and api["status"] == "received"


def test_form_problems_are_shown_in_the_reporters_language(client: TestClient) -> None:
    token = form_token(client, "fr")
    page = client.post(
        "/report?lang=fr",
        data={"form_token": token, "urls": "ok.example\nftp://x.example", "site_type": "zzz"},
    )
    assert page.status_code == 422
    assert "Adresse 2 : Seules les adresses commençant par http://" in page.text
    assert "Type de site (facultatif) : Choisissez un type de site" in page.text
    assert 'role="alert"' in page.text and "ftp://x.example" in page.text  # input kept


def test_form_without_the_matching_token_is_refused(client: TestClient) -> None:
    form_token(client)
    for token in ("", "forged"):
        page = client.post("/report", data={"form_token": token, "urls": "a.example"})
        assert page.status_code == 400 and "The form has expired" in page.text
    token = client.cookies.get(FORM_COOKIE)
    assert token
    cross = client.post(
        "/report",
        data={"form_token": token, "urls": "a.example"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 400
    token = client.cookies.get(FORM_COOKIE)
    opaque = client.post(
        "/report", data={"form_token": token, "urls": "a.example"}, headers={"Origin": "null"}
    )
    assert opaque.status_code == 400
    token = client.cookies.get(FORM_COOKIE)  # each refusal handed out a fresh token
    same = client.post(
        "/report", data={"form_token": token, "urls": "a.example"}, headers={"Origin": BASE}
    )
    assert same.status_code == 200
    assert FORM_COOKIE not in same.cookies or not same.cookies.get(FORM_COOKIE)


def test_status_page_states(client: TestClient) -> None:
    empty = client.get("/report/status?lang=ja")
    assert empty.status_code == 200 and "受付番号" in empty.text and "状況を確認" in empty.text
    unknown = client.get("/report/status?reference=nothing&lang=ko")
    assert unknown.status_code == 404 and "이 접수 번호의 신고가 없습니다" in unknown.text
    reference = client.post("/api/v1/reports", json={"urls": ["a.example"]}).json()["reference"]
    zh = client.get(f"/report/status?reference={reference}", headers={"Accept-Language": "zh-CN"})
    assert "已收到" in zh.text and "年" in zh.text  # a Chinese date


@pytest.mark.parametrize("lang", ["en", "de", "ja", "it", "pt", "es", "fr", "ko", "zh"])
def test_every_language_has_a_switcher_and_its_lang_attribute(
    client: TestClient, lang: str
) -> None:
    page = client.get(f"/report?lang={lang}").text
    assert f'<html lang="{lang}">' in page
    for other in ("en", "de", "ja", "it", "pt", "es", "fr", "ko", "zh"):
        assert f'href="/report?lang={other}" lang="{other}"' in page
    assert f'lang="{lang}" hreflang="{lang}" aria-current="true"' in page
