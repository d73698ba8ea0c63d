"""Users (argon2, lockout), API tokens (hashed, scoped, expiring, revocable) and their CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from safelight.cli import main
from safelight.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    UsageError,
)
from safelight.lists import HashListStore
from safelight.service.audit import AuditLog
from safelight.service.roles import Role, parse_roles
from safelight.service.sessions import SessionStore
from safelight.service.tokens import TokenStore, parse_expiry, secret_digest
from safelight.service.users import Lockout, UserStore
from safelight.store import Database
from safelight.store.service_tables import service_tokens, service_users
from tests.service_support import CHEAP, PASSWORD

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def actions(db: Database) -> list[str]:
    return [entry.action for entry in AuditLog(db).entries()]


def test_roles_parse_and_refuse() -> None:
    assert parse_roles(["API-client", "admin"]) == {Role.API_CLIENT, Role.ADMIN}
    with pytest.raises(UsageError, match="unknown role 'root': one of admin"):
        parse_roles(["root"])
    with pytest.raises(UsageError):
        parse_roles([])


def test_users_hash_passwords_and_audit_changes(db: Database) -> None:
    users = UserStore(db, hasher=CHEAP)
    alice = users.add("alice", PASSWORD, frozenset({Role.ANALYST}), by="cli:root")
    assert alice.roles == {Role.ANALYST} and not alice.disabled
    with db.connect() as conn:
        stored = conn.execute(select(service_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(ConflictError):
        users.add("alice", PASSWORD, frozenset({Role.ADMIN}), by="cli:root")
    with pytest.raises(InputError, match="too short"):
        users.add("bob", "short", frozenset({Role.ADMIN}), by="cli:root")
    with pytest.raises(InputError, match="user name"):
        users.add("bad name", PASSWORD, frozenset({Role.ADMIN}), by="cli:root")
    users.set_roles("alice", frozenset({Role.AUDITOR}), by="user:root")
    users.set_disabled("alice", True, by="user:root")
    with pytest.raises(NotFoundError):
        users.set_disabled("nobody", True, by="user:root")
    assert actions(db) == ["user.add", "user.roles", "user.disable"]
    role_change = list(AuditLog(db).entries())[1]
    assert role_change.details == {"from": ["analyst"], "to": ["auditor"]}
    assert [u.username for u in users.list()] == ["alice"] and users.count() == 1


def test_login_failures_lock_the_account(db: Database) -> None:
    clock = Clock()
    users = UserStore(db, hasher=CHEAP, lockout=Lockout(3, timedelta(minutes=10)), clock=clock)
    users.add("alice", PASSWORD, frozenset({Role.ADMIN}), by="t")
    assert users.authenticate("alice", PASSWORD).username == "alice"
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            users.authenticate("alice", "wrong password, long enough")
    assert users.get("alice").locked_until == NOW + timedelta(minutes=10)
    with pytest.raises(AuthenticationError) as locked:  # the right password, but locked
        users.authenticate("alice", PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        users.authenticate("mallory", PASSWORD)
    assert locked.value.message == unknown.value.message  # nothing tells the cases apart
    clock.now += timedelta(minutes=11)
    assert users.authenticate("alice", PASSWORD).username == "alice"
    log = list(AuditLog(db).entries())
    reasons = [e.details.get("reason") for e in log if e.action == "login.failed"]
    assert reasons == ["wrong_password", "wrong_password", "locked_now", "locked", "unknown_user"]
    assert [e.action for e in log].count("login.ok") == 2 and "user.locked" in actions(db)


def test_disabled_user_cannot_log_in_and_enable_clears(db: Database) -> None:
    users = UserStore(db, hasher=CHEAP)
    users.add("alice", PASSWORD, frozenset({Role.ADMIN}), by="t")
    users.set_disabled("alice", True, by="t")
    with pytest.raises(AuthenticationError):
        users.authenticate("alice", PASSWORD)
    users.set_disabled("alice", False, by="t")
    assert users.authenticate("alice", PASSWORD).username == "alice"


def test_a_new_password_replaces_the_old_and_lifts_a_lock(db: Database) -> None:
    users = UserStore(db, hasher=CHEAP, lockout=Lockout(2, timedelta(minutes=10)))
    users.add("alice", PASSWORD, frozenset({Role.ANALYST}), by="cli:root")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            users.authenticate("alice", "not the password at all")
    assert users.get("alice").locked_until is not None
    with pytest.raises(InputError, match="too short"):
        users.set_password("alice", "short", by="cli:root")
    fresh = "another long enough password"
    assert users.set_password("alice", fresh, by="cli:root").locked_until is None
    assert users.authenticate("alice", fresh).username == "alice"
    with pytest.raises(AuthenticationError):
        users.authenticate("alice", PASSWORD)
    [entry] = [e for e in AuditLog(db).entries() if e.action == "user.password"]
    assert (entry.actor, entry.target, entry.details) == ("cli:root", "alice", {})
    with pytest.raises(NotFoundError):
        users.set_password("nobody", fresh, by="cli:root")


def test_sessions_resolve_expire_and_end(db: Database) -> None:
    clock = Clock()
    users = UserStore(db, hasher=CHEAP)
    user = users.add("alice", PASSWORD, frozenset({Role.ADMIN}), by="t")
    sessions = SessionStore(db, lifetime=timedelta(hours=1), clock=clock)
    sid, session = sessions.create(user)
    resolved = sessions.resolve(sid)
    assert resolved is not None and resolved.csrf_token == session.csrf_token
    assert sessions.resolve("not-a-session") is None
    clock.now += timedelta(hours=2)
    assert sessions.resolve(sid) is None
    sid2, _ = sessions.create(user)
    users.set_disabled("alice", True, by="t")
    assert sessions.resolve(sid2) is None
    sessions.end_all(user)
    sessions.end(sid2)


def test_tokens_are_shown_once_stored_hashed_and_checked(db: Database) -> None:
    clock = Clock()
    HashListStore(db).create("KNOWN")
    tokens = TokenStore(db, clock=clock, use_audit_interval=timedelta(hours=1))
    token, secret = tokens.create(
        "bot",
        frozenset({Role.API_CLIENT}),
        by="cli:root",
        lists=["KNOWN"],
        expires_at=NOW + timedelta(days=1),
    )
    assert secret.startswith("sl_") and len(secret) >= 40 and token.prefix == secret[:10]
    with db.connect() as conn:
        stored = conn.execute(select(service_tokens)).one()
    assert secret not in json.dumps([str(v) for v in stored]) and stored.secret_sha256 == (
        secret_digest(secret)
    )
    assert tokens.authenticate(secret).principal().lists == {"KNOWN"}
    tokens.authenticate(secret)  # within the interval: no second use entry
    clock.now += timedelta(hours=2)
    tokens.authenticate(secret)
    assert actions(db) == ["token.create", "token.use", "token.use"]
    with pytest.raises(AuthenticationError):
        tokens.authenticate(secret + "x")
    clock.now += timedelta(days=1)
    with pytest.raises(AuthenticationError):  # expired
        tokens.authenticate(secret)


def test_token_revoke_scope_and_names(db: Database) -> None:
    tokens = TokenStore(db)
    _, secret = tokens.create("bot", frozenset({Role.ADMIN}), by="t")
    assert tokens.get("bot").lists is None
    assert tokens.revoke("bot", by="t").revoked_at is not None
    tokens.revoke("bot", by="t")  # again: nothing more happens
    with pytest.raises(AuthenticationError):
        tokens.authenticate(secret)
    assert tokens.list(include_inactive=False) == []
    with pytest.raises(ConflictError):
        tokens.create("bot", frozenset({Role.ADMIN}), by="t")
    with pytest.raises(NotFoundError):
        tokens.create("other", frozenset({Role.ADMIN}), by="t", lists=["MISSING"])
    with pytest.raises(InputError):
        tokens.create("no spaces", frozenset({Role.ADMIN}), by="t")
    with pytest.raises(NotFoundError):
        tokens.revoke("ghost", by="t")
    assert actions(db) == ["token.create", "token.revoke"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("90m", NOW + timedelta(minutes=90)),
        ("2w", NOW + timedelta(weeks=2)),
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01T10:00:00+02:00", datetime(2027, 1, 1, 8, tzinfo=UTC)),
    ],
)
def test_expiry_forms(text: str, expected: datetime) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize("text", ["soon", "2020-01-01", "-3d"])
def test_bad_expiry_is_named(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_expiry(text, NOW)
    assert info.value.field == "expires"


# --- the command line ------------------------------------------------------------------------


def test_cli_users_add_ls_disable_roles(safelight_env: object) -> None:
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["users", "add", "alice", "--role", "admin", "--role", "auditor", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "added user alice (admin, auditor)" in added.output and PASSWORD not in added.output
    prompted = runner.invoke(
        main, ["users", "add", "bob", "--role", "analyst"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0 and PASSWORD not in prompted.output
    short = runner.invoke(
        main, ["users", "add", "carol", "--role", "analyst", "--password-stdin"], input="x\n"
    )
    assert short.exit_code == 1 and "too short" in short.output
    bad_role = runner.invoke(main, ["users", "add", "d", "--role", "root", "--password-stdin"])
    assert bad_role.exit_code == 2 and "--role: unknown role 'root'" in bad_role.output
    listed = runner.invoke(main, ["users", "ls"]).output
    assert "alice  admin,auditor  active" in listed
    assert runner.invoke(main, ["users", "disable", "bob"]).exit_code == 0
    as_json = json.loads(runner.invoke(main, ["users", "ls", "--format", "json"]).output)
    assert [(u["username"], u["disabled"]) for u in as_json] == [("alice", False), ("bob", True)]
    roles = runner.invoke(main, ["users", "roles", "alice", "--role", "investigator"])
    assert roles.exit_code == 0 and "alice: investigator" in roles.output
    missing = runner.invoke(main, ["users", "disable", "nobody"])
    assert missing.exit_code == 3


def test_cli_users_ls_empty(safelight_env: object) -> None:
    assert "no users" in CliRunner().invoke(main, ["users", "ls"]).output


def test_cli_tokens_create_ls_revoke(safelight_env: object) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["lists", "create", "KNOWN"]).exit_code == 0
    assert "no tokens" in runner.invoke(main, ["tokens", "ls"]).output
    created = runner.invoke(
        main,
        [
            "tokens",
            "create",
            "bot",
            "--role",
            "api_client",
            "--lists",
            "KNOWN",
            "--expires",
            "30d",
            "--format",
            "json",
        ],
    )
    assert created.exit_code == 0, created.output
    record = json.loads(created.output)
    assert record["token"].startswith("sl_") and record["lists"] == ["KNOWN"]
    assert record["roles"] == ["api_client"] and record["expires_at"] is not None
    plain = runner.invoke(main, ["tokens", "create", "admin-bot", "--role", "admin"])
    secret = plain.stdout.strip()
    assert plain.exit_code == 0 and secret.startswith("sl_") and "not shown again" in plain.stderr
    listed = runner.invoke(main, ["tokens", "ls"]).output
    assert record["token"] not in listed and secret not in listed
    assert "bot" in listed and "KNOWN" in listed and "active" in listed
    assert runner.invoke(main, ["tokens", "revoke", "bot"]).exit_code == 0
    as_json = json.loads(runner.invoke(main, ["tokens", "ls", "--format", "json"]).output)
    assert [t["revoked_at"] is not None for t in as_json] == [False, True]
    assert "revoked" in runner.invoke(main, ["tokens", "ls"]).output
    bad = runner.invoke(main, ["tokens", "create", "x", "--role", "admin", "--expires", "soon"])
    assert bad.exit_code == 1 and "--expires" in bad.output
    unknown_list = runner.invoke(
        main, ["tokens", "create", "y", "--role", "admin", "--lists", "NO"]
    )
    assert unknown_list.exit_code == 3
