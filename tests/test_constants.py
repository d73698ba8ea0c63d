import hashlib

from safelight import constants
from safelight.signals.types import registry


def test_constants_match_their_upstream_sources() -> None:
    # pdq/README.md: match at Hamming <= 31; quality gate 50; 256-bit hashes.
    assert constants.PDQ_MATCH_THRESHOLD == 31
    assert constants.PDQ_MIN_QUALITY == 50
    assert constants.PDQ_HASH_BITS == 4 * constants.PDQ_HEX_LENGTH
    # RFC 1321 and FIPS 180-4: the registry's digest widths are hashlib's.
    for name in ("md5", "sha1", "sha256"):
        assert registry.get(name).hex_length == 2 * hashlib.new(name).digest_size
