"""Issue 9: a damaged key slot is reported as damaged (its checksum is checked before the
KDF), not as a wrong passphrase; a damaged config gets a hint that works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ExitCode
from core.store import envelope
from core.store.errors import CorruptStoreError, KeySlotDamagedError, WrongPassphraseError
from tests.store.ops.helpers import flip_byte, new_store, object_files, open_store


@pytest.mark.parametrize("where", ["kdf", "wrapped", "header"])
async def test_a_damaged_key_slot_is_reported_as_damaged(tmp_path: Path, where: str) -> None:
    root = tmp_path / "store"
    await (await new_store(str(root))).close()
    (slot,) = object_files(root, "keys")
    raw = slot.read_bytes()
    body = raw[envelope.HEADER_SIZE : -32].decode()
    if where == "header":
        offset = 1
    else:
        key = '"salt": "' if where == "kdf" else '"wrapped": "'
        offset = envelope.HEADER_SIZE + body.index(key) + len(key) + 3
    flip_byte(slot, offset)
    with pytest.raises(KeySlotDamagedError) as info:
        await open_store(str(root))
    err = info.value
    assert not isinstance(err, WrongPassphraseError)
    assert err.exit_code != ExitCode.WRONG_PASSPHRASE
    assert "damaged" in err.message and slot.name[:8] in err.message


async def test_a_wrong_passphrase_is_still_a_wrong_passphrase(tmp_path: Path) -> None:
    root = tmp_path / "store"
    await (await new_store(str(root))).close()
    with pytest.raises(WrongPassphraseError):
        await open_store(str(root), passphrase="not it")


async def test_new_slots_carry_a_checksum(tmp_path: Path) -> None:
    root = tmp_path / "store"
    await (await new_store(str(root))).close()
    (slot,) = object_files(root, "keys")
    body = json.loads(slot.read_bytes()[envelope.HEADER_SIZE : -32])
    assert len(body["check"]) == 32


async def test_a_damaged_config_gets_a_hint_that_works(tmp_path: Path) -> None:
    root = tmp_path / "store"
    await (await new_store(str(root))).close()
    flip_byte(root / "config", 30)
    with pytest.raises(CorruptStoreError) as info:
        await open_store(str(root))
    assert info.value.hint is not None
    assert "restore" in info.value.hint and "config" in info.value.hint
    assert "prune" not in info.value.hint and "check" not in info.value.hint
