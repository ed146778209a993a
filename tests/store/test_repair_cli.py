"""``secret-kloset repair index|packs|snapshots`` through ``cli.main.main``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from core.store import Store
from core.store.crypto import BLOB_DATA
from tests.store.ops.helpers import PASSPHRASE, flip_byte, write_snapshot


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store"
    monkeypatch.setenv("SECRET_KLOSET_STORE", str(path))
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SECRET_KLOSET_KDF", "fast")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return path


def _json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    capsys.readouterr()
    assert main([*argv, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def _damage_a_data_blob(store_path: Path) -> str:
    async def go() -> str:
        store = await Store.open(str(store_path), PASSPHRASE)
        try:
            await write_snapshot(store, secrets=6)
            e = next(e for e in store.index_entries() if e.blob_type == BLOB_DATA)
        finally:
            await store.close()
        flip_byte(store_path / "packs" / e.pack_hex[:2] / e.pack_hex, e.offset + 30)
        return e.pack_hex

    return asyncio.run(go())


def test_repair_commands_end_to_end(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    pack = _damage_a_data_blob(store_path)
    assert _json(capsys, "check", "--read-data", code=1)["ok"] is False

    dry = _json(capsys, "repair", "packs", "--dry-run")
    assert dry["dry_run"] is True and dry["packs_damaged"] == [pack]
    done = _json(capsys, "repair", "packs")
    assert done["packs_removed"] == [pack] and len(done["blobs_lost"]) == 1

    snaps = _json(capsys, "repair", "snapshots", "--forget")
    assert len(snaps["repaired"]) == 1 and snaps["repaired"][0]["versions_lost"] == 1
    assert snaps["forgotten"] == [snaps["repaired"][0]["snapshot_id"]]

    index = _json(capsys, "repair", "index")
    assert index["packs_unreadable"] == []
    assert _json(capsys, "check", "--read-data")["ok"] is True

    capsys.readouterr()
    assert main(["repair", "snapshots"]) == 0
    assert "no snapshot references a missing or unreadable blob" in capsys.readouterr().out
