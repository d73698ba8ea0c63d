"""Signals: the hashes every other part matches on (PDQ, vPDQ, MD5, SHA-1, SHA-256)."""
