"""Helpers for the service tests: an app over the test's store, users and tokens made fast.

Passwords are hashed with argon2's cheapest profile here (the service's default costs tens
of milliseconds per hash, by design); the code path is the same.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.service import Settings, create_app
from safelight.service.roles import Role
from safelight.service.tokens import TokenStore
from safelight.service.users import UserStore
from safelight.store import Database

CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)
PASSWORD = "correct horse battery staple"
BASE = "https://testserver"  # session cookies are Secure: the client must speak "https"
# Where test apps keep their indexes (one folder per store inside it), not ./.safelight.
TEST_HOME = Path(tempfile.mkdtemp(prefix="safelight-test-home-"))
DEADLINE_SECONDS = 60.0  # generous: a loaded CI machine, not a measure of speed


def wait_for(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail (naming ``what``) past ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.02)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "token_cache_seconds": 0,
        "anonymous_per_minute": 10_000,
        "home": TEST_HOME,
    }
    values.update(overrides)
    return Settings(**values)


def make_app(db: Database, *, extend: Any = None, **overrides: Any) -> FastAPI:
    return create_app(settings(**overrides), db=db, hasher=CHEAP, extend=extend)


def add_user(db: Database, name: str, *roles: Role, password: str = PASSWORD) -> None:
    UserStore(db, hasher=CHEAP).add(name, password, frozenset(roles), by="test")


def make_token(db: Database, name: str, *roles: Role, lists: list[str] | None = None) -> str:
    return TokenStore(db).create(name, frozenset(roles), by="test", lists=lists)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(db: Database) -> FastAPI:
    return make_app(db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client
