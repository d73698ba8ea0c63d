"""The CyberTipline HTTP client: one call per endpoint, retries with exponential backoff.

Credentials (HTTP Basic) come from settings and go only into httpx's ``auth``: they are
never part of a URL, a log record or an error message (every message passes ``redact`` with
the password and the Authorization header's value as secrets).

A call is retried on a *transient* failure: a network error, an HTTP 5xx or 429 without a
response document, or a response code of ``TRANSIENT_CODES``. Every other failure is
*permanent* and raised at once. Each try is reported to ``on_try`` so the flow can record it.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from safelight.errors import SafelightError, UsageError
from safelight.referrals.cybertipline.vocab import (
    RESPONSE_CODES,
    SUCCESS,
    TEST_URL,
    TRANSIENT_CODES,
)
from safelight.referrals.cybertipline.xml import Response, parse_response
from safelight.store.redact import redact

ENV_URL = "SAFELIGHT_CYBERTIP_URL"
ENV_USER = "SAFELIGHT_CYBERTIP_USER"
ENV_PASSWORD = "SAFELIGHT_CYBERTIP_PASSWORD"
ENV_XSD = "SAFELIGHT_CYBERTIP_XSD"

XML_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Settings:
    """Where and as whom to report. ``repr`` never shows the password."""

    url: str
    user: str
    password: str = field(repr=False)
    xsd: Path | None = None

    @classmethod
    def from_env(cls, url: str | None = None, xsd: Path | None = None) -> Settings:
        """From SAFELIGHT_CYBERTIP_URL / _USER / _PASSWORD (and _XSD). The URL defaults to
        NCMEC's *test* service, never production: production must be named on purpose."""
        user = os.environ.get(ENV_USER, "")
        password = os.environ.get(ENV_PASSWORD, "")
        if not user or not password:
            raise UsageError(
                f"no CyberTipline credentials: set {ENV_USER} and {ENV_PASSWORD}",
                code="no_credentials",
            )
        xsd_env = os.environ.get(ENV_XSD)
        return cls(
            url=(url or os.environ.get(ENV_URL) or TEST_URL).rstrip("/"),
            user=user,
            password=password,
            xsd=xsd or (Path(xsd_env) if xsd_env else None),
        )

    def secrets(self) -> tuple[str, ...]:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return (token, self.password)


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: ``base * factor**(n-1)`` seconds before try n+1, at most
    ``cap``; ``tries`` in all. ``sleep`` is injectable so tests never wait."""

    tries: int = 4
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, done: int) -> float:
        return float(min(self.cap, self.base * self.factor ** (done - 1)))


class ApiError(SafelightError):
    """A call that failed: ``transient`` says whether a retry could have cured it.

    ``code`` is the response code as text when NCMEC sent one (``"4100"``), else ``http_503``
    or ``network``."""

    http_status = 502
    default_code = "cybertip"

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        response: Response | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.transient = transient
        self.response = response
        self.status = http_status
        self.request_id = request_id


@dataclass(frozen=True)
class Try:
    """One HTTP try, as the flow records it."""

    step: str
    number: int
    outcome: str  # ok, transient, failed
    http_status: int | None
    response: Response | None
    description: str
    request_id: str | None


class Client:
    """One endpoint per method; each returns the parsed response of a successful call."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: Retry | None = None,
        on_try: Callable[[Try], None] = lambda _try: None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.retry = retry or Retry()
        self.on_try = on_try
        self._http = httpx.Client(
            base_url=settings.url,
            auth=httpx.BasicAuth(settings.user, settings.password),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- endpoints (reference 1.1) --------------------------------------------------------

    def status(self) -> Response:
        return self._call("status", "GET", "/status")

    def submit(self, report_xml: bytes) -> Response:
        return self._call(
            "submit", "POST", "/submit", content=report_xml, headers={"Content-Type": XML_TYPE}
        )

    def upload(self, report_id: int, name: str, opener: Callable[[], BinaryIO]) -> Response:
        def files() -> dict[str, Any]:
            return {"file": (name, opener(), "application/octet-stream")}

        return self._call("upload", "POST", "/upload", data={"id": str(report_id)}, files=files)

    def fileinfo(self, details_xml: bytes) -> Response:
        return self._call(
            "fileinfo",
            "POST",
            "/fileinfo",
            content=details_xml,
            headers={"Content-Type": XML_TYPE},
        )

    def finish(self, report_id: int) -> Response:
        return self._call("finish", "POST", "/finish", data={"id": str(report_id)})

    def retract(self, report_id: int) -> Response:
        return self._call("retract", "POST", "/retract", data={"id": str(report_id)})

    # -- one call, retried ------------------------------------------------------------------

    def _call(self, step: str, method: str, path: str, **kwargs: Any) -> Response:
        files = kwargs.pop("files", None)
        number = 0
        while True:
            number += 1
            try:
                if files is not None:
                    kwargs["files"] = files()  # a fresh file object for every try
                response = self._try(step, number, method, path, **kwargs)
            except ApiError as exc:
                if not exc.transient or number >= self.retry.tries:
                    raise
                self.retry.sleep(self.retry.delay(number))
                continue
            finally:
                for _name, (_fname, handle, _type) in (kwargs.get("files") or {}).items():
                    handle.close()
            return response

    def _try(self, step: str, number: int, method: str, path: str, **kwargs: Any) -> Response:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            text = self._clean(f"{step}: network error: {type(exc).__name__}: {exc}")
            self.on_try(Try(step, number, "transient", None, None, text, None))
            raise ApiError(text, transient=True, code="network") from None
        request_id = answer.headers.get("Request-ID")
        parsed = parse_response(answer.content)
        if parsed is not None and parsed.code == SUCCESS and answer.status_code < 400:
            self.on_try(Try(step, number, "ok", answer.status_code, parsed, "ok", request_id))
            return parsed
        if parsed is not None:
            meaning = RESPONSE_CODES.get(parsed.code, "unknown code")
            text = f"{step}: NCMEC answered {parsed.code} ({meaning})"
            if parsed.description:
                text += f": {parsed.description}"
            transient = parsed.code in TRANSIENT_CODES
            code = str(parsed.code)
        else:
            text = f"{step}: HTTP {answer.status_code} without a response document"
            transient = answer.status_code >= 500 or answer.status_code == 429
            code = f"http_{answer.status_code}"
        text = self._clean(text)
        outcome = "transient" if transient else "failed"
        self.on_try(Try(step, number, outcome, answer.status_code, parsed, text, request_id))
        raise ApiError(
            text,
            transient=transient,
            response=parsed,
            http_status=answer.status_code,
            request_id=request_id,
            code=code,
        )

    def _clean(self, text: str) -> str:
        return redact(text, self.settings.secrets())
