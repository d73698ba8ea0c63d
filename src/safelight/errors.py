"""One tree of exceptions for all of Safelight, mapped centrally to CLI exit codes and HTTP.

    SafelightError                      exit 1, HTTP 500
    ├── UsageError                      exit 2, HTTP 400   bad options or arguments
    ├── InputError                      exit 1, HTTP 422   bad data; names file/line/field
    │   ├── MediaError                  exit 1, HTTP 422   a file that cannot be hashed
    │   └── ValidationError             exit 1, HTTP 422   rows/lines of an import that fail
    ├── NotFoundError                   exit 3, HTTP 404   a list, entry, run or case is missing
    ├── ConflictError                   exit 4, HTTP 409   already exists / concurrent change
    │   └── OutputExistsError           exit 4, HTTP 409   output files exist (no overwrite)
    ├── PermissionDeniedError           exit 5, HTTP 403   role does not allow it
    │   └── AuthenticationError         exit 5, HTTP 401   no, bad or expired credentials
    ├── RateLimitedError                exit 1, HTTP 429   too many attempts; retry later
    ├── StoreError                      exit 6, HTTP 503   the database failed or is unreachable
    └── IndexCorruptError               exit 7, HTTP 500   an on-disk index failed its checks

Every error carries a short machine-readable ``code`` and a human message. Per-item errors in
a batch (one bad file among thousands) are *recorded*, not raised: see ``ItemError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class SafelightError(Exception):
    """Base of every error Safelight raises on purpose."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    default_code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        # The parameter the error is about, by its library name ("max_pixels"); each front
        # names it its own way (the CLI as its flag, the service as a JSON field).
        self.field = field
        # Advice a front adds in its own terms (the CLI names its flags here).
        self.hint: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class UsageError(SafelightError):
    exit_code = 2
    http_status = 400
    default_code = "usage"


class InputError(SafelightError):
    """Bad input data. The message names the file, line or field and what is wrong."""

    http_status = 422
    default_code = "invalid_input"


class MediaError(InputError):
    """A media file that cannot be decoded or hashed. ``code`` is one of MEDIA_ERROR_CODES."""

    default_code = "undecodable"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message, code=code)
        self.path = path


class ValidationError(InputError):
    """One or more invalid records; ``problems`` lists (location, reason) for each."""

    default_code = "validation"

    def __init__(
        self,
        message: str,
        problems: list[tuple[str, str]] | None = None,
        *,
        codes: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(message)
        self.problems = problems or []
        # Kinds of problem present (e.g. "untyped_value"), so a front can add its own advice.
        self.codes = codes


class NotFoundError(SafelightError):
    exit_code = 3
    http_status = 404
    default_code = "not_found"


class ConflictError(SafelightError):
    exit_code = 4
    http_status = 409
    default_code = "conflict"


class OutputExistsError(ConflictError):
    """Files a command would overwrite without being told to; ``paths`` names them."""

    default_code = "output_exists"

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


class PermissionDeniedError(SafelightError):
    exit_code = 5
    http_status = 403
    default_code = "forbidden"


class AuthenticationError(PermissionDeniedError):
    """No credentials, or credentials that do not hold (wrong, expired, revoked, locked)."""

    http_status = 401
    default_code = "unauthenticated"


class RateLimitedError(SafelightError):
    """Too many requests or attempts; ``retry_after`` says in how many seconds to retry."""

    http_status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreError(SafelightError):
    exit_code = 6
    http_status = 503
    default_code = "store"


class IndexCorruptError(SafelightError):
    exit_code = 7
    http_status = 500
    default_code = "index_corrupt"


# Codes a per-file hashing error can carry; documented in docs/signals.md.
MEDIA_ERROR_CODES: dict[str, str] = {
    "unreadable": "the path cannot be opened or read (missing, permission, a directory)",
    "empty_file": "the file has zero bytes",
    "not_media": "the bytes are not an image or video format Safelight decodes",
    "truncated": "the file ends before the image or video data is complete",
    "decompression_bomb": "the image declares more pixels than the configured limit",
    "corrupt_video": "the video container or stream cannot be decoded",
    "undecodable": "the decoder rejected the file for another reason",
    "unsupported_format": "a recognised format this installation cannot decode (missing plugin)",
    "internal": "an unexpected failure inside Safelight while hashing this file (a bug: report it)",
}

# Exit codes of batch commands (hash, match, scan): documented in docs/cli.md.
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
# Stopped by Ctrl-C (SIGINT), as shells report it (128 + 2); a scan run stays resumable.
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class ItemError:
    """A recorded failure of one item in a batch; the batch goes on."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_exception(cls, exc: SafelightError) -> ItemError:
        return cls(exc.code, exc.message)
