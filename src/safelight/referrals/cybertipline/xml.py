"""XML out (``<report>``, ``<fileDetails>``) and in (the API's responses), and XSD checks.

Elements are written in the models' declaration order, which is the schema's sequence
(reference 1.3 and 1.5; an order bug is a known fault of other reporters). Text is escaped by
lxml; no entity or DTD is ever resolved when a response is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from lxml import etree
from pydantic import BaseModel

from safelight.errors import InputError, ValidationError
from safelight.referrals.cybertipline.models import Attr, FileDetails, Report, Tags, Text

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _marker(model: type[BaseModel], name: str, kind: type) -> bool:
    return any(isinstance(m, kind) for m in model.model_fields[name].metadata)


def _fill(element: etree._Element, model: BaseModel) -> None:
    cls = type(model)
    for name, info in cls.model_fields.items():
        value = getattr(model, name)
        tag = info.alias or name
        if value is None or value == [] or value == ():
            continue
        if _marker(cls, name, Attr):
            element.set(tag, _text(value))
        elif _marker(cls, name, Text):
            element.text = _text(value)
        elif _marker(cls, name, Tags):
            wrapper = etree.SubElement(element, tag)
            for flag in value:
                etree.SubElement(wrapper, flag)
        else:
            for item in value if isinstance(value, list) else [value]:
                _child(element, tag, item)


def _child(parent: etree._Element, tag: str, value: Any) -> None:
    child = etree.SubElement(parent, tag)
    if isinstance(value, BaseModel):
        _fill(child, value)
    else:
        child.text = _text(value)


def to_xml(document: Report | FileDetails) -> bytes:
    """The document as UTF-8 XML with a declaration, elements in schema order."""
    root = etree.Element("report" if isinstance(document, Report) else "fileDetails")
    _fill(root, document)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def validate_xsd(document: bytes, schema: Path) -> None:
    """Check ``document`` against the XSD file ``schema``; every violation is named."""
    try:
        xsd = etree.XMLSchema(etree.parse(str(schema), _PARSER))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise InputError(f"{schema}: not a readable XML schema: {exc}", field="xsd") from None
    tree = etree.fromstring(document, _PARSER)
    if xsd.validate(tree):
        return
    problems = [(f"line {e.line}", e.message) for e in xsd.error_log]
    raise ValidationError(f"the report does not match the schema {schema}", problems)


@dataclass(frozen=True)
class Response:
    """One API answer: ``reportResponse`` or ``reportDoneResponse`` (reference 1.7)."""

    code: int
    description: str = ""
    report_id: int | None = None
    file_id: str | None = None
    hash: str | None = None
    file_ids: tuple[str, ...] = field(default_factory=tuple)
    body: str = ""


def parse_response(body: bytes) -> Response | None:
    """The response in ``body``; None when it is not a response document (an HTML error page
    of a proxy, an empty body)."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        return None
    code = (root.findtext("responseCode") or "").strip()
    if not code.lstrip("-").isdigit():
        return None
    report_id = (root.findtext("reportId") or "").strip()
    return Response(
        code=int(code),
        description=(root.findtext("responseDescription") or "").strip(),
        report_id=int(report_id) if report_id.isdigit() else None,
        file_id=(root.findtext("fileId") or "").strip() or None,
        hash=(root.findtext("hash") or "").strip().lower() or None,
        file_ids=tuple((f.text or "").strip() for f in root.iterfind("files/fileId")),
        body=body.decode("utf-8", "replace"),
    )
