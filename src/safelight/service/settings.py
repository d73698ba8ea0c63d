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

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from safelight.constants import (
    HOTLINE_DNS_TIMEOUT_SECONDS,
    WELLNESS_BLUR_PERCENT,
    WELLNESS_BLUR_PERCENT_MAX,
    WELLNESS_BLUR_PERCENT_MIN,
    WELLNESS_BREAK_AFTER_MINUTES,
    WELLNESS_BREAK_MINUTES,
    WELLNESS_DAILY_LIMIT_MINUTES,
)
from safelight.errors import UsageError
from safelight.hotline.sealing import media_cipher
from safelight.hotline.viewing_time import check_time_zone
from safelight.referrals.countries import validate_country

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
    key_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase of the signing key in the home (as for safelight keys); "
        "unset: the service builds no referral package.",
    )
    cybertip_url: str | None = Field(
        default=None,
        description="CyberTipline API base URL; unset: NCMEC's test service (production "
        "must be named).",
    )
    cybertip_user: str | None = Field(
        default=None, description="CyberTipline API user (HTTP Basic)."
    )
    cybertip_password: SecretStr | None = Field(
        default=None, description="CyberTipline API password; never logged or shown."
    )
    cybertip_xsd: Path | None = Field(
        default=None, description="NCMEC's XSD to validate reports against before sending."
    )
    hotline_media_enabled: bool = Field(
        default=False,
        description="Let analysts attach captures (screenshots, screen recordings) to items; "
        "off: hashes and notes only.",
    )
    hotline_media_key: str | None = Field(
        default=None,
        description="Fernet key(s) that encrypt stored captures (comma-separated: the first "
        "encrypts, every one decrypts); required when hotline_media_enabled is on.",
    )
    hotline_media_max_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Largest capture accepted (bytes); 413 beyond."
    )
    hotline_media_max_seconds: float = Field(
        default=600.0, gt=0, description="Longest screen recording accepted (seconds)."
    )
    hotline_media_days: int = Field(
        default=90, ge=1, description="Days a capture is kept before it is deleted."
    )
    wellness_blur_percent: int = Field(
        default=WELLNESS_BLUR_PERCENT,
        ge=WELLNESS_BLUR_PERCENT_MIN,
        le=WELLNESS_BLUR_PERCENT_MAX,
        description="Default blur of previews: Gaussian sigma as % of the longest side (3-20).",
    )
    wellness_greyscale: bool = Field(
        default=True, description="Default: previews in greyscale (users may choose colour)."
    )
    wellness_daily_limit_minutes: int = Field(
        default=WELLNESS_DAILY_LIMIT_MINUTES,
        ge=1,
        le=1440,
        description="Viewing time per analyst and day after which reveals are refused "
        "(users may only lower it; admins set it per user).",
    )
    wellness_reveal_minutes: float = Field(
        default=5.0, gt=0, le=60, description="How long one reveal shows an original at most."
    )
    wellness_break_after_minutes: int = Field(
        default=WELLNESS_BREAK_AFTER_MINUTES,
        ge=1,
        le=1440,
        description="Viewing minutes without a break after which pages remind to take one.",
    )
    wellness_break_minutes: int = Field(
        default=WELLNESS_BREAK_MINUTES,
        ge=1,
        le=1440,
        description="Minutes without viewing that count as a break.",
    )
    wellness_time_zone: str = Field(
        default="UTC", description="Time zone whose midnight starts a viewing day (IANA name)."
    )
    resolver_geo_paths: tuple[Path, ...] = Field(
        default=(),
        description="MaxMind .mmdb files (country, ASN) that locate reported hosts (JSON "
        "list); default: the embedded DB-IP Lite country table, if installed.",
    )
    resolver_timeout_seconds: float = Field(
        default=HOTLINE_DNS_TIMEOUT_SECONDS,
        gt=0,
        le=60,
        description="How long a DNS lookup of a reported host may take (then: timeout).",
    )
    four_eyes: bool = Field(
        default=True,
        description="A hotline classification takes effect only once a second, different "
        "analyst confirms it.",
    )
    organisation_country: str | None = Field(
        default=None,
        description="The hotline's own country (ISO 3166-1 alpha-2): items hosted there go to "
        "national law enforcement.",
    )
    fallback_partner: str | None = Field(
        default=None,
        description="Name of the partner (e.g. INTERPOL) that items hosted where no partner "
        "works are referred to.",
    )

    @field_validator("wellness_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        return check_time_zone(value)

    @model_validator(mode="after")
    def _media_needs_a_key(self) -> Settings:
        if self.hotline_media_key is not None:
            media_cipher(self.hotline_media_key)  # a bad key fails here, at startup
        elif self.hotline_media_enabled:
            raise ValueError(
                "hotline_media_enabled needs hotline_media_key: captures are only stored encrypted"
            )
        return self

    @field_validator("organisation_country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return validate_country(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None

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
