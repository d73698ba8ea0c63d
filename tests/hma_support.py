"""An HMA client for the tests: the service's HMA routes with one bearer token, as an
existing HMA integration sees them after changing its base URL and adding the header.

Expected bodies in the HMA tests come from shared/reference/hma-api.md (its examples and
texts), never from Safelight's own answers.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from safelight.service.roles import Role
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token

# The reference's example hashes (hma-api.md 3-5): the PDQ of bridge-mods/aaa-orig.jpg and
# an MD5.
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5_A = "749476eb0cd128289f0dec3e062da83c"


def flip_bits(hex_value: str, count: int) -> str:
    """``hex_value`` with its lowest ``count`` bits flipped: Hamming distance ``count``."""
    return f"{int(hex_value, 16) ^ ((1 << count) - 1):064x}"


PDQ_B = flip_bits(PDQ_A, 200)  # far from PDQ_A: matches neither A nor its neighbours


def hma_client(db: Database, tmp_path: Path, role: Role = Role.ADMIN, **kw: object) -> TestClient:
    app = make_app(db, home=tmp_path / "home")
    token = make_token(db, f"hma-{role.value}", role, **kw)  # type: ignore[arg-type]
    return TestClient(app, base_url=BASE, headers=bearer(token))


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).convert("RGB").save(out, "PNG")
    return out.getvalue()


def flat_png() -> bytes:
    """A one-colour image: PDQ quality 0, below HMA's cut-off of 50."""
    return png(np.full((64, 64), 128))


def textured_png(seed: int = 1) -> bytes:
    """A benign noise image (high PDQ quality)."""
    return png(np.random.default_rng(seed).integers(0, 256, size=(96, 96)))


def new_bank(client: TestClient, name: str, **body: object) -> None:
    response = client.post("/c/banks", json={"name": name, **body})
    assert response.status_code == 201, response.text
