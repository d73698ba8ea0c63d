"""A local stand-in for the CyberTipline API, on 127.0.0.1 with an ephemeral port.

It implements the documented endpoints (/status, /submit, /upload, /fileinfo, /finish,
/retract), XML response bodies, error codes and the abandonment rule (reference 1.1-1.7),
and has switches for the failures a client must survive. Never a real endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from lxml import etree

# Top-level order of <report> and <fileDetails> children the mock insists on (reference).
REPORT_ORDER = [
    "incidentSummary",
    "internetDetails",
    "lawEnforcement",
    "reporter",
    "personOrUserReported",
    "intendedRecipient",
    "victim",
    "additionalInfo",
]


@dataclass
class MockReport:
    id: int
    opened: datetime
    changed: datetime
    state: str = "open"  # open, finished, retracted
    files: dict[str, str] = field(default_factory=dict)  # fileId -> MD5
    names: dict[str, str] = field(default_factory=dict)  # fileId -> uploaded name
    described: set[str] = field(default_factory=set)
    xml: bytes = b""
    details: list[bytes] = field(default_factory=list)


@dataclass
class Switches:
    """Failures to play. ``transient`` maps an endpoint to how many 503s to answer first."""

    transient: dict[str, int] = field(default_factory=dict)
    transient_code: dict[str, int] = field(default_factory=dict)  # 1000-style body codes
    fail_upload_at: int | None = None  # the n-th upload (1-based) fails with upload_code
    upload_code: int = 4200  # malformed file: permanent
    fail_finish: int | None = None  # finish answers this code (e.g. 4100, HTTP 400)
    fail_retract: int | None = None
    finish_lost: bool = False  # finish succeeds but the client sees a 503
    corrupt_hash: bool = False  # /upload answers a wrong MD5


class MockCyberTipline:
    def __init__(self, user: str = "esp", password: str = "s3cret-pass") -> None:
        self.user, self.password = user, password
        self.switches = Switches()
        self.reports: dict[int, MockReport] = {}
        self.calls: list[str] = []
        self.now = lambda: datetime.now(UTC)
        self._ids = itertools.count(100001)
        self._file_ids = itertools.count(1)
        self._uploads = 0
        self.lock = threading.Lock()
        self.authorizations: list[str] = []

    # -- the abandonment rule (reference 1.1) ----------------------------------------------
    def _expire(self) -> None:
        now = self.now()
        for report in list(self.reports.values()):
            limit = max(report.opened + timedelta(hours=24), report.changed + timedelta(hours=1))
            if report.state == "open" and now > limit:
                del self.reports[report.id]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple:
        with self.lock:
            self.calls.append(path)
            self.authorizations.append(headers.get("authorization", ""))
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, _resp(2000, "authentication required")
            left = self.switches.transient.get(path, 0)
            if left:
                self.switches.transient[path] = left - 1
                return 503, b"<html>Service Unavailable</html>"
            left = self.switches.transient_code.get(path, 0)
            if left:
                self.switches.transient_code[path] = left - 1
                return 500, _resp(1000, "server error")
            self._expire()
            route = getattr(self, "_" + path.strip("/"), None)
            if route is None:
                return 404, _resp(1210, "resource not found")
            return route(headers, body)

    def _status(self, headers: dict[str, str], body: bytes) -> tuple:
        return 200, _resp(0, f"Remote User : {self.user}, Remote Ip : 127.0.0.1")

    def _submit(self, headers: dict[str, str], body: bytes) -> tuple:
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return 400, _resp(4110, "malformed XML")
        children = [c.tag for c in root]
        if root.tag != "report" or any(t not in REPORT_ORDER for t in children):
            return 400, _resp(4100, "validation failed: unknown element")
        ranks = [REPORT_ORDER.index(t) for t in children]
        if ranks != sorted(ranks) or root.find("incidentSummary/incidentType") is None:
            return 400, _resp(4100, "validation failed: order or required element")
        now = self.now()
        report = MockReport(next(self._ids), now, now, xml=body)
        self.reports[report.id] = report
        return 200, _resp(0, "Success", report_id=report.id)

    def _open_report(self, report_id: str) -> MockReport | tuple:
        report = self.reports.get(int(report_id)) if report_id.isdigit() else None
        if report is None:
            return 400, _resp(5001, "report does not exist")
        if report.state == "finished":
            return 400, _resp(5102, "already finished", report_id=report.id)
        if report.state == "retracted":
            return 400, _resp(5101, "already retracted", report_id=report.id)
        return report

    def _upload(self, headers: dict[str, str], body: bytes) -> tuple:
        parts = _multipart(headers.get("content-type", ""), body)
        found = self._open_report(parts.get("id", (b"", ""))[0].decode())
        if isinstance(found, tuple):
            return found
        self._uploads += 1
        if self.switches.fail_upload_at == self._uploads:
            status = 500 if self.switches.upload_code < 2000 else 400
            return status, _resp(self.switches.upload_code, "upload refused", report_id=found.id)
        if "file" not in parts:
            return 400, _resp(4000, "invalid request")
        data, name = parts["file"]
        file_id = f"{next(self._file_ids):032x}"
        digest = hashlib.md5(data).hexdigest()
        found.files[file_id] = digest
        found.names[file_id] = name
        found.changed = self.now()
        shown = "0" * 32 if self.switches.corrupt_hash else digest
        return 200, _resp(0, "Success", report_id=found.id, file_id=file_id, md5=shown)

    def _fileinfo(self, headers: dict[str, str], body: bytes) -> tuple:
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return 400, _resp(4110, "malformed XML")
        found = self._open_report((root.findtext("reportId") or "").strip())
        if isinstance(found, tuple):
            return found
        file_id = (root.findtext("fileId") or "").strip()
        if file_id not in found.files:
            return 400, _resp(5002, "file does not exist", report_id=found.id)
        if file_id in found.described:
            return 400, _resp(4000, "invalid request: fileinfo already sent", report_id=found.id)
        found.described.add(file_id)
        found.details.append(body)
        found.changed = self.now()
        return 200, _resp(0, "Success", report_id=found.id)

    def _form_id(self, body: bytes) -> str:
        return parse_qs(body.decode()).get("id", [""])[0]

    def _finish(self, headers: dict[str, str], body: bytes) -> tuple:
        found = self._open_report(self._form_id(body))
        if isinstance(found, tuple):
            return found
        if self.switches.fail_finish is not None:
            return 400, _resp(self.switches.fail_finish, "validation failed", report_id=found.id)
        found.state = "finished"
        files = "".join(f"<fileId>{f}</fileId>" for f in found.files)
        done = (
            f"<reportDoneResponse><responseCode>0</responseCode><reportId>{found.id}</reportId>"
            f"<files>{files}</files></reportDoneResponse>"
        ).encode()
        if self.switches.finish_lost:
            return 503, b"gateway timeout"
        return 200, done

    def _retract(self, headers: dict[str, str], body: bytes) -> tuple:
        if self.switches.fail_retract is not None:
            return 500, _resp(self.switches.fail_retract, "update failed")
        found = self._open_report(self._form_id(body))
        if isinstance(found, tuple):
            return found
        found.state = "retracted"
        return 200, _resp(0, "Success", report_id=found.id)


def _resp(code: int, text: str, *, report_id=None, file_id=None, md5=None) -> bytes:
    parts = [f"<responseCode>{code}</responseCode>"]
    parts.append(f"<responseDescription>{escape(text)}</responseDescription>")
    if report_id is not None:
        parts.append(f"<reportId>{report_id}</reportId>")
    if file_id is not None:
        parts.append(f"<fileId>{file_id}</fileId>")
    if md5 is not None:
        parts.append(f"<hash>{md5}</hash>")
    return ("<reportResponse>" + "".join(parts) + "</reportResponse>").encode()


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    out = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = (part.get_payload(decode=True) or b"", part.get_filename() or "")
    return out


@contextmanager
def serve(mock: MockCyberTipline) -> Iterator[str]:
    """Run ``mock`` on 127.0.0.1 (ephemeral port); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?")[0].removeprefix("/ispws")
            status, payload = mock.handle(method, path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Request-ID", f"req-{len(mock.calls)}")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ispws"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
