"""Fixtures: a real local store (files on disk, its cache under the isolated cache dir)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.store import KdfParams, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.init(str(tmp_path / "store"), "history passphrase", kdf=KdfParams.for_tests())
    try:
        yield s
    finally:
        await s.close()
