"""HMA 2.0 (1.1.7) compatibility over Safelight's lists: the library behind the /h, /m and
/c routes (``safelight.service.routes.hma_*``). See docs/hma.md.

* ``signals``: HMA's names for the registry's signal types, validation with HMA's reasons,
  hashing an upload the way HMA does.
* ``banks``: banks (lists) with their ``matching_enabled_ratio``, content items (entries).
* ``lookup``: the seam to the lookup engine, with a Matcher fallback.
"""

from safelight.hma.banks import Bank, ContentItem, HmaBanks
from safelight.hma.signals import HmaError, HmaSignalType, hma_type, hma_types

__all__ = [
    "Bank",
    "ContentItem",
    "HmaBanks",
    "HmaError",
    "HmaSignalType",
    "hma_type",
    "hma_types",
]
