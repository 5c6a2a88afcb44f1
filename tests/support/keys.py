"""A test GitHub App identity: an RSA key pair (generated once per session) and an App id."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class AppKeys:
    """``private_pem``/``public_pem`` are PEM text; ``private_key_path`` holds the
    private key (what ``SCENARIOFORGE_PRIVATE_KEY_PATH`` points at)."""

    app_id: int
    private_pem: str
    public_pem: str
    private_key_path: Path


@pytest.fixture(scope="session")
def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # GitHub's own format ("BEGIN RSA PRIVATE KEY")
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


@pytest.fixture
def app_keys(_rsa_pair, tmp_path) -> AppKeys:
    """The test App (id 4242) with its private key written to ``tmp_path/app.pem`` (mode 600)."""
    private_pem, public_pem = _rsa_pair
    path = tmp_path / "app.pem"
    path.write_text(private_pem, encoding="utf-8")
    path.chmod(0o600)
    return AppKeys(app_id=4242, private_pem=private_pem, public_pem=public_pem, private_key_path=path)
