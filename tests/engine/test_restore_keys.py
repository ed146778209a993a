"""The restore's key choice and quota wording (issue 14), on the engine: which Key Manager key a
created secret gets, the key id's check, a quota refusal's one message; and ``copy`` through
the emulator, the created secret read back with our client."""

from __future__ import annotations

import pytest

from core.emulator import EmulatorApp
from core.engine.copy import run_copy
from core.engine.restore import plan_restore
from core.engine.restore.model import QuotaText, error_text
from core.engine.restore.plan import check_key_id, choose_key
from core.engine.selectors import Selection
from core.errors import UsageError
from core.scaleway.client import ScalewayClient
from core.scaleway.errors import QuotaExceededError
from core.store import Store
from core.store.model import SecretRecord
from tests.engine.helpers import OTHER, SOURCE, TARGET

KEY = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
CHOSEN = "7a2e3d4c-5b6f-4071-9b8c-0d1e2f3a4b5c"


def _record(key_id: str | None) -> SecretRecord:
    return SecretRecord(
        secret_id="11111111-2222-4333-8444-555555555555",
        project_id=SOURCE,
        region="fr-par",
        name="keyed",
        key_id=key_id,
    )


def test_which_key_a_created_secret_gets() -> None:
    keyed, plain = _record(KEY), _record(None)
    assert choose_key(keyed, "fr-par", SOURCE, None) == KEY
    assert choose_key(keyed, "fr-par", SOURCE.upper(), CHOSEN) == KEY  # its own key wins
    assert choose_key(keyed, "nl-ams", SOURCE, None) is None
    assert choose_key(keyed, "fr-par", TARGET, CHOSEN) == CHOSEN
    assert choose_key(plain, "fr-par", SOURCE, CHOSEN) == CHOSEN
    assert choose_key(plain, "fr-par", SOURCE, None) is None


def test_the_key_id_is_checked() -> None:
    assert check_key_id(None) is None
    assert check_key_id(f" {CHOSEN.upper()} ") == CHOSEN
    for bad in ("not-a-key", CHOSEN.replace("-", ""), "{" + CHOSEN + "}"):
        with pytest.raises(UsageError) as caught:
            check_key_id(bad)
        assert bad not in caught.value.message


def test_a_quota_refusal_names_the_quota() -> None:
    body = {
        "type": "quotas_exceeded",
        "details": [{"current": 5, "quota": 5, "resource": "secrets"}],
    }
    text = error_text(QuotaExceededError("raw", status_code=403, body=body), "sid")
    assert isinstance(text, QuotaText) and (text.resource, text.current, text.quota) == (
        "secrets",
        5,
        5,
    )
    assert text == (
        "secret sid: refused by the API: the organization's quota of secrets is reached "
        "(5 of 5); nothing was written for this secret"
    )
    versions = error_text(
        QuotaExceededError(
            "raw",
            body={"details": [{"current": 20, "quota": 20, "resource": "secret_versions"}]},
        ),
        "sid",
    )
    assert "the secret's quota of versions is reached (20 of 20)" in versions
    assert "refused by the API: a quota is reached;" in error_text(QuotaExceededError("x"), "s")


async def test_copy_creates_with_the_chosen_key(
    app: EmulatorApp, client: ScalewayClient, store: Store
) -> None:
    keyed = await client.create_secret("fr-par", name="keyed", project_id=SOURCE, key_id=KEY)
    await client.create_version("fr-par", keyed.id, b"data")
    with pytest.raises(UsageError):
        await run_copy(
            client, store, project_id=SOURCE, region="fr-par", to_project=OTHER, key_id="bad"
        )
    assert await store.list_snapshots() == []  # refused before anything was read or written

    result = await run_copy(
        client,
        store,
        project_id=SOURCE,
        region="fr-par",
        to_project=OTHER,
        selection=Selection.parse(["keyed"]),
        key_id=CHOSEN,
    )
    assert result.status == "ok", [a.error for a in result.restore.actions if a.error]
    created = next(a for a in result.restore.actions if a.record.name == "keyed")
    assert created.key_id == CHOSEN and created.destination_secret_id is not None
    got = await client.get_secret("fr-par", created.destination_secret_id)
    assert got.key_id == CHOSEN

    # the plan of a restore elsewhere without a key: the key cannot follow
    plan = await plan_restore(
        client, store, "latest", to_project=TARGET, selection=Selection.parse(["keyed"])
    )
    action = next(a for a in plan.actions if a.record.name == "keyed")
    assert action.key_id_dropped and action.to_json()["key_id_dropped"] is True
    assert "cannot follow" in action.detail
