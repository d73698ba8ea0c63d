"""Pydantic models of the CyberTipline ``<report>`` and ``<fileDetails>`` documents.

Fields are declared in the order the reference lists them (the schema's sequence), and each
field's alias is its XML element name: ``xml.py`` writes elements in declaration order, so the
order lives in one place. ``Attr``, ``Text`` and ``Tags`` mark fields written as an attribute,
as the element's text, or as a wrapper of empty presence tags.

Only what the reference describes is modelled (docs/cybertipline.md lists what is left out).
Every rule of reference 1.6 that concerns these fields is checked here, before anything is
sent: required fields, enumerations, cardinalities, lengths, ISO 8601 times with a zone and
in the past, ports, IP addresses, country codes.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from safelight.referrals.cybertipline.vocab import (
    EMAIL_TYPES,
    FILE_ANNOTATIONS,
    ISO_COUNTRIES,
    PHONE_TYPES,
    REPORT_ANNOTATIONS,
    US_REGIONS,
    DetailType,
    EventName,
    FileRelevance,
    IncidentType,
    IndustryClassification,
)


class Attr:
    """Marks a field written as an XML attribute of its element."""


class Text:
    """Marks a field written as the text of its element."""


class Tags:
    """Marks a tuple of names written as empty child elements (presence tags)."""


ATTR, TEXT, TAGS = Attr(), Text(), Tags()


def _moment(value: Any) -> Any:
    """ISO 8601 text must carry a zone (``Z`` or ±hh:mm); a naive time is never guessed."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone (write Z or +hh:mm)")
    return value


def _in_past(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError(f"{value.isoformat()} is in the future (every date must be past)")
    return value


PastTime = Annotated[datetime, BeforeValidator(_moment), AfterValidator(_in_past)]


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _tags(allowed: tuple[str, ...]) -> Any:
    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ValueError(f"unknown annotation {unknown[0]!r}; known: {', '.join(allowed)}")
        return tuple(a for a in allowed if a in values)  # schema order, no repeats

    return AfterValidator(check)


def _one_of(allowed: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return AfterValidator(check)


IpAddress = Annotated[str, AfterValidator(_ip)]
Country = Annotated[str, AfterValidator(_country)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class IpCaptureEvent(Model):
    """Reference 1.5: an IP seen for an event (login, upload, ...)."""

    ip_address: IpAddress = Field(alias="ipAddress")
    event_name: EventName | None = Field(None, alias="eventName")
    date_time: PastTime | None = Field(None, alias="dateTime")
    possible_proxy: bool | None = Field(None, alias="possibleProxy")
    port: Port | None = None


class DeviceId(Model):
    id_type: str = Field(alias="idType", min_length=1)  # IMEI, ICCID, SSID, ...
    id_value: str = Field(alias="idValue", min_length=1)
    event_name: EventName | None = Field(None, alias="eventName")
    date_time: PastTime | None = Field(None, alias="dateTime")


class Email(Model):
    value: Annotated[str, TEXT] = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    type: Annotated[str | None, ATTR, _one_of(EMAIL_TYPES)] = None


class Phone(Model):
    value: Annotated[str, TEXT] = Field(min_length=1)
    type: Annotated[str | None, ATTR, _one_of(PHONE_TYPES)] = None
    country_calling_code: Annotated[str | None, ATTR] = Field(
        None, alias="countryCallingCode", pattern=r"^\+[0-9]{1,3}$"
    )
    extension: Annotated[str | None, ATTR] = Field(None, pattern=r"^[0-9]+$")


class Person(Model):
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    phone: list[Phone] = Field(default_factory=list)
    email: list[Email] = Field(default_factory=list)


class EstimatedLocation(Model):
    city: str | None = None
    region: str | None = None
    country_code: Country = Field(alias="countryCode")

    @model_validator(mode="after")
    def _us_region(self) -> Self:
        if self.country_code == "US" and self.city and (self.region or "") not in US_REGIONS:
            raise ValueError("a US location with a city needs a US state code as region")
        return self


class IncidentSummary(Model):
    incident_type: IncidentType = Field(alias="incidentType")
    platform: str | None = Field(None, max_length=256)
    escalate_to_high_priority: str | None = Field(
        None, alias="escalateToHighPriority", max_length=3000
    )
    report_annotations: Annotated[tuple[str, ...], TAGS, _tags(REPORT_ANNOTATIONS)] = Field(
        (), alias="reportAnnotations"
    )
    incident_date_time: PastTime = Field(alias="incidentDateTime")
    incident_date_time_description: str | None = Field(
        None, alias="incidentDateTimeDescription", max_length=3000
    )


class WebPageIncident(Model):
    third_party_hosted_content: Annotated[bool | None, ATTR] = Field(
        None, alias="thirdPartyHostedContent"
    )
    url: list[str] = Field(min_length=1)
    additional_info: str | None = Field(None, alias="additionalInfo")


class ChatImIncident(Model):
    chat_client: str | None = Field(None, alias="chatClient")
    chat_room_name: str | None = Field(None, alias="chatRoomName")


class OnlineGamingIncident(Model):
    game_name: str | None = Field(None, alias="gameName")
    console: str | None = None


class CellPhoneIncident(Model):
    phone_number: str | None = Field(None, alias="phoneNumber")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class Peer2PeerIncident(Model):
    """Reference 1.3: a file-sharing client and the IP capture events of the sightings."""

    client: str | None = None  # e.g. "Phex, Emule"
    ip_capture_event: list[IpCaptureEvent] = Field(default_factory=list, alias="ipCaptureEvent")
    file_names: str | None = Field(None, alias="fileNames")
    additional_info: str | None = Field(None, alias="additionalInfo")


class InternetDetails(Model):
    """Holds exactly one incident (reference 1.3)."""

    web_page_incident: WebPageIncident | None = Field(None, alias="webPageIncident")
    chat_im_incident: ChatImIncident | None = Field(None, alias="chatImIncident")
    online_gaming_incident: OnlineGamingIncident | None = Field(None, alias="onlineGamingIncident")
    cell_phone_incident: CellPhoneIncident | None = Field(None, alias="cellPhoneIncident")
    peer2peer_incident: Peer2PeerIncident | None = Field(None, alias="peer2peerIncident")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        present = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(present) != 1:
            raise ValueError(f"must hold exactly one incident, holds {len(present)}")
        return self


class ReportingPerson(Person):
    @model_validator(mode="after")
    def _has_email(self) -> Self:
        if not self.email:
            raise ValueError("reportingPerson needs at least one email")
        return self


class Reporter(Model):
    reporting_person: ReportingPerson = Field(alias="reportingPerson")
    contact_person: Person | None = Field(None, alias="contactPerson")
    company_template: str | None = Field(None, alias="companyTemplate")
    terms_of_service: str | None = Field(None, alias="termsOfService")
    legal_url: str | None = Field(None, alias="legalURL")


class PersonOrUserReported(Model):
    """Reference 1.3, "the suspect" (the subset Safelight fills; see docs)."""

    person: Person | None = Field(None, alias="personOrUserReportedPerson")
    esp_identifier: str | None = Field(None, alias="espIdentifier")
    esp_service: str | None = Field(None, alias="espService")
    screen_name: str | None = Field(None, alias="screenName")
    display_name: list[str] = Field(default_factory=list, alias="displayName")
    profile_url: list[str] = Field(default_factory=list, alias="profileUrl")
    profile_bio: str | None = Field(None, alias="profileBio")
    ip_capture_event: list[IpCaptureEvent] = Field(default_factory=list, alias="ipCaptureEvent")
    device_id: list[DeviceId] = Field(default_factory=list, alias="deviceId")
    prior_ct_reports: list[Annotated[str, Field(pattern=r"^[0-9]+$")]] = Field(
        default_factory=list, alias="priorCTReports"
    )
    group_identifier: str | None = Field(None, alias="groupIdentifier")
    account_temporarily_disabled: bool | None = Field(None, alias="accountTemporarilyDisabled")
    account_permanently_disabled: bool | None = Field(None, alias="accountPermanentlyDisabled")
    estimated_location: EstimatedLocation | None = Field(None, alias="estimatedLocation")
    additional_info: str | None = Field(None, alias="additionalInfo")


class Report(Model):
    """The ``<report>`` document POSTed to /submit (reference 1.3)."""

    incident_summary: IncidentSummary = Field(alias="incidentSummary")
    internet_details: list[InternetDetails] = Field(default_factory=list, alias="internetDetails")
    reporter: Reporter
    person_or_user_reported: PersonOrUserReported | None = Field(None, alias="personOrUserReported")
    additional_info: str | None = Field(None, alias="additionalInfo")


class OriginalFileHash(Model):
    value: Annotated[str, TEXT] = Field(pattern=r"^[0-9A-Fa-f]+$")
    hash_type: Annotated[str, ATTR] = Field(alias="hashType", min_length=1)


class NameValuePair(Model):
    type: Annotated[DetailType, ATTR]
    name: str = Field(min_length=1, max_length=64)
    value: str


class Details(Model):
    name_value_pair: list[NameValuePair] = Field(min_length=1, alias="nameValuePair")


class FileDetails(Model):
    """The ``<fileDetails>`` document POSTed to /fileinfo (reference 1.5).

    ``report_id`` and ``file_id`` are filled in at submission, from /submit and /upload."""

    report_id: int | None = Field(None, alias="reportId")
    file_id: str | None = Field(None, alias="fileId")
    file_name: str | None = Field(None, alias="fileName", max_length=2056)
    original_file_name: str | None = Field(None, alias="originalFileName", max_length=2056)
    uploaded_to_esp_timestamp: PastTime | None = Field(None, alias="uploadedToEspTimestamp")
    location_of_file: str | None = Field(
        None, alias="locationOfFile", max_length=2083, pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*://\S+$"
    )
    file_viewed_by_esp: bool | None = Field(None, alias="fileViewedByEsp")
    exif_viewed_by_esp: bool | None = Field(None, alias="exifViewedByEsp")
    publicly_available: bool | None = Field(None, alias="publiclyAvailable")
    file_relevance: FileRelevance | None = Field(None, alias="fileRelevance")
    file_annotations: Annotated[tuple[str, ...], TAGS, _tags(FILE_ANNOTATIONS)] = Field(
        (), alias="fileAnnotations"
    )
    industry_classification: IndustryClassification | None = Field(
        None, alias="industryClassification"
    )
    original_file_hash: list[OriginalFileHash] = Field(
        default_factory=list, alias="originalFileHash"
    )
    ip_capture_event: IpCaptureEvent | None = Field(None, alias="ipCaptureEvent")
    device_id: list[DeviceId] = Field(default_factory=list, alias="deviceId")
    details: Details | None = None
    additional_info: list[str] = Field(default_factory=list, alias="additionalInfo")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.exif_viewed_by_esp and not self.file_viewed_by_esp:
            raise ValueError("fileViewedByEsp must be true when exifViewedByEsp is true")
        supplemental = self.file_relevance == FileRelevance.SUPPLEMENTAL
        if supplemental and ("potentialMeme" in self.file_annotations):
            raise ValueError("only a Reported file may carry potentialMeme")
        if supplemental and self.industry_classification is not None:
            raise ValueError("only a Reported file may carry an industryClassification")
        return self
