"""The hotline workspace: public reports of URLs, in nine languages (docs/hotline.md).

``reports`` holds the intake rules, ``urls`` validates and normalises reported URLs,
``references`` makes and reads report references, ``i18n`` the gettext catalogs.
"""

from safelight.hotline.model import ItemStatus, ReportStatus, SiteType
from safelight.hotline.reports import ReportStore

__all__ = ["ItemStatus", "ReportStatus", "ReportStore", "SiteType"]
