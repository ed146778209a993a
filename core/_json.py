"""The one JSON writer of the wire: compact UTF-8 bytes, fast.

Both sides of the Secret Manager API write JSON: the client its request bodies, the emulator
its answers. Each used to go through ``json.dumps(separators=(",", ":"),
ensure_ascii=False)`` (httpx writes its ``json=`` bodies so); msgspec writes the same bytes
(a property test holds it to that: tests/emulator/test_emulator_encoding.py) in an eighth of
the time, 30-40 us less CPU for each request a restore sends.
"""

from __future__ import annotations

import msgspec

__all__ = ["json_bytes"]


def json_bytes(payload: object) -> bytes:
    """Compact UTF-8 JSON, the bytes ``json.dumps(separators=(",", ":"),
    ensure_ascii=False)`` writes."""
    return msgspec.json.encode(payload)
