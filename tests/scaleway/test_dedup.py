"""Non-idempotent creates after an ambiguous failure: look first, never duplicate."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable

import httpx
import pytest

from core.scaleway.client import ScalewayClient
from core.scaleway.errors import AlreadyExistsError, PermissionDeniedError, ServerError
from tests.scaleway.conftest import (
    PROJECT,
    SECRET_ID,
    ScriptedApi,
    error,
    ok,
    secret_json,
    version_json,
)

SM = "/secret-manager/v1beta1/regions/fr-par"
SECRETS = f"{SM}/secrets"
VERSIONS = f"{SM}/secrets/{SECRET_ID}/versions"

MakeClient = Callable[..., ScalewayClient]


class FakeSecretManager:
    """Just enough server state to tell "created" from "not created"."""

    def __init__(self) -> None:
        self.secrets: list[dict[str, object]] = []
        self.versions: list[tuple[int, bytes]] = [(1, b"old")]
        self.fail_after_commit = 0  # answer 5xx after storing, this many times
        self.fail_before_commit = 0  # answer 5xx without storing
        self.reset_after_commit = 0  # store, then drop the connection

    def create_secret(self, request: httpx.Request) -> httpx.Response:
        if self.fail_before_commit:
            self.fail_before_commit -= 1
            return error(503)
        body = ScriptedApi.body(request)
        secret = secret_json(
            id=f"id-{len(self.secrets)}", name=body["name"], path=body.get("path", "/")
        )
        self.secrets.append(secret)
        if self.fail_after_commit:
            self.fail_after_commit -= 1
            return error(500, {"message": "internal error", "type": "internal"})
        if self.reset_after_commit:
            self.reset_after_commit -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return ok(secret)

    def list_secrets(self, request: httpx.Request) -> httpx.Response:
        name = request.url.params.get("name")
        path = request.url.params.get("path")
        found = [s for s in self.secrets if s["name"] == name and s["path"] == path]
        return ok({"secrets": found, "total_count": len(found)})

    def create_version(self, request: httpx.Request) -> httpx.Response:
        body = ScriptedApi.body(request)
        data = base64.b64decode(body["data"])
        assert body["data_crc32"] == zlib.crc32(data)
        if self.fail_before_commit:
            self.fail_before_commit -= 1
            return error(502)
        revision = self.versions[-1][0] + 1
        self.versions.append((revision, data))
        if self.fail_after_commit:
            self.fail_after_commit -= 1
            return error(504)
        if self.reset_after_commit:
            self.reset_after_commit -= 1
            raise httpx.ReadTimeout("timed out")
        return ok(version_json(revision))

    def list_versions(self, request: httpx.Request) -> httpx.Response:
        items = [
            version_json(r, latest=(r == self.versions[-1][0])) for r, _ in reversed(self.versions)
        ]
        return ok({"versions": items, "total_count": len(items)})

    def access(self, request: httpx.Request) -> httpx.Response:
        revision = int(request.url.path.split("/")[-2])
        data = dict(self.versions)[revision]
        return ok(
            {
                "secret_id": SECRET_ID,
                "revision": revision,
                "data": base64.b64encode(data).decode(),
                "data_crc32": zlib.crc32(data),
                "type": "opaque",
            }
        )

    def latest(self, request: httpx.Request) -> httpx.Response:
        return ok(version_json(self.versions[-1][0]))

    def install(self, api: ScriptedApi) -> None:
        api.on("POST", SECRETS, self.create_secret)
        api.on("GET", SECRETS, self.list_secrets)
        api.on("POST", VERSIONS, self.create_version)
        api.on("GET", VERSIONS, self.list_versions)
        api.on("GET", f"{VERSIONS}/latest", self.latest)
        api.on("GET", rf"{VERSIONS}/\d+/access", self.access)


@pytest.fixture
def server(api: ScriptedApi) -> FakeSecretManager:
    fake = FakeSecretManager()
    fake.install(api)
    return fake


@pytest.mark.parametrize("failure", ["fail_after_commit", "reset_after_commit"])
async def test_create_secret_after_ambiguous_failure_returns_the_created_one(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager, failure: str
) -> None:
    setattr(server, failure, 1)
    secret = await client.create_secret("fr-par", name="db", path="/app")
    assert len(server.secrets) == 1, "no duplicate"
    assert secret.id == "id-0"
    assert len(api.sent("POST", SECRETS)) == 1
    lookup = api.sent("GET", SECRETS)[0].url.params
    assert lookup["name"] == "db" and lookup["path"] == "/app" and lookup["project_id"] == PROJECT
    assert client.stats.deduplicated == 1


async def test_create_secret_recreates_when_nothing_was_created(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager
) -> None:
    server.fail_before_commit = 2
    secret = await client.create_secret("fr-par", name="db")
    assert len(server.secrets) == 1
    assert secret.name == "db"
    assert len(api.sent("POST", SECRETS)) == 3
    assert len(api.sent("GET", SECRETS)) == 2
    assert client.stats.deduplicated == 0


async def test_create_secret_connect_error_retries_without_lookup(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager
) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused")  # never left this machine
        return server.create_secret(request)

    api.routes.insert(0, ("POST", re.compile(SECRETS + "$"), [flaky]))
    await client.create_secret("fr-par", name="db")
    assert not api.sent("GET", SECRETS)
    assert len(server.secrets) == 1


async def test_create_secret_429_is_retried_without_lookup(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("POST", SECRETS, error(429), ok(secret_json()))
    await client.create_secret("fr-par", name="db")
    assert len(api.sent("POST", SECRETS)) == 2 and not api.sent("GET", SECRETS)


async def test_create_secret_409_after_ambiguity_resolves_by_lookup(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    # The first attempt created it but answered 500; the lookup ran before it became visible;
    # the second attempt gets 409; a second lookup finds it.
    lookups = iter(
        [
            ok({"secrets": [], "total_count": 0}),
            ok({"secrets": [secret_json(name="db")], "total_count": 1}),
        ]
    )
    api.on(
        "POST",
        SECRETS,
        error(500),
        error(409, {"type": "already_exists", "message": "resource already exists"}),
    )
    api.on("GET", SECRETS, lambda request: next(lookups))
    secret = await client.create_secret("fr-par", name="db")
    assert secret.id == SECRET_ID
    assert client.stats.deduplicated == 1


async def test_create_secret_plain_409_is_raised(api: ScriptedApi, client: ScalewayClient) -> None:
    api.on(
        "POST",
        SECRETS,
        error(409, {"type": "already_exists", "message": "resource already exists"}),
    )
    with pytest.raises(AlreadyExistsError):
        await client.create_secret("fr-par", name="db")


async def test_create_secret_lookup_failure_raises_the_original(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("POST", SECRETS, error(500))
    api.on("GET", SECRETS, error(403, {"type": "permissions_denied"}))
    with pytest.raises(ServerError) as err:
        await client.create_secret("fr-par", name="db")
    assert isinstance(err.value.__cause__, PermissionDeniedError)


async def test_create_secret_gives_up_within_budget(
    api: ScriptedApi, make_client: MakeClient, server: FakeSecretManager
) -> None:
    client = make_client(max_retries=2)
    server.fail_before_commit = 100
    with pytest.raises(ServerError):
        await client.create_secret("fr-par", name="db")
    assert len(api.sent("POST", SECRETS)) == 3
    assert server.secrets == []


@pytest.mark.parametrize("failure", ["fail_after_commit", "reset_after_commit"])
async def test_create_version_after_ambiguous_failure_is_not_duplicated(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager, failure: str
) -> None:
    setattr(server, failure, 1)
    version = await client.create_version("fr-par", SECRET_ID, b"new-value")
    assert version.revision == 2
    assert [r for r, _ in server.versions] == [1, 2], "no duplicate version"
    assert len(api.sent("POST", VERSIONS)) == 1
    assert len(api.sent("GET", f"{VERSIONS}/latest")) == 1, "baseline probed once"
    assert client.stats.deduplicated == 1


async def test_create_version_recreates_when_nothing_was_added(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager
) -> None:
    server.fail_before_commit = 1
    version = await client.create_version("fr-par", SECRET_ID, b"new-value")
    assert version.revision == 2
    assert [r for r, _ in server.versions] == [1, 2]
    assert len(api.sent("POST", VERSIONS)) == 2


async def test_create_version_ignores_other_data_and_old_revisions(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager
) -> None:
    # Revision 1 already holds the same bytes (it is older than the call: not ours).
    server.versions = [(1, b"same")]
    server.fail_before_commit = 1
    version = await client.create_version("fr-par", SECRET_ID, b"same")
    assert version.revision == 2
    # Someone else's newer version with other data is not mistaken for ours either.
    server.versions.append((3, b"theirs"))
    server.fail_before_commit = 1
    version = await client.create_version("fr-par", SECRET_ID, b"mine")
    assert version.revision == 4 and dict(server.versions)[4] == b"mine"


async def test_create_version_baseline_from_cache_skips_the_probe(
    api: ScriptedApi, client: ScalewayClient, server: FakeSecretManager
) -> None:
    _ = [v async for v in client.list_versions("fr-par", SECRET_ID)]
    await client.create_version("fr-par", SECRET_ID, b"a")
    await client.create_version("fr-par", SECRET_ID, b"b")
    assert not api.sent("GET", f"{VERSIONS}/latest")


async def test_create_version_after_create_secret_needs_no_probe(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("POST", SECRETS, ok(secret_json(version_count=0)))
    api.on("POST", VERSIONS, ok(version_json(1)))
    secret = await client.create_secret("fr-par", name="db")
    await client.create_version("fr-par", secret.id, b"v")
    assert [r.method for r in api.requests] == ["POST", "POST"]


async def test_create_version_without_baseline_does_not_retry_blindly(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("GET", f"{VERSIONS}/latest", error(403, {"type": "permissions_denied"}))
    api.on("POST", VERSIONS, error(500))
    with pytest.raises(ServerError):
        await client.create_version("fr-par", SECRET_ID, b"v")
    assert len(api.sent("POST", VERSIONS)) == 1


async def test_create_secret_does_not_claim_someone_elses_secret(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    # The answer was lost, and the lookup finds a secret with that name but other metadata:
    # it existed before (a clean attempt would have answered 409), so it is not returned.
    other = secret_json(name="db", tags=["theirs"], type="key_value")
    api.on("POST", SECRETS, error(502))
    api.on("GET", SECRETS, ok({"secrets": [other], "total_count": 1}))
    with pytest.raises(AlreadyExistsError) as taken:
        await client.create_secret("fr-par", name="db", tags=["mine"])
    assert taken.value.status_code == 409 and taken.value.body["resource_id"] == SECRET_ID
    assert client.stats.deduplicated == 0
    assert len(api.sent("POST", SECRETS)) == 1


async def test_create_secret_recognises_its_own_metadata(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    mine = secret_json(
        name="db", tags=["b", "a"], type="key_value", description="d", protected=True
    )
    api.on("POST", SECRETS, error(500))
    api.on("GET", SECRETS, ok({"secrets": [mine], "total_count": 1}))
    found = await client.create_secret(
        "fr-par", name="db", tags=["a", "b"], type="key_value", description="d", protected=True
    )
    assert found.id == SECRET_ID and client.stats.deduplicated == 1


async def test_create_version_never_reads_an_expires_once_candidate(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    expiring = version_json(
        2,
        ephemeral_properties={
            "expires_at": None,
            "expires_once_accessed": True,
            "action": "delete",
        },
    )
    api.on("POST", VERSIONS, error(503))
    api.on("GET", VERSIONS, ok({"versions": [expiring, version_json(1)], "total_count": 2}))
    with pytest.raises(ServerError):
        await client.create_version("fr-par", SECRET_ID, b"v", known_latest_revision=1)
    assert not api.sent("GET", rf"{VERSIONS}/\d+/access"), "reading it would consume it"
    assert len(api.sent("POST", VERSIONS)) == 1, "undecided: no blind second create"


async def test_create_version_unreadable_candidate_is_not_recreated(
    api: ScriptedApi, client: ScalewayClient
) -> None:
    api.on("POST", VERSIONS, error(500))
    api.on(
        "GET", VERSIONS, ok({"versions": [version_json(2, status="disabled")], "total_count": 1})
    )
    api.on(
        "GET",
        rf"{VERSIONS}/2/access",
        error(412, {"precondition": "resource_not_usable", "type": "precondition_failed"}),
    )
    with pytest.raises(ServerError):
        await client.create_version("fr-par", SECRET_ID, b"v", known_latest_revision=1)
    assert len(api.sent("POST", VERSIONS)) == 1
