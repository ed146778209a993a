"""The official SDK reads the whole demo world: every object parses (strict enums included),
every enabled version's data matches its CRC, and the demo keys behave as documented."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from scaleway import Client
from scaleway.account.v3 import AccountV3ProjectAPI
from scaleway.secret.v1beta1 import SecretV1Beta1API, SecretVersionStatus
from scaleway_core.api import ScalewayException

from core.emulator import EmulatorApp, ThreadedServer, demo_state
from core.emulator import demo as d


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    with ThreadedServer(EmulatorApp(demo_state())) as server:
        yield server.url


def _client(url: str, access: str, secret: str, project: str | None = None) -> Any:
    return Client(
        access_key=access,
        secret_key=secret,
        api_url=url,
        default_organization_id=d.DEMO_ORGANIZATION_ID,
        default_project_id=project,
        default_region="fr-par",
    )


def test_sdk_reads_every_demo_secret(demo_url: str) -> None:
    client = _client(demo_url, d.DEMO_ACCESS_KEY, d.DEMO_SECRET_KEY)
    api = SecretV1Beta1API(client)
    projects = AccountV3ProjectAPI(client).list_projects_all()
    assert {p.name: p.id for p in projects} == d.DEMO_PROJECTS
    total = 0
    accessed = 0
    for region in ("fr-par", "nl-ams", "pl-waw"):
        for scheduled in (False, True):
            secrets = api.list_secrets_all(
                region=region, scheduled_for_deletion=scheduled, page_size=7
            )
            total += len(secrets)
            for s in secrets:
                versions = api.list_secret_versions_all(secret_id=s.id, region=region)
                assert len(versions) == s.version_count
                assert [v.revision for v in versions] == sorted(
                    (v.revision for v in versions), reverse=True
                )
                if scheduled:
                    continue
                for v in versions:
                    if v.status != SecretVersionStatus.ENABLED:
                        continue
                    got = api.access_secret_version(
                        secret_id=s.id, revision=str(v.revision), region=region
                    )
                    data = base64.b64decode(got.data)
                    assert got.data_crc32 in (0, zlib.crc32(data))
                    assert got.type_ == s.type_
                    accessed += 1
    assert total == sum(1 for _ in demo_state().iter_secrets())
    assert accessed > 50


def test_demo_readonly_and_staging_keys(demo_url: str) -> None:
    ro = SecretV1Beta1API(
        _client(
            demo_url,
            d.DEMO_READONLY_ACCESS_KEY,
            d.DEMO_READONLY_SECRET_KEY,
            d.DEMO_PRODUCTION_PROJECT_ID,
        )
    )
    first = ro.list_secrets(scheduled_for_deletion=False).secrets[0]
    with pytest.raises(ScalewayException) as denied:
        ro.access_secret_version(secret_id=first.id, revision="latest_enabled")
    assert denied.value.status_code == 403

    staging = SecretV1Beta1API(
        _client(
            demo_url,
            d.DEMO_STAGING_ACCESS_KEY,
            d.DEMO_STAGING_SECRET_KEY,
            d.DEMO_STAGING_PROJECT_ID,
        )
    )
    mine = staging.list_secrets_all(scheduled_for_deletion=False)
    assert mine and all(s.project_id == d.DEMO_STAGING_PROJECT_ID for s in mine)
    with pytest.raises(ScalewayException) as other:
        staging.get_secret(secret_id=first.id)
    assert other.value.status_code == 403
