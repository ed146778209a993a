"""What the store's maintenance primitives report (:mod:`core.store.maintenance`): packs,
sizes and counts, the index in memory.

Apart from :mod:`core.store.maintenance` so that a command that never asks for them (a backup,
``snapshots``) does not create their dataclasses; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PackInfo:
    """One pack file: its id and size."""

    id: str
    size: int


@dataclass
class StoreStats:
    """Sizes and counts of a store (``store stats``)."""

    snapshots: int = 0
    packs: int = 0
    pack_bytes: int = 0  # bytes of all packfiles on the backend
    index_deltas: int = 0
    index_bytes: int = 0
    snapshot_bytes: int = 0
    blobs: int = 0  # distinct blobs the index knows
    data_blobs: int = 0
    metadata_blobs: int = 0
    data_bytes: int = 0  # plaintext bytes of the distinct data blobs
    stored_data_bytes: int = 0  # their encrypted (compressed) size
    keys: int = 0
    locks: int = 0

    @property
    def total_bytes(self) -> int:
        return self.pack_bytes + self.index_bytes + self.snapshot_bytes

    def to_dict(self) -> dict[str, int]:
        out = {k: int(v) for k, v in self.__dict__.items()}
        out["total_bytes"] = self.total_bytes
        return out


@dataclass
class IndexStats:
    """What the index holds in memory: blobs, packs, deltas (and the damaged ones)."""

    blobs: int = 0
    packs: int = 0
    deltas: int = 0
    damaged_deltas: dict[str, str] = field(default_factory=dict)
