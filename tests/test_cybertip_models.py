"""The report models: schema order of the XML, every validation rule, XSD checks, responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError as PydanticError

from safelight.errors import InputError, ValidationError
from safelight.referrals.cybertipline.builder import validated
from safelight.referrals.cybertipline.models import FileDetails, Report
from safelight.referrals.cybertipline.vocab import FILE_ANNOTATIONS, REPORT_ANNOTATIONS
from safelight.referrals.cybertipline.xml import parse_response, to_xml, validate_xsd
from tests.cybertip_support import REPORT, report

EVENT = {"ipAddress": "192.0.2.7", "eventName": "Upload", "dateTime": "2024-05-01T10:00:00Z"}

FULL = {
    **REPORT,
    "incidentSummary": {
        "incidentDateTimeDescription": "first sighting",
        "incidentDateTime": "2024-05-01T10:00:00+02:00",
        "reportAnnotations": ["spam", "sextortion"],
        "escalateToHighPriority": "ongoing",
        "platform": "Example",
        "incidentType": "Child Sex Trafficking",
    },
    "additionalInfo": "note",
    "personOrUserReported": {
        "additionalInfo": "x",
        "estimatedLocation": {"countryCode": "de", "city": "Berlin"},
        "priorCTReports": ["123456"],
        "ipCaptureEvent": [{**EVENT, "port": 6881, "possibleProxy": False}],
        "screenName": "someone",
        "espIdentifier": "u-1",
    },
    "internetDetails": [
        {
            "peer2peerIncident": {
                "additionalInfo": "x",
                "fileNames": "a.jpg",
                "ipCaptureEvent": [EVENT, EVENT],
                "client": "eMule",
            }
        },
        {"webPageIncident": {"url": ["https://example.org/a"], "thirdPartyHostedContent": True}},
    ],
}


def tags(element: etree._Element) -> list[str]:
    return [child.tag for child in element]


def test_report_elements_follow_the_schema_order() -> None:
    root = etree.fromstring(to_xml(Report.model_validate(FULL)))
    assert root.tag == "report"
    assert tags(root) == [
        "incidentSummary",
        "internetDetails",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    assert tags(root.find("incidentSummary")) == [
        "incidentType",
        "platform",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ]
    assert tags(root.find("incidentSummary/reportAnnotations")) == ["sextortion", "spam"]
    assert tags(root.find("internetDetails/peer2peerIncident")) == [
        "client",
        "ipCaptureEvent",
        "ipCaptureEvent",
        "fileNames",
        "additionalInfo",
    ]
    assert tags(root.find("personOrUserReported")) == [
        "espIdentifier",
        "screenName",
        "ipCaptureEvent",
        "priorCTReports",
        "estimatedLocation",
        "additionalInfo",
    ]
    assert tags(root.find("personOrUserReported/ipCaptureEvent")) == [
        "ipAddress",
        "eventName",
        "dateTime",
        "possibleProxy",
        "port",
    ]
    web = root.findall("internetDetails")[1].find("webPageIncident")
    assert web.get("thirdPartyHostedContent") == "true"
    assert root.findtext("incidentSummary/incidentDateTime") == "2024-05-01T10:00:00+02:00"
    assert root.findtext("personOrUserReported/estimatedLocation/countryCode") == "DE"


def test_file_details_elements_follow_the_schema_order() -> None:
    details = FileDetails.model_validate(
        {
            "additionalInfo": ["matched"],
            "details": {"nameValuePair": [{"type": "HASH", "name": "PDQ", "value": "ab"}]},
            "ipCaptureEvent": EVENT,
            "originalFileHash": [{"value": "AB", "hashType": "MD5"}],
            "industryClassification": "A2",
            "fileAnnotations": ["viral"],
            "fileRelevance": "Reported",
            "publiclyAvailable": False,
            "exifViewedByEsp": True,
            "fileViewedByEsp": True,
            "locationOfFile": "https://example.org/f",
            "originalFileName": "o.jpg",
            "fileName": "f.jpg",
            "fileId": "0" * 32,
            "reportId": 7,
        }
    )
    root = etree.fromstring(to_xml(details))
    assert tags(root) == [
        "reportId",
        "fileId",
        "fileName",
        "originalFileName",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "ipCaptureEvent",
        "details",
        "additionalInfo",
    ]
    assert root.find("originalFileHash").get("hashType") == "MD5"
    assert root.find("details/nameValuePair").get("type") == "HASH"


@given(st.lists(st.sampled_from(REPORT_ANNOTATIONS)), st.lists(st.sampled_from(FILE_ANNOTATIONS)))
def test_annotations_are_written_once_in_schema_order(
    report_tags: list[str], file_tags: list[str]
) -> None:
    summary = {**REPORT["incidentSummary"], "reportAnnotations": report_tags}  # type: ignore[dict-item]
    root = etree.fromstring(to_xml(report(incidentSummary=summary)))
    written = [e.tag for e in root.iterfind("incidentSummary/reportAnnotations/*")]
    assert written == [a for a in REPORT_ANNOTATIONS if a in report_tags]
    files = etree.fromstring(to_xml(FileDetails.model_validate({"fileAnnotations": file_tags})))
    assert [e.tag for e in files.iterfind("fileAnnotations/*")] == [
        a for a in FILE_ANNOTATIONS if a in file_tags
    ]


FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"incidentSummary": {"incidentDateTime": "2024-05-01T10:00:00Z"}}, "incidentType"),
        (
            {
                "incidentSummary": {
                    "incidentType": "Nope",
                    "incidentDateTime": "2024-05-01T10:00:00Z",
                }
            },
            "incidentType",
        ),  # noqa: E501
        (
            {
                "incidentSummary": {
                    **REPORT["incidentSummary"],
                    "incidentDateTime": "2024-05-01T10:00:00",
                }
            },
            "no time zone",
        ),  # type: ignore[dict-item]  # noqa: E501
        ({"incidentSummary": {**REPORT["incidentSummary"], "incidentDateTime": FUTURE}}, "future"),  # type: ignore[dict-item]  # noqa: E501
        (
            {"incidentSummary": {**REPORT["incidentSummary"], "incidentDateTime": "yesterday"}},
            "not an ISO 8601",
        ),  # type: ignore[dict-item]  # noqa: E501
        ({"incidentSummary": {**REPORT["incidentSummary"], "platform": "x" * 257}}, "256"),  # type: ignore[dict-item]  # noqa: E501
        (
            {
                "incidentSummary": {
                    **REPORT["incidentSummary"],
                    "reportAnnotations": ["informational"],
                }
            },
            "unknown annotation",
        ),  # type: ignore[dict-item]  # noqa: E501
        ({"reporter": {"reportingPerson": {"firstName": "A"}}}, "at least one email"),
        (
            {"reporter": {"reportingPerson": {"email": [{"value": "a@b", "type": "Mobile"}]}}},
            "Home",
        ),  # noqa: E501
        ({"internetDetails": [{}]}, "exactly one"),
        ({"internetDetails": [{"chatImIncident": {}, "onlineGamingIncident": {}}]}, "exactly one"),
        (
            {"personOrUserReported": {"ipCaptureEvent": [{"ipAddress": "192.0.2.300"}]}},
            "IPv4 or IPv6",
        ),  # noqa: E501
        (
            {"personOrUserReported": {"ipCaptureEvent": [{"ipAddress": "::1", "port": 0}]}},
            "greater than or equal to 1",
        ),  # noqa: E501
        (
            {"personOrUserReported": {"ipCaptureEvent": [{"ipAddress": "::1", "port": 65536}]}},
            "less than or equal to 65535",
        ),  # noqa: E501
        (
            {
                "personOrUserReported": {
                    "ipCaptureEvent": [{"ipAddress": "::1", "eventName": "Chat"}]
                }
            },
            "eventName",
        ),  # noqa: E501
        (
            {
                "personOrUserReported": {
                    "ipCaptureEvent": [{"ipAddress": "::1", "dateTime": FUTURE}]
                }
            },
            "future",
        ),  # noqa: E501
        ({"personOrUserReported": {"estimatedLocation": {"countryCode": "XK"}}}, "ISO 3166-1"),
        ({"personOrUserReported": {"estimatedLocation": {"countryCode": "EU"}}}, "ISO 3166-1"),
        ({"personOrUserReported": {"estimatedLocation": {"city": "Paris"}}}, "countryCode"),
        (
            {
                "personOrUserReported": {
                    "estimatedLocation": {"countryCode": "US", "city": "Austin"}
                }
            },
            "US state",
        ),  # noqa: E501
        ({"personOrUserReported": {"priorCTReports": ["CT-12"]}}, "priorCTReports"),
        (
            {
                "personOrUserReported": {
                    "person": {"phone": [{"value": "1", "countryCallingCode": "44"}]}
                }
            },
            "countryCallingCode",
        ),  # noqa: E501
        ({"unknownElement": 1}, "unknownElement"),
    ],
)
def test_invalid_reports_are_refused_naming_the_field(
    change: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validated(Report, {**REPORT, **change}, "draft")
    text = " ".join(f"{where}: {why}" for where, why in caught.value.problems)
    assert expected in text


def test_valid_edges_are_accepted() -> None:
    ok = {
        "personOrUserReported": {
            "ipCaptureEvent": [
                {"ipAddress": "::ffff:192.0.2.1", "port": 1},
                {"ipAddress": "[2001:db8::1]", "port": 65535},
            ],
            "estimatedLocation": {"countryCode": "us", "city": "Austin", "region": "TX"},
        }
    }
    parsed = Report.model_validate({**REPORT, **ok})
    suspect = parsed.person_or_user_reported
    assert suspect is not None and suspect.ip_capture_event[1].ip_address == "2001:db8::1"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"exifViewedByEsp": True}, "fileViewedByEsp must be true"),
        (
            {"fileRelevance": "Supplemental Reported", "fileAnnotations": ["potentialMeme"]},
            "potentialMeme",
        ),  # noqa: E501
        (
            {"fileRelevance": "Supplemental Reported", "industryClassification": "A1"},
            "Reported file",
        ),  # noqa: E501
        ({"industryClassification": "C1"}, "industryClassification"),
        ({"originalFileName": "x" * 2057}, "2056"),
        ({"locationOfFile": "not a url"}, "locationOfFile"),
        ({"details": {"nameValuePair": [{"type": "GPS", "name": "a", "value": "b"}]}}, "type"),
        ({"details": {"nameValuePair": [{"type": "EXIF", "name": "n" * 65, "value": "b"}]}}, "64"),
        ({"uploadedToEspTimestamp": FUTURE}, "future"),
    ],
)
def test_invalid_file_details_are_refused(details: dict[str, object], expected: str) -> None:
    with pytest.raises(PydanticError, match=expected):
        FileDetails.model_validate(details)


XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <!-- A hand-written fragment for the tests (not NCMEC's schema): the top of <report>. -->
  <xs:element name="report">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="incidentSummary">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="incidentType" type="xs:string"/>
              <xs:element name="platform" type="xs:string" minOccurs="{platform}"/>
              <xs:any minOccurs="0" maxOccurs="unbounded" processContents="skip"/>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
        <xs:element name="internetDetails" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType><xs:sequence>
            <xs:any maxOccurs="unbounded" processContents="skip"/>
          </xs:sequence></xs:complexType>
        </xs:element>
        <xs:element name="reporter">
          <xs:complexType><xs:sequence>
            <xs:any maxOccurs="unbounded" processContents="skip"/>
          </xs:sequence></xs:complexType>
        </xs:element>
        <xs:any minOccurs="0" maxOccurs="unbounded" processContents="skip"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def test_xsd_validation_when_a_schema_is_given(tmp_path: Path) -> None:
    strict = tmp_path / "strict.xsd"
    strict.write_text(XSD.format(platform=1))
    validate_xsd(to_xml(Report.model_validate(FULL)), strict)  # has a platform: valid
    bare = report(
        incidentSummary={k: v for k, v in REPORT["incidentSummary"].items() if k != "platform"}
    )  # type: ignore[attr-defined]  # noqa: E501
    with pytest.raises(ValidationError, match="does not match the schema") as caught:
        validate_xsd(to_xml(bare), strict)
    assert any("platform" in why for _, why in caught.value.problems)
    broken = tmp_path / "broken.xsd"
    broken.write_text("<xs:schema")
    with pytest.raises(InputError, match="not a readable XML schema"):
        validate_xsd(to_xml(bare), broken)


def test_responses_are_parsed_and_entities_never_resolved(tmp_path: Path) -> None:
    ok = parse_response(
        b"<reportResponse><responseCode>0</responseCode><responseDescription>Success"
        b"</responseDescription><reportId>42</reportId><fileId>ab</fileId><hash>FF</hash>"
        b"</reportResponse>"
    )
    assert ok is not None and (ok.code, ok.report_id, ok.file_id, ok.hash) == (0, 42, "ab", "ff")
    done = parse_response(
        b"<reportDoneResponse><responseCode>0</responseCode><reportId>42</reportId>"
        b"<files><fileId>a</fileId><fileId>b</fileId></files></reportDoneResponse>"
    )
    assert done is not None and done.file_ids == ("a", "b")
    unknown = parse_response(b"<reportResponse><responseCode>7777</responseCode></reportResponse>")
    assert unknown is not None and unknown.code == 7777  # unknown codes are kept
    assert parse_response(b"<html>502 Bad Gateway</html>") is None
    assert parse_response(b"") is None
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<reportResponse><responseCode>0</responseCode>"
        "<responseDescription>&x;</responseDescription></reportResponse>"
    ).encode()
    parsed = parse_response(xxe)
    assert parsed is not None and "do-not-read" not in parsed.description
