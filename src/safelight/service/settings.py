"""Service settings: ``SAFELIGHT_*`` environment variables, a TOML file, command-line flags.

Precedence, highest first: flags of ``safelight serve`` (passed as keyword arguments), the
environment (``SAFELIGHT_PORT=9000``), the TOML file named by ``--config`` or
``SAFELIGHT_CONFIG`` (``port = 9000``; keys as the field names), then the defaults below.
docs/service.md documents every field; a test holds its table to this model.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from safelight.errors import UsageError

ENV_CONFIG = "SAFELIGHT_CONFIG"
_config_file: ContextVar[Path | None] = ContextVar("safelight_config_file", default=None)


class Settings(BaseSettings):
    """Every setting of ``safelight serve``. Field descriptions are the documentation."""

    model_config = SettingsConfigDict(env_prefix="SAFELIGHT_", extra="forbid", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port (0: any free port).")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes.")
    database_url: str | None = Field(
        default=None, description="The store (as for the CLI); default: SQLite in the home."
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema to confine tables to."
    )
    home: Path | None = Field(
        default=None, description="Safelight home (indexes); default ./.safelight."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (comma-separated, or *).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level logged (JSON lines on stderr)."
    )
    docs: bool = Field(default=True, description="Serve the docs UI at /docs (OpenAPI stays on).")
    graceful_shutdown_seconds: int = Field(
        default=30, ge=1, description="On SIGTERM, how long in-flight requests may take to finish."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Mark session cookies Secure (HTTPS only); off only for local tests.",
    )
    session_hours: float = Field(default=8.0, gt=0, description="Lifetime of a browser session.")
    login_per_minute: int = Field(
        default=10,
        ge=1,
        description="Login attempts per minute per client address and per user name.",
    )
    anonymous_per_minute: int = Field(
        default=120, ge=1, description="Requests without credentials per minute per client address."
    )
    lockout_threshold: int = Field(
        default=5, ge=1, description="Failed logins in a row that lock an account."
    )
    lockout_minutes: float = Field(
        default=15.0, gt=0, description="How long a locked account stays locked."
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a checked API token is trusted without the database.",
    )
    token_use_audit_minutes: float = Field(
        default=60.0, ge=0, description="A token's use is audited at most once per this interval."
    )
    audit_flush_entries: int = Field(
        default=500,
        ge=1,
        description="Lookup audit entries are written in batches: at this many waiting ...",
    )
    audit_flush_ms: int = Field(
        default=200,
        ge=1,
        le=60_000,
        description="... or when the oldest has waited this long (and at shutdown).",
    )
    hma_max_upload_bytes: int = Field(
        default=104_857_600,
        ge=1,
        description="Largest file the HMA routes hash (HMA's MAX_REMOTE_FILE_SIZE); larger: 413.",
    )
    hma_fetch_allowed_hosts: str | None = Field(
        default=None,
        description="Hosts the HMA ?url= routes may fetch from (comma-separated; subdomains "
        "too); unset: every ?url= is refused.",
    )
    lookup_poll_seconds: float = Field(
        default=0.25,
        gt=0,
        le=60,
        description="How often lookups re-read the lists for changes (PostgreSQL also listens).",
    )
    upload_max_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1,
        description="Largest upload to hash or look up (bytes); larger ones are refused with 413.",
    )
    import_max_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1,
        description="Largest list file or sighting log to import (bytes); 413 beyond.",
    )
    scan_roots: tuple[str, ...] = Field(
        default=(),
        description="Folders or URI prefixes scans and case ingests may read (JSON list).",
    )
    scan_workers: int = Field(
        default=1, ge=1, le=16, description="Scans that run at once, each in a worker thread."
    )
    report_per_minute: int = Field(
        default=5, ge=1, description="Hotline reports accepted per minute per client address."
    )
    report_contact_key: str | None = Field(
        default=None, description="Fernet key that encrypts reporters' contact details."
    )
    report_contact_days: int = Field(
        default=90, ge=1, description="Days a reporter's contact details are kept."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file.get()
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if toml_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=toml_file),)
        return sources


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings from flags (``overrides``; None means not given), the environment and the
    TOML file ``config`` (else ``$SAFELIGHT_CONFIG``). Bad values are a UsageError naming
    the setting."""
    path = config or os.environ.get(ENV_CONFIG) or None
    if path is not None and not Path(path).is_file():
        raise UsageError(f"config file {str(path)!r} does not exist", field="config")
    given = {key: value for key, value in overrides.items() if value is not None}
    token = _config_file.set(Path(path) if path else None)
    try:
        return Settings(**given)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise UsageError(
            f"setting {where}: {first['msg']} (from flags, SAFELIGHT_* or {path or 'defaults'})",
            field=where,
        ) from None
    except ValueError as exc:  # an unreadable TOML file
        raise UsageError(f"config file {str(path)!r}: {exc}", field="config") from None
    finally:
        _config_file.reset(token)


def env_name(field: str) -> str:
    return f"SAFELIGHT_{field.upper()}"
