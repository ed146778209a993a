"""The demo's fixed key material (generated once; demo-only, never used for real).

It lives in the ``[material]`` table of ``demo.toml``, where the demo's payloads reference it;
these names are kept for the tests that compare payloads with it.
"""

from __future__ import annotations

from core.emulator.demo import demo_document


def _material(name: str) -> str:
    value = demo_document()["material"][name]
    assert isinstance(value, str)
    return value


API_CERT_PEM = _material("api_cert_pem")
API_KEY_PEM = _material("api_key_pem")
CA_CERT_PEM = _material("ca_cert_pem")
API_CHAIN_PEM = API_CERT_PEM + CA_CERT_PEM
MTLS_CERT_PEM = _material("mtls_cert_pem")
MTLS_KEY_PEM = _material("mtls_key_pem")
DEPLOY_SSH_PRIVATE_KEY = _material("deploy_ssh_private_key")
DEPLOY_SSH_PUBLIC_KEY = _material("deploy_ssh_public_key")
BACKUP_SSH_PRIVATE_KEY = _material("backup_ssh_private_key")
BACKUP_SSH_PUBLIC_KEY = _material("backup_ssh_public_key")
