"""The app: error shape, request ids, JSON logs, metrics, readiness, settings, the store check."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import text

from safelight import errors
from safelight.service.access import public
from safelight.service.context import ServiceContext
from safelight.service.http_errors import register_error_format
from safelight.service.logs import REQUEST_ID, JsonFormatter, log_config, request_id_from
from safelight.service.roles import Role
from safelight.service.settings import Settings, env_name, load_settings
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token

DOCS = Path(__file__).resolve().parents[1] / "docs" / "service.md"
SECRET = "hunter2hunter2"


def with_error_routes(app: FastAPI, ctx: ServiceContext) -> None:
    """Routes that raise, for the error mapping (declared public, as every route declares)."""
    problems = [("a.txt:3", "not hex")]
    raising: dict[str, Exception] = {
        "usage": errors.UsageError("bad option", field="max_pixels"),
        "input": errors.InputError("bad data"),
        "validation": errors.ValidationError("2 invalid lines", problems),
        "not_found": errors.NotFoundError("list 'X' does not exist", field="name"),
        "conflict": errors.ConflictError("list 'X' already exists"),
        "forbidden": errors.PermissionDeniedError("no"),
        "store": errors.StoreError(f"cannot use postgresql://u:{SECRET}@db/x"),
        "index": errors.IndexCorruptError("segment 3 failed its checksum"),
        "base": errors.SafelightError("something"),
        "bug": RuntimeError(f"postgresql://u:{SECRET}@db/x exploded"),
    }

    @app.get("/test/raise/{kind}")
    def raise_it(kind: str, _: Annotated[None, public()]) -> None:
        raise raising[kind]

    @app.get("/test/typed")
    def typed(_: Annotated[None, public()], limit: Annotated[int, Query(ge=1)]) -> int:
        return limit

    @app.get("/hma/raise")
    def hma(_: Annotated[None, public()]) -> None:
        raise errors.NotFoundError("no such bank")

    register_error_format(
        app, "/hma/", lambda status, code, message, _: JSONResponse({"msg": message}, status)
    )
    ctx.add_readiness_check("index", lambda: (ctx.extensions.get("ready", False), {"gen": 7}))


@pytest.fixture
def client(db: Database) -> Any:
    with TestClient(
        make_app(db, extend=with_error_routes), base_url=BASE, raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("usage", 400, "usage"),
        ("input", 422, "invalid_input"),
        ("validation", 422, "validation"),
        ("not_found", 404, "not_found"),
        ("conflict", 409, "conflict"),
        ("forbidden", 403, "forbidden"),
        ("store", 503, "store"),
        ("index", 500, "index_corrupt"),
        ("base", 500, "error"),
        ("bug", 500, "internal"),
    ],
)
def test_the_exception_tree_maps_to_one_error_shape(
    client: TestClient, kind: str, status: int, code: str
) -> None:
    response = client.get(f"/test/raise/{kind}")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert SECRET not in response.text  # credentials never reach a response


def test_error_details(client: TestClient) -> None:
    usage = client.get("/test/raise/usage").json()["error"]
    assert usage["details"] == {"field": "max_pixels"}
    problems = client.get("/test/raise/validation").json()["error"]["details"]["problems"]
    assert problems == [{"location": "a.txt:3", "reason": "not hex"}]
    bug = client.get("/test/raise/bug", headers={"X-Request-ID": "abc-123"})
    assert bug.json()["error"]["details"] == {"request_id": "abc-123"}
    assert "exploded" not in bug.text  # an internal error's text stays in the log


def test_request_validation_lists_the_fields(client: TestClient) -> None:
    body = client.get("/test/typed", params={"limit": "0"}).json()["error"]
    assert body["code"] == "invalid_request"
    assert body["details"]["fields"][0]["field"] == "limit"
    assert body["details"]["fields"][0]["location"] == "query"
    missing = client.get("/test/typed").json()["error"]
    assert "limit" in missing["message"]


def test_unknown_paths_and_methods_use_the_shape(client: TestClient) -> None:
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_another_prefix_can_have_its_own_shape(client: TestClient) -> None:
    response = client.get("/hma/raise")
    assert response.status_code == 404 and response.json() == {"msg": "no such bank"}


def test_request_ids_are_kept_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "req.42"}).headers["X-Request-ID"]
        == "req.42"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id;" * 30}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert request_id_from(None) != request_id_from(None)


def test_access_log_is_json_with_the_request_id(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token(db, "bot", Role.AUDITOR)
    with caplog.at_level(logging.INFO, logger="safelight.service"):
        client.get("/api/v1/lists", headers={"X-Request-ID": "trace-1"})
        client.get("/api/v1/lists", headers=bearer(token))
    records = [r for r in caplog.records if r.name == "safelight.service.access"]
    first, second = (json.loads(JsonFormatter().format(r)) for r in records)
    assert first["status"] == 401 and first["route"] == "/api/v1/lists"
    assert first["method"] == "GET" and first["duration_ms"] >= 0
    assert first["principal"] is None and second["principal"] == "token:bot"
    assert first["request_id"] == "trace-1" and len(second["request_id"]) == 32
    assert second["status"] == 200


def test_json_formatter_carries_the_request_id_and_redacts() -> None:
    token = REQUEST_ID.set("rid-9")
    try:
        record = logging.LogRecord(
            "x", logging.ERROR, "f", 1, "db %s", ("sqlite://u:pw@h/db",), None
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "rid-9" and line["level"] == "error"
    assert "pw" not in line["message"] and "***" in line["message"]
    assert log_config("debug")["loggers"]["safelight"]["level"] == "DEBUG"


def test_unexpected_errors_are_logged_with_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="safelight.service"):
        client.get("/test/raise/bug")
    [record] = [r for r in caplog.records if r.name == "safelight.service.error"]
    assert record.exc_info is not None
    assert SECRET not in JsonFormatter().format(record)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/test/raise/not_found")
    client.get("/test/raise/conflict")
    client.get("/nowhere/at/all")
    app_metrics = client.app.state.service.metrics  # type: ignore[attr-defined]
    app_metrics.lookups.labels(list="KNOWN").inc(3)
    app_metrics.set_index_state("pdq", entries=10, generation=4, updated_at=0.0)
    text_out = client.get("/metrics").text
    assert 'route="/test/raise/{kind}",status="404"' in text_out
    assert 'route="<unmatched>",status="404"' in text_out
    assert 'safelight_http_errors_total{code="conflict"} 1.0' in text_out
    assert 'safelight_lookups_total{list="KNOWN"} 3.0' in text_out
    assert 'safelight_index_generation{signal_type="pdq"} 4.0' in text_out
    assert 'safelight_index_age_seconds{signal_type="pdq"}' in text_out
    assert "safelight_http_request_duration_seconds_bucket" in text_out


def test_readiness_runs_every_check(client: TestClient) -> None:
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["index"] == {"ok": False, "gen": 7}
    assert not_ready.json()["checks"]["database"]["ok"] is True
    client.app.state.service.extensions["ready"] = True  # type: ignore[attr-defined]
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_names_roles_and_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    lists = schema["paths"]["/api/v1/lists"]["get"]
    assert lists["security"] == [{"bearer": []}] and "auditor" in lists["x-safelight-roles"]
    assert schema["paths"]["/healthz"]["get"]["x-safelight-roles"] == ["public"]
    assert client.get("/docs").status_code == 200


# --- the store check -------------------------------------------------------------------------


def test_an_unmigrated_store_is_refused(tmp_path: Path) -> None:
    from safelight.service import create_app

    url = f"sqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(errors.StoreError) as info:
        create_app(Settings(database_url=url))
    assert info.value.code == "schema_outdated" and "never migrated" in info.value.message


def test_a_store_behind_is_refused_naming_what_it_lacks(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = 'service_0001'"))
    with pytest.raises(errors.StoreError) as info:
        Database.open(db.url, schema=db.schema, migrate=False)
    assert "behind" in info.value.message and "service_0001" in info.value.message


def test_a_store_from_a_newer_release_is_refused(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('zz_future_0001')"))
    with pytest.raises(errors.StoreError) as info:
        db.check_current()
    assert "newer release" in info.value.message


# --- settings --------------------------------------------------------------------------------


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "safelight.toml"
    config.write_text('port = 9000\nworkers = 3\nlog_level = "debug"\n')
    monkeypatch.setenv("SAFELIGHT_WORKERS", "2")
    settings = load_settings(config, port=None, host="0.0.0.0")
    assert (settings.port, settings.workers, settings.host) == (9000, 2, "0.0.0.0")
    assert settings.log_level == "debug"
    monkeypatch.setenv("SAFELIGHT_CONFIG", str(config))
    assert load_settings().port == 9000
    assert load_settings(port=1234).port == 1234


@pytest.mark.parametrize(
    ("content", "words"),
    [("port = 70000\n", "port"), ("colour = 1\n", "colour"), ("port = [\n", "config file")],
)
def test_bad_settings_name_the_setting(tmp_path: Path, content: str, words: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(errors.UsageError) as info:
        load_settings(config)
    assert words in info.value.message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_docs_table_matches_the_settings_model() -> None:
    page = DOCS.read_text(encoding="utf-8")
    table = page.split("<!-- settings:start", 1)[1].split("<!-- settings:end", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {}
    for row in rows:
        name, env, default, meaning = [cell.strip() for cell in row.strip("|").split("|")]
        documented[name.strip("`")] = (env.strip("`"), default.strip("`"), meaning)
    fields = Settings.model_fields
    assert list(documented) == list(fields)
    for name, field in fields.items():
        value = field.default
        shown = (
            "-" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
        assert documented[name] == (env_name(name), shown, field.description), name
