"""Deterministic demo data: one organization, four projects, about fifty realistic secrets.

Every id, timestamp and payload is fixed, so screenshots, docs and tests see the same world
on every run. The secrets cover every type with valid typed payloads, several versions
(some disabled, one scheduled for deletion), nested paths, tags, one protected secret, one
ephemeral secret and one secret scheduled for deletion (the demo's grace period is a
century, so it is never purged; ephemeral versions never expire before they are used).

Keys:

* ``DEMO_ACCESS_KEY`` / ``DEMO_SECRET_KEY``: SecretManagerFullAccess + ProjectReadOnly, org-wide.
* ``DEMO_READONLY_ACCESS_KEY`` / ``DEMO_READONLY_SECRET_KEY``: SecretManagerReadOnly only
  (metadata, no data: access answers 403; project listing answers 403).
* ``DEMO_STAGING_ACCESS_KEY`` / ``DEMO_STAGING_SECRET_KEY``: SecretManagerFullAccess scoped to
  the staging project (other projects and project listing answer 403).
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.emulator import demo_material as pem
from core.emulator.state import (
    ApiKey,
    EmulatorState,
    ProjectState,
    SecretState,
    Settings,
    VersionState,
)
from core.scaleway.models import (
    EphemeralPolicy,
    EphemeralProperties,
    SecretType,
    VersionStatus,
    parse_duration,
)
from core.scaleway.permissions import PermissionSet


def demo_uuid(label: str) -> str:
    """A fixed, v4-shaped UUID derived from ``label``."""
    digest = hashlib.sha256(f"secret-kloset-demo:{label}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


DEMO_ORGANIZATION_ID = "6f3a2d1c-8b4e-4c7a-9d2f-1e5b7a9c3d40"
DEMO_DEFAULT_PROJECT_ID = DEMO_ORGANIZATION_ID  # the default project's id is the org id
DEMO_PRODUCTION_PROJECT_ID = "a1b2c3d4-1111-4a5b-8c6d-0e1f2a3b4c5d"
DEMO_STAGING_PROJECT_ID = "b2c3d4e5-2222-4b6c-9d7e-1f2a3b4c5d6e"
DEMO_DATA_PROJECT_ID = "c3d4e5f6-3333-4c7d-8e8f-2a3b4c5d6e7f"

DEMO_PROJECTS: dict[str, str] = {
    "default": DEMO_DEFAULT_PROJECT_ID,
    "production": DEMO_PRODUCTION_PROJECT_ID,
    "staging": DEMO_STAGING_PROJECT_ID,
    "data-platform": DEMO_DATA_PROJECT_ID,
}
"""Project name -> id."""

DEMO_ACCESS_KEY = "SCWDEMOKLOSET0000001"
DEMO_SECRET_KEY = "3c1e9a52-7d4b-4f6e-a8c2-5b9d0e1f2a3b"
DEMO_READONLY_ACCESS_KEY = "SCWDEMOKLOSETREAD001"
DEMO_READONLY_SECRET_KEY = "4d2f0b63-8e5c-4a7f-b9d3-6c0e1f2a3b4c"
DEMO_STAGING_ACCESS_KEY = "SCWDEMOKLOSETSTAGE01"
DEMO_STAGING_SECRET_KEY = "5e3a1c74-9f6d-4b8a-8ae4-7d1f2a3b4c5d"

DEMO_REGION = "fr-par"
DEMO_DELETION_GRACE_DAYS = 36500
"""The demo keeps scheduled-for-deletion secrets (Scaleway purges after 7 days)."""
_EPOCH = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)


def _at(day: float, index: int = 0) -> datetime:
    """A fixed instant ``day`` days after the demo epoch, with distinct microseconds."""
    return _EPOCH + timedelta(days=day, microseconds=(index * 7919) % 1_000_000)


def _j(obj: dict[str, str]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _db(engine: str, user: str, password: str, host: str, db: str, port: str) -> str:
    return _j(
        {
            "engine": engine,
            "username": user,
            "password": password,
            "host": host,
            "dbname": db,
            "port": port,
        }
    )


def _basic(user: str, password: str) -> str:
    return _j({"username": user, "password": password})


@dataclass
class _V:
    data: str
    status: str = VersionStatus.ENABLED
    description: str = ""


@dataclass
class _S:
    project: str
    region: str
    path: str
    name: str
    type: str
    versions: list[_V]
    tags: tuple[str, ...] = ()
    description: str = ""
    protected: bool = False
    ephemeral: EphemeralPolicy | None = None
    scheduled_for_deletion: bool = False
    crc: bool = True
    created: datetime | None = None


_P, _S_, _D, _DEF = "production", "staging", "data-platform", "default"
_OPAQUE = str(SecretType.OPAQUE)
_CERT = str(SecretType.CERTIFICATE)
_KV = str(SecretType.KEY_VALUE)
_BASIC = str(SecretType.BASIC_CREDENTIALS)
_DBC = str(SecretType.DATABASE_CREDENTIALS)
_SSH = str(SecretType.SSH_KEY)
_OFF = str(VersionStatus.DISABLED)

_SECRETS: list[_S] = [
    # ----------------------------------------------------------------- production, fr-par
    _S(
        _P,
        "fr-par",
        "/prod/db",
        "postgres-main",
        _DBC,
        [
            _V(
                _db("postgres", "app", "Wq8#rT2!vLp9zXc4", "10.12.0.5", "shop", "5432"),
                _OFF,
                "initial",
            ),
            _V(
                _db("postgres", "app", "N7u$kE3@qHs6yBm1", "10.12.0.5", "shop", "5432"),
                _OFF,
                "rotated 2026-02",
            ),
            _V(
                _db("postgres", "app", "Fz4&gJ8*wPd2rLx7", "pg-main.prod.internal", "shop", "5432"),
                description="rotated 2026-04, new host",
            ),
        ],
        ("prod", "database", "pci"),
        "Main PostgreSQL credentials for the shop",
        protected=True,
    ),
    _S(
        _P,
        "fr-par",
        "/prod/db",
        "postgres-replica",
        _DBC,
        [
            _V(
                _db(
                    "postgres",
                    "readonly",
                    "Hq2^mN5!tVc8xZb3",
                    "pg-replica.prod.internal",
                    "shop",
                    "5433",
                )
            ),
        ],
        ("prod", "database"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/db",
        "redis-cache",
        _BASIC,
        [
            _V(_basic("default", "r3d1s-Ca4he-Pr0d-2026")),
            _V(_basic("default", "r3d1s-Ca4he-Pr0d-2026-b")),
        ],
        ("prod", "cache"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/db",
        "mysql-legacy",
        _DBC,
        [
            _V(
                _db(
                    "mysql",
                    "legacy",
                    "L3gacy!Mysql#57",
                    "mysql-legacy.prod.internal",
                    "erp",
                    "3306",
                )
            ),
        ],
        ("prod", "database", "legacy"),
        "ERP database, to be decommissioned",
    ),
    _S(
        _P,
        "fr-par",
        "/prod/api",
        "stripe",
        _KV,
        [
            _V(
                _j(
                    {
                        "publishable_key": "pk_live_51Demo0Kloset0000Pub",
                        "secret_key": "sk_live_51Demo0Kloset0000Sec",
                    }
                ),
                _OFF,
            ),
            _V(
                _j(
                    {
                        "publishable_key": "pk_live_51Demo0Kloset0001Pub",
                        "secret_key": "sk_live_51Demo0Kloset0001Sec",
                        "webhook_secret": "whsec_Demo0Kloset0001",
                    }
                )
            ),
        ],
        ("prod", "payments", "pci"),
        "Stripe live keys",
    ),
    _S(
        _P,
        "fr-par",
        "/prod/api/stripe",
        "webhook-signing",
        _OPAQUE,
        [
            _V("whsec_1Demo2Kloset3Webhook4Signing5"),
        ],
        ("prod", "payments"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/api",
        "sendgrid",
        _OPAQUE,
        [
            _V("SG.demoKloset_0001.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
            _V("SG.demoKloset_0002.ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"),
        ],
        ("prod", "email"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/api",
        "github-app",
        _KV,
        [
            _V(
                _j(
                    {
                        "app_id": "348812",
                        "installation_id": "41277301",
                        "client_id": "Iv1.8a61f9b3a7aba766",
                        "client_secret": "0123456789abcdef0123456789abcdef01234567",
                    }
                )
            ),
        ],
        ("prod", "ci"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/api",
        "openai",
        _OPAQUE,
        [
            _V("sk-proj-DemoKloset00000000000000000000000000000001", _OFF, "revoked"),
            _V("sk-proj-DemoKloset00000000000000000000000000000002"),
        ],
        ("prod", "ai"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/tls",
        "api-example-com",
        _CERT,
        [
            _V(pem.API_CERT_PEM, description="leaf only"),
            _V(pem.API_CHAIN_PEM, description="leaf + internal CA chain"),
        ],
        ("prod", "tls"),
        "TLS chain for api.example.com",
    ),
    _S(
        _P,
        "fr-par",
        "/prod/tls",
        "internal-ca",
        _CERT,
        [
            _V(pem.CA_CERT_PEM),
        ],
        ("prod", "tls", "pki"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/tls",
        "payments-mtls",
        _CERT,
        [
            _V(pem.MTLS_CERT_PEM + pem.MTLS_KEY_PEM),
        ],
        ("prod", "tls", "payments"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/ssh",
        "deploy-key",
        _SSH,
        [
            _V(_j({"ssh_private_key": pem.DEPLOY_SSH_PRIVATE_KEY})),
        ],
        ("prod", "ssh", "deploy"),
        "Deploy key of the release pipeline",
    ),
    _S(
        _P,
        "fr-par",
        "/prod/app",
        "django-secret-key",
        _OPAQUE,
        [
            _V("django-insecure-0f#k!demo-kloset-prod-3v9^x2m@q8b1z"),
        ],
        ("prod",),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/app",
        "feature-flags",
        _KV,
        [
            _V(_j({"new_checkout": "false", "dark_mode": "true"}), _OFF),
            _V(_j({"new_checkout": "true", "dark_mode": "true"}), _OFF),
            _V(_j({"new_checkout": "true", "dark_mode": "true", "ai_search": "beta"})),
        ],
        ("prod", "config"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/app",
        "jwt-signing",
        _OPAQUE,
        [
            _V("eyJhbGciOiJIUzI1NiJ9-demo-kloset-signing-secret-v1", _OFF),
            _V("eyJhbGciOiJIUzI1NiJ9-demo-kloset-signing-secret-v2", _OFF),
            _V("eyJhbGciOiJIUzI1NiJ9-demo-kloset-signing-secret-v3"),
            _V("eyJhbGciOiJIUzI1NiJ9-demo-kloset-signing-secret-v4"),
        ],
        ("prod", "auth"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/monitoring",
        "grafana-admin",
        _BASIC,
        [
            _V(_basic("admin", "Gr4fana!Adm1n#2026")),
        ],
        ("prod", "monitoring"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/monitoring",
        "pagerduty",
        _OPAQUE,
        [
            _V("u+DemoKlosetPagerDutyIntegrationKey01"),
        ],
        ("prod", "monitoring", "oncall"),
    ),
    _S(
        _P,
        "fr-par",
        "/",
        "scaleway-object-storage",
        _KV,
        [
            _V(
                _j(
                    {
                        "access_key": "SCWDEMOOBJECTSTORAGE",
                        "secret_key": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                        "bucket": "shop-assets-prod",
                        "endpoint": "https://s3.fr-par.scw.cloud",
                    }
                )
            ),
        ],
        ("prod", "storage"),
    ),
    _S(
        _P,
        "fr-par",
        "/prod/legacy",
        "old-ftp",
        _BASIC,
        [
            _V(_basic("ftpuser", "Ftp!Old#Pass1")),
        ],
        ("legacy",),
        "Old FTP drop, scheduled for removal",
        scheduled_for_deletion=True,
    ),
    _S(
        _P,
        "fr-par",
        "/prod/app",
        "one-time-bootstrap-token",
        _OPAQUE,
        [
            _V("bootstrap-7f3e9a1c-demo-kloset-once"),
        ],
        ("prod", "bootstrap"),
        "Consumed once by the first node",
        ephemeral=EphemeralPolicy(
            time_to_live="31536000s", expires_once_accessed=True, action="delete"
        ),
    ),
    # ----------------------------------------------------------------- production, nl-ams
    _S(
        _P,
        "nl-ams",
        "/prod/db",
        "postgres-main",
        _DBC,
        [
            _V(
                _db(
                    "postgres",
                    "app",
                    "Am5!dR8#kLq2wZx6",
                    "pg-main.ams.prod.internal",
                    "shop",
                    "5432",
                )
            ),
        ],
        ("prod", "database", "dr"),
        "Disaster-recovery replica in Amsterdam",
    ),
    _S(
        _P,
        "nl-ams",
        "/prod/api",
        "stripe",
        _KV,
        [
            _V(
                _j(
                    {
                        "publishable_key": "pk_live_51Demo0Kloset0001Pub",
                        "secret_key": "sk_live_51Demo0Kloset0001Sec",
                    }
                )
            ),
        ],
        ("prod", "payments", "dr"),
    ),
    _S(
        _P,
        "nl-ams",
        "/prod/tls",
        "api-example-com",
        _CERT,
        [
            _V(pem.API_CHAIN_PEM),
        ],
        ("prod", "tls", "dr"),
    ),
    _S(
        _P,
        "nl-ams",
        "/prod/ssh",
        "bastion",
        _SSH,
        [
            _V(_j({"ssh_private_key": pem.BACKUP_SSH_PRIVATE_KEY}), _OFF, "old bastion"),
            _V(_j({"ssh_private_key": pem.DEPLOY_SSH_PRIVATE_KEY}), description="new bastion"),
        ],
        ("prod", "ssh"),
    ),
    # ----------------------------------------------------------------- staging, fr-par
    _S(
        _S_,
        "fr-par",
        "/staging/db",
        "postgres-main",
        _DBC,
        [
            _V(
                _db("postgres", "app", "st4ging-pg-pass-1", "pg.staging.internal", "shop", "5432"),
                _OFF,
            ),
            _V(_db("postgres", "app", "st4ging-pg-pass-2", "pg.staging.internal", "shop", "5432")),
        ],
        ("staging", "database"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/db",
        "redis",
        _BASIC,
        [
            _V(_basic("default", "redis-staging-2026")),
        ],
        ("staging", "cache"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/api",
        "stripe",
        _KV,
        [
            _V(
                _j(
                    {
                        "publishable_key": "pk_test_51Demo0Kloset0000Pub",
                        "secret_key": "sk_test_51Demo0Kloset0000Sec",
                    }
                )
            ),
        ],
        ("staging", "payments"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/api",
        "sendgrid",
        _OPAQUE,
        [
            _V("SG.demoKloset_staging.AbCdEfGhIjKlMnOpQrStUvWxYz"),
        ],
        ("staging", "email"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/api",
        "mapbox",
        _OPAQUE,
        [
            _V("pk.eyJ1IjoiZGVtby1rbG9zZXQiLCJhIjoic3RhZ2luZyJ9.demo"),
        ],
        ("staging",),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/tls",
        "staging-example-com",
        _CERT,
        [
            _V(pem.API_CERT_PEM),
        ],
        ("staging", "tls"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/ssh",
        "ci-runner",
        _SSH,
        [
            _V(_j({"ssh_private_key": pem.BACKUP_SSH_PRIVATE_KEY})),
        ],
        ("staging", "ssh", "ci"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/app",
        "django-secret-key",
        _OPAQUE,
        [
            _V("django-insecure-staging-demo-kloset-1"),
            _V("django-insecure-staging-demo-kloset-2"),
        ],
        ("staging",),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/app",
        "feature-flags",
        _KV,
        [
            _V(_j({"new_checkout": "true", "dark_mode": "true", "ai_search": "true"})),
        ],
        ("staging", "config"),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging",
        "preview-env-token",
        _OPAQUE,
        [
            _V("preview-token-demo-kloset-0001"),
        ],
        ("staging", "preview"),
        "Short-lived token for preview environments",
        ephemeral=EphemeralPolicy(
            time_to_live="31536000s", expires_once_accessed=False, action="disable"
        ),
    ),
    _S(
        _S_,
        "fr-par",
        "/staging/monitoring",
        "grafana-admin",
        _BASIC,
        [
            _V(_basic("admin", "staging-grafana")),
        ],
        ("staging", "monitoring"),
    ),
    # ----------------------------------------------------------------- data-platform, pl-waw
    _S(
        _D,
        "pl-waw",
        "/data/warehouse",
        "clickhouse",
        _DBC,
        [
            _V(
                _db(
                    "other",
                    "etl",
                    "Cl1ckH0use!Etl",
                    "clickhouse.data.internal",
                    "analytics",
                    "8443",
                )
            ),
        ],
        ("data", "warehouse"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/warehouse",
        "postgres-analytics",
        _DBC,
        [
            _V(
                _db(
                    "postgres",
                    "analyst",
                    "An4lyst!Pg#1",
                    "pg-analytics.data.internal",
                    "analytics",
                    "5432",
                ),
                _OFF,
            ),
            _V(
                _db(
                    "postgres",
                    "analyst",
                    "An4lyst!Pg#2",
                    "pg-analytics.data.internal",
                    "analytics",
                    "5432",
                )
            ),
        ],
        ("data", "warehouse", "database"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/etl",
        "airflow-fernet",
        _OPAQUE,
        [
            _V("Zm9vYmFyYmF6cXV4ZGVtb2tsb3NldGZlcm5ldGtleTA9"),
        ],
        ("data", "airflow"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/etl",
        "airflow-admin",
        _BASIC,
        [
            _V(_basic("airflow", "Airfl0w!Admin")),
        ],
        ("data", "airflow"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/etl",
        "s3-raw-zone",
        _KV,
        [
            _V(
                _j(
                    {
                        "access_key": "SCWDEMORAWZONE000001",
                        "secret_key": "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e",
                        "bucket": "raw-zone",
                    }
                )
            ),
        ],
        ("data", "storage"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/etl/connectors",
        "salesforce",
        _KV,
        [
            _V(
                _j(
                    {
                        "client_id": "3MVG9demoKloset",
                        "client_secret": "DEMO0KLOSET0SALESFORCE",
                        "username": "etl@example.com",
                    }
                )
            ),
        ],
        ("data", "crm"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/etl/connectors",
        "hubspot",
        _OPAQUE,
        [
            _V("pat-eu1-demo-kloset-0000-0000-000000000001"),
        ],
        ("data", "crm"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/ml",
        "huggingface",
        _OPAQUE,
        [
            _V("hf_DemoKlosetToken000000000000000001"),
        ],
        ("data", "ai"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/ml",
        "wandb",
        _OPAQUE,
        [
            _V("demo0kloset0wandb0api0key0000000000000001"),
        ],
        ("data", "ai"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/ssh",
        "jupyter-gateway",
        _SSH,
        [
            _V(_j({"ssh_private_key": pem.DEPLOY_SSH_PRIVATE_KEY})),
        ],
        ("data", "ssh"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/tls",
        "kafka-client",
        _CERT,
        [
            _V(pem.MTLS_CERT_PEM + pem.CA_CERT_PEM),
        ],
        ("data", "tls", "kafka"),
    ),
    _S(
        _D,
        "pl-waw",
        "/data/kafka",
        "sasl",
        _BASIC,
        [
            _V(_basic("etl-producer", "K4fka!Sasl#1"), _OFF),
            _V(_basic("etl-producer", "K4fka!Sasl#2")),
        ],
        ("data", "kafka"),
    ),
    # ----------------------------------------------------------------- default project, fr-par
    _S(
        _DEF,
        "fr-par",
        "/",
        "scw-cli-token",
        _OPAQUE,
        [
            _V("scw-demo-kloset-cli-token"),
        ],
        ("tooling",),
        crc=False,
    ),
    _S(
        _DEF,
        "fr-par",
        "/",
        "terraform-state-key",
        _OPAQUE,
        [
            _V("tfstate-demo-kloset-encryption-key-32bytes!"),
        ],
        ("tooling", "terraform"),
    ),
    _S(
        _DEF,
        "fr-par",
        "/shared",
        "slack-webhook",
        _OPAQUE,
        [
            _V("https://hooks.slack.com/services/T000DEMO/B000KLOSET/xxxxxxxxxxxxxxxxxxxxxxxx"),
        ],
        ("tooling", "notifications"),
    ),
    _S(
        _DEF,
        "fr-par",
        "/shared",
        "registry-credentials",
        _BASIC,
        [
            _V(_basic("nologin", "demo-kloset-registry-token")),
        ],
        ("tooling", "containers"),
    ),
    _S(
        _DEF,
        "fr-par",
        "/shared",
        "dotenv",
        _KV,
        [
            _V(_j({"LOG_LEVEL": "info", "TZ": "Europe/Paris"})),
        ],
        (),
    ),
]


def _demo_expiry(created: datetime, ttl_seconds: float) -> datetime:
    """When a demo version expires: its fixed date while that is still ahead, else one TTL
    from now, so the demo world never decays (its versions would expire in early 2027)."""
    fixed = created + timedelta(seconds=ttl_seconds)
    now = datetime.now(UTC)
    return fixed if fixed > now else now.replace(microsecond=0) + timedelta(seconds=ttl_seconds)


def _build_secret(index: int, spec: _S) -> SecretState:
    created = spec.created or _at(index * 1.5, index)
    project_id = DEMO_PROJECTS[spec.project]
    secret = SecretState(
        id=demo_uuid(f"secret:{spec.region}:{spec.project}:{spec.path}:{spec.name}"),
        project_id=project_id,
        region=spec.region,
        name=spec.name,
        path=spec.path,
        type=spec.type,
        tags=list(spec.tags),
        description=spec.description,
        protected=spec.protected,
        ephemeral_policy=spec.ephemeral,
        created_at=created,
        updated_at=created,
    )
    for n, v in enumerate(spec.versions):
        when = created + timedelta(days=20 * n, seconds=37 * n, microseconds=n * 311)
        data = v.data.encode("utf-8")
        props = None
        if spec.ephemeral is not None:
            ttl = spec.ephemeral.time_to_live
            expires = _demo_expiry(when, parse_duration(ttl)) if ttl else None
            props = EphemeralProperties(
                expires_at=expires,
                expires_once_accessed=spec.ephemeral.expires_once_accessed,
                action=spec.ephemeral.action,
            )
        disabled_at = when + timedelta(days=20) if v.status == _OFF else when
        secret.versions.append(
            VersionState(
                revision=n + 1,
                data=data,
                status=v.status,
                data_crc32=zlib.crc32(data) if spec.crc else None,
                description=v.description,
                created_at=when,
                updated_at=min(disabled_at, created + timedelta(days=300)),
                ephemeral_properties=props,
            )
        )
    secret.next_revision = len(spec.versions) + 1
    if spec.scheduled_for_deletion:
        deleted = datetime(2026, 11, 27, 16, 45, 12, 481516, tzinfo=UTC)
        secret.deletion_requested_at = deleted
        secret.updated_at = deleted
    return secret


def demo_api_keys() -> list[ApiKey]:
    return [
        ApiKey(
            access_key=DEMO_ACCESS_KEY,
            secret_key=DEMO_SECRET_KEY,
            permission_sets=frozenset(
                {str(PermissionSet.SECRET_FULL_ACCESS), str(PermissionSet.PROJECT_READ_ONLY)}
            ),
            description="demo: full access to Secret Manager, can list projects",
        ),
        ApiKey(
            access_key=DEMO_READONLY_ACCESS_KEY,
            secret_key=DEMO_READONLY_SECRET_KEY,
            permission_sets=frozenset({str(PermissionSet.SECRET_READ_ONLY)}),
            description="demo: Secret Manager metadata only",
        ),
        ApiKey(
            access_key=DEMO_STAGING_ACCESS_KEY,
            secret_key=DEMO_STAGING_SECRET_KEY,
            permission_sets=frozenset({str(PermissionSet.SECRET_FULL_ACCESS)}),
            projects=(DEMO_STAGING_PROJECT_ID,),
            description="demo: full Secret Manager access to the staging project only",
        ),
    ]


def demo_state() -> EmulatorState:
    """A fresh copy of the demo world (mutating it never affects the next call)."""
    projects = [
        ProjectState(
            id=DEMO_DEFAULT_PROJECT_ID,
            name="default",
            description="",
            created_at=_at(-30, 1),
            updated_at=_at(-30, 1),
        ),
        ProjectState(
            id=DEMO_PRODUCTION_PROJECT_ID,
            name="production",
            description="Customer-facing shop",
            created_at=_at(-20, 2),
            updated_at=_at(-2, 2),
        ),
        ProjectState(
            id=DEMO_STAGING_PROJECT_ID,
            name="staging",
            description="Pre-production",
            created_at=_at(-19, 3),
            updated_at=_at(-19, 3),
        ),
        ProjectState(
            id=DEMO_DATA_PROJECT_ID,
            name="data-platform",
            description="Analytics and ML pipelines",
            created_at=_at(-10, 4),
            updated_at=_at(-10, 4),
        ),
    ]
    secrets = [_build_secret(i, spec) for i, spec in enumerate(_SECRETS)]
    return EmulatorState(
        DEMO_ORGANIZATION_ID,
        projects=projects,
        api_keys=demo_api_keys(),
        secrets=secrets,
        # The seeded scheduled-for-deletion secret must not be purged as the years go by.
        settings=Settings(deletion_grace_days=DEMO_DELETION_GRACE_DAYS),
    )
