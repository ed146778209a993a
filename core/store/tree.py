"""Snapshot trees: the ordered list of a snapshot's record ids, as blobs (docs/FORMAT.md §8.2).

Version 1 wrote the whole list as one tree blob, so every snapshot rewrote it (640 KB for
20,000 secrets) even when 50 secrets changed. Version 2 cuts the list into content-defined
chunks, each its own (deduplicated) tree blob, in levels, like a Merkle B-tree: a chunk ends
after an id whose first four bytes, read as a little-endian integer, are a multiple of
:data:`CHUNK_MEAN` (ids are keyed hashes, so about one in ``CHUNK_MEAN``), or once it holds
:data:`CHUNK_MAX` ids. Level 0 chunks hold record ids; level ``n`` chunks hold the ids of level
``n - 1`` chunks, cut by the same rule, until a level fits in one chunk (at most
:data:`CHUNK_MAX` ids): the root, which the snapshot header names (a small tree is one blob). A changed, added or removed record rewrites only its chunk (and its neighbour
when the boundary moves) and the chunks above it.

Node bytes: version 1 ``"SKTR" ‖ 1 ‖ ids``; version 2 ``"SKTR" ‖ 2 ‖ level (1) ‖ ids``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

TREE_MAGIC = b"SKTR"
TREE_V1 = 1
TREE_V2 = 2
ID_LEN = 32
CHUNK_MEAN = 8  # a power of two: a boundary after about one id in CHUNK_MEAN (measured best)
CHUNK_MAX = 4 * CHUNK_MEAN
MAX_LEVELS = 16

__all__ = [
    "CHUNK_MAX",
    "CHUNK_MEAN",
    "TREE_V1",
    "TREE_V2",
    "TreeNodeError",
    "TreeVersionError",
    "TreeWalk",
    "build_tree",
    "collect_tree_blobs",
    "decode_node",
    "encode_v1",
    "walk_tree",
]


class TreeNodeError(ValueError):
    """A tree blob that does not decode (or does not fit where it is), naming it."""

    def __init__(self, node_id: str, message: str) -> None:
        super().__init__(message)
        self.node_id = node_id


class TreeVersionError(TreeNodeError):
    """An authentic tree blob (its keyed id verified) of a tree version this program does
    not know: written by a newer program, not damage."""


def encode_v1(record_ids: Sequence[str]) -> bytes:
    """A version-1 tree blob: ``SKTR`` ‖ 1 ‖ the record ids."""
    return b"".join([TREE_MAGIC, bytes([TREE_V1]), *(bytes.fromhex(r) for r in record_ids)])


def _encode_v2(level: int, ids: Sequence[bytes]) -> bytes:
    return b"".join([TREE_MAGIC, bytes([TREE_V2, level]), *ids])


def _chunks(ids: Sequence[bytes]) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    cur: list[bytes] = []
    mask = CHUNK_MEAN - 1
    for x in ids:
        cur.append(x)
        if not (int.from_bytes(x[:4], "little") & mask) or len(cur) >= CHUNK_MAX:
            out.append(cur)
            cur = []
    if cur or not out:
        out.append(cur)
    return out


def build_tree(
    record_ids: Sequence[str], id_of: Callable[[bytes], bytes], *, version: int = TREE_V2
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The root id and every node ``(id, plaintext)`` of the tree of ``record_ids``.

    ``id_of`` is the store's tree blob id (keyed BLAKE3 of type 3 and the bytes); nodes come
    children first, root last.
    """
    if version == TREE_V1:
        raw = encode_v1(record_ids)
        rid = id_of(raw)
        return rid.hex(), [(rid, raw)]
    nodes: list[tuple[bytes, bytes]] = []
    level_ids = [bytes.fromhex(r) for r in record_ids]
    level = 0
    while True:
        # a level that fits in one chunk is the root (small trees are one blob)
        chunks = [level_ids] if len(level_ids) <= CHUNK_MAX else _chunks(level_ids)
        if len(chunks) > 1 and len(chunks) >= len(level_ids):  # no reduction: fixed cuts
            chunks = [level_ids[i : i + CHUNK_MEAN] for i in range(0, len(level_ids), CHUNK_MEAN)]
        parents: list[bytes] = []
        for chunk in chunks:
            raw = _encode_v2(level, chunk)
            nid = id_of(raw)
            nodes.append((nid, raw))
            parents.append(nid)
        if len(parents) == 1:
            return parents[0].hex(), nodes
        level_ids = parents
        level += 1


def decode_node(node_id: str, raw: bytes) -> tuple[int, list[str]]:
    """``(level, ids)`` of one tree blob (a version-1 tree is one level-0 node)."""
    if raw[:4] != TREE_MAGIC or len(raw) < 5:
        raise TreeNodeError(node_id, "not a tree blob")
    if raw[4] == TREE_V1:
        level, body = 0, raw[5:]
    elif raw[4] == TREE_V2 and len(raw) >= 6:
        level, body = raw[5], raw[6:]
    else:
        raise TreeVersionError(node_id, f"tree version {raw[4]} is not supported")
    if len(body) % ID_LEN:
        raise TreeNodeError(node_id, "truncated tree blob")
    hexed = body.hex()
    return level, [hexed[i : i + 2 * ID_LEN] for i in range(0, len(hexed), 2 * ID_LEN)]


@dataclass(frozen=True, slots=True)
class TreeWalk:
    """A tree read whole: its record ids in order, and every tree blob it is made of."""

    record_ids: list[str]
    node_ids: list[str]


ReadMany = Callable[[list[str]], Awaitable[dict[str, bytes]]]


async def walk_tree(root: str, read_many: ReadMany) -> TreeWalk:
    """Read a tree level by level (one batched read a level); TreeNodeError if malformed."""
    nodes = [root]
    all_nodes = [root]
    expected: int | None = None
    for _ in range(MAX_LEVELS + 1):
        got = await read_many(list(dict.fromkeys(nodes)))
        children: list[str] = []
        levels = set()
        for nid in nodes:
            level, ids = decode_node(nid, got[nid])
            if expected is not None and level != expected:
                raise TreeNodeError(nid, f"tree blob at level {level} where {expected} belongs")
            levels.add(level)
            children.extend(ids)
        level = levels.pop() if levels else 0
        if level == 0:
            return TreeWalk(children, all_nodes)
        expected = level - 1
        nodes = children
        all_nodes.extend(children)
    raise TreeNodeError(root, "tree is too deep")


async def collect_tree_blobs(
    roots: Sequence[str], read_many: ReadMany
) -> tuple[set[str], set[str]]:
    """Every tree blob and every record id of many trees, each shared node read once
    (prune, check): ``(tree blob ids, record ids)``; TreeNodeError if a node is malformed."""
    nodes: set[str] = set(roots)
    records: set[str] = set()
    expected: dict[str, int | None] = dict.fromkeys(roots)
    frontier = list(dict.fromkeys(roots))
    for _ in range(MAX_LEVELS + 2):
        if not frontier:
            return nodes, records
        got = await read_many(frontier)
        nxt: list[str] = []
        for nid in frontier:
            level, ids = decode_node(nid, got[nid])
            want = expected.get(nid)
            if want is not None and level != want:
                raise TreeNodeError(nid, f"tree blob at level {level} where {want} belongs")
            if level == 0:
                records.update(ids)
                continue
            for child in ids:
                if child not in nodes:
                    nodes.add(child)
                    expected[child] = level - 1
                    nxt.append(child)
        frontier = nxt
    raise TreeNodeError(roots[0], "tree is too deep")
