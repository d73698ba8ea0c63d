from safelight import constants


def test_constants_match_their_upstream_sources() -> None:
    # pdq/README.md: match at Hamming <= 31; quality gate 50; 256-bit hashes.
    assert constants.PDQ_MATCH_THRESHOLD == 31
    assert constants.PDQ_MIN_QUALITY == 50
    assert constants.PDQ_HASH_BITS == 4 * constants.PDQ_HEX_LENGTH
    assert constants.DIGEST_HEX_LENGTHS == {"md5": 32, "sha1": 40, "sha256": 64}
