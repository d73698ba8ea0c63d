"""Which input column holds which field: common names recognised, a TOML mapping for the rest.

A mapping file names the source column of any canonical field::

    [columns]
    timestamp = "observed"
    ip = "remote_address"
    peer_id = "guid"
    digest = "hash"

Fields not named there are found by the common names below (case and punctuation ignored).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from safelight.errors import InputError, UsageError

# Canonical fields and the names logs commonly use for them, best guess first.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp",
        "time",
        "ts",
        "datetime",
        "date_time",
        "seen",
        "seen_at",
        "observed",
        "observed_at",
        "first_seen",
        "timestamp_utc",
        "time_utc",
        "date",
    ),
    "ip": (
        "ip",
        "ip_address",
        "ipaddress",
        "remote_ip",
        "peer_ip",
        "src_ip",
        "source_ip",
        "client_ip",
        "address",
        "addr",
        "remote_addr",
        "host",
    ),
    "port": ("port", "remote_port", "peer_port", "src_port", "source_port", "client_port"),
    "peer_id": (
        "peer_id",
        "peer",
        "guid",
        "peer_guid",
        "client_guid",
        "node_id",
        "account_id",
        "account",
        "user_id",
        "userid",
        "username",
    ),
    "client": ("client", "software", "client_software", "user_agent", "agent", "app"),
    "protocol": ("protocol", "network", "proto", "p2p_network"),
    "md5": ("md5", "md5_hash", "file_md5"),
    "sha1": ("sha1", "sha_1", "sha1_hash", "file_sha1"),
    "sha256": ("sha256", "sha_256", "sha256_hash", "file_sha256"),
    "digest": ("digest", "hash", "file_hash", "file_digest", "info_hash", "content_hash"),
    "pdq": ("pdq", "pdq_hash", "pdqhash"),
    "file_name": ("file_name", "filename", "name", "file", "path"),
    "size": ("size", "file_size", "bytes", "length", "size_bytes"),
}
FIELDS = tuple(FIELD_ALIASES)
REQUIRED = ("timestamp", "ip")
DIGEST_FIELDS = ("md5", "sha1", "sha256", "digest", "pdq")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMapping:
    """Canonical field -> source column name, as chosen by the user (may be partial)."""

    explicit: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> ColumnMapping:
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read mapping file: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from exc
        columns = data.get("columns", {})
        if not isinstance(columns, dict):
            raise InputError(f'{path}: [columns] must be a table of field = "column"')
        explicit: dict[str, str] = {}
        for key, value in columns.items():
            if key not in FIELD_ALIASES:
                raise InputError(
                    f"{path}: [columns].{key}: unknown field; known: {', '.join(FIELDS)}"
                )
            if not isinstance(value, str) or not value:
                raise InputError(f"{path}: [columns].{key}: must be a column name string")
            explicit[key] = value
        return cls(explicit)

    def resolve(self, source: str, header: Iterable[str]) -> dict[str, str]:
        """Field -> column present in ``header``; raises naming what is missing."""
        names = list(header)
        by_norm: dict[str, str] = {}
        for name in names:
            by_norm.setdefault(_norm(name), name)
        resolved: dict[str, str] = {}
        for fld, column in self.explicit.items():
            if column not in names:
                raise InputError(
                    f"{source}: mapped column {column!r} for {fld} is not in the header "
                    f"({', '.join(names)})"
                )
            resolved[fld] = column
        taken = set(resolved.values())
        for fld, aliases in FIELD_ALIASES.items():
            if fld in resolved:
                continue
            for alias in aliases:
                found = by_norm.get(alias)
                if found is not None and found not in taken:
                    resolved[fld] = found
                    taken.add(found)
                    break
        missing = [f for f in REQUIRED if f not in resolved]
        if missing:
            raise UsageError(
                f"{source}: no column for {', '.join(missing)} (header: {', '.join(names)}); "
                'name it in a mapping file: [columns] timestamp = "..."'
            )
        if not any(f in resolved for f in DIGEST_FIELDS):
            raise UsageError(
                f"{source}: no file digest or PDQ column (header: {', '.join(names)}); "
                "map one of md5, sha1, sha256, digest, pdq"
            )
        return resolved
