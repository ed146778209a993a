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

Version 3 adds **patches**: a snapshot whose parent's tree is at hand stores its list as the
edits that turn the parent's list into its own (50 changed secrets: about 2 KB instead of
about 70 KB of rewritten chunks, whose size-biased share of long chunks and the blob and
index overhead of each dominate). A patch names its whole **chain**: the keyframe (a chunked
version-2 tree) and the patches between it and this one, so a reader fetches the chain in one
batch and applies it in order; a chain holds at most :data:`PATCH_DEPTH_MAX` patches, after
which (or when the chain's edits grow past an eighth of the list) the writer writes a
keyframe again (its unchanged chunks still deduplicate against earlier keyframes).

Node bytes: version 1 ``"SKTR" ‖ 1 ‖ ids``; version 2 ``"SKTR" ‖ 2 ‖ level (1) ‖ ids``;
version 3 ``"SKTR" ‖ 3 ‖ depth d (1) ‖ d × chain id ‖ count (u32) ‖ n (u32) ‖ n × op``,
``op = position (u32) ‖ removed (u32) ‖ inserted k (u32) ‖ k × id`` (docs/FORMAT.md §8.2).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

TREE_MAGIC = b"SKTR"
TREE_V1 = 1
TREE_V2 = 2
TREE_V3 = 3  # a patch against a base tree (format 3)
ID_LEN = 32
CHUNK_MEAN = 8  # a power of two: a boundary after about one id in CHUNK_MEAN (measured best)
CHUNK_MAX = 4 * CHUNK_MEAN
MAX_LEVELS = 16
PATCH_DEPTH_MAX = 8  # patches on one keyframe: a read fetches the keyframe and at most 8
PATCH_SHARE = 8  # a chain's edits may touch at most 1/PATCH_SHARE of the list (else a keyframe)
_U32 = struct.Struct("<I")
_OP = struct.Struct("<III")

__all__ = [
    "CHUNK_MAX",
    "CHUNK_MEAN",
    "PATCH_DEPTH_MAX",
    "TREE_V1",
    "TREE_V2",
    "TREE_V3",
    "Patch",
    "TreeNodeError",
    "TreeVersionError",
    "TreeWalk",
    "build_tree",
    "collect_tree_blobs",
    "decode_node",
    "decode_patch",
    "diff_lists",
    "encode_patch",
    "encode_v1",
    "is_patch",
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
    """``(level, ids)`` of one chunk blob (a version-1 tree is one level-0 node)."""
    if raw[:4] != TREE_MAGIC or len(raw) < 5:
        raise TreeNodeError(node_id, "not a tree blob")
    if raw[4] == TREE_V1:
        level, body = 0, raw[5:]
    elif raw[4] == TREE_V2 and len(raw) >= 6:
        level, body = raw[5], raw[6:]
    elif raw[4] == TREE_V3:
        raise TreeNodeError(node_id, "a tree patch where a tree chunk belongs")
    else:
        raise TreeVersionError(node_id, f"tree version {raw[4]} is not supported")
    if len(body) % ID_LEN:
        raise TreeNodeError(node_id, "truncated tree blob")
    hexed = body.hex()
    return level, [hexed[i : i + 2 * ID_LEN] for i in range(0, len(hexed), 2 * ID_LEN)]


def is_patch(raw: bytes) -> bool:
    return raw[:4] == TREE_MAGIC and len(raw) > 4 and raw[4] == TREE_V3


# --------------------------------------------------------------------------- patches

Op = tuple[int, int, list[str]]  # (position in the base list, ids removed there, ids inserted)


@dataclass(frozen=True, slots=True)
class Patch:
    """A decoded patch: the chain it applies to (keyframe first, its base last), the length
    of the list it gives, and its edits in list order."""

    chain: tuple[str, ...]
    count: int
    ops: tuple[Op, ...]

    @property
    def base(self) -> str:
        return self.chain[-1]

    @property
    def edits(self) -> int:
        """Ids removed and inserted: what the patch costs to store and apply."""
        return sum(removed + len(inserted) for _pos, removed, inserted in self.ops)

    def apply(self, node_id: str, base: Sequence[str]) -> list[str]:
        """The list this patch makes of ``base`` (TreeNodeError if they do not fit)."""
        out: list[str] = []
        prev = 0
        for pos, removed, inserted in self.ops:
            if pos < prev or pos + removed > len(base):
                raise TreeNodeError(node_id, "tree patch edits outside its base")
            out.extend(base[prev:pos])
            out.extend(inserted)
            prev = pos + removed
        out.extend(base[prev:])
        if len(out) != self.count:
            raise TreeNodeError(node_id, "tree patch gives a list of the wrong length")
        return out


def encode_patch(chain: Sequence[str], count: int, ops: Sequence[Op]) -> bytes:
    """A version-3 tree blob (docs/FORMAT.md §8.2)."""
    if not 1 <= len(chain) <= PATCH_DEPTH_MAX:
        raise ValueError("a patch chain holds 1 to PATCH_DEPTH_MAX trees")
    parts = [TREE_MAGIC, bytes([TREE_V3, len(chain)]), *(bytes.fromhex(c) for c in chain)]
    parts.append(_U32.pack(count))
    parts.append(_U32.pack(len(ops)))
    for pos, removed, inserted in ops:
        parts.append(_OP.pack(pos, removed, len(inserted)))
        parts.extend(bytes.fromhex(i) for i in inserted)
    return b"".join(parts)


def decode_patch(node_id: str, raw: bytes) -> Patch:
    """A version-3 tree blob, checked for shape (TreeNodeError if malformed)."""
    if not is_patch(raw) or len(raw) < 6:
        raise TreeNodeError(node_id, "not a tree patch")
    depth = raw[5]
    pos = 6 + depth * ID_LEN
    if not 1 <= depth <= PATCH_DEPTH_MAX or len(raw) < pos + 2 * _U32.size:
        raise TreeNodeError(node_id, "malformed tree patch")
    chain = tuple(raw[6 + i * ID_LEN : 6 + (i + 1) * ID_LEN].hex() for i in range(depth))
    (count,) = _U32.unpack_from(raw, pos)
    (n_ops,) = _U32.unpack_from(raw, pos + _U32.size)
    pos += 2 * _U32.size
    ops: list[Op] = []
    prev_end = 0
    for _ in range(n_ops):
        if pos + _OP.size > len(raw):
            raise TreeNodeError(node_id, "truncated tree patch")
        at, removed, k = _OP.unpack_from(raw, pos)
        pos += _OP.size
        end = pos + k * ID_LEN
        if end > len(raw) or at < prev_end:
            raise TreeNodeError(node_id, "malformed tree patch")
        hexed = raw[pos:end].hex()
        ops.append(
            (at, removed, [hexed[i : i + 2 * ID_LEN] for i in range(0, len(hexed), 2 * ID_LEN)])
        )
        pos = end
        prev_end = at + removed
    if pos != len(raw):
        raise TreeNodeError(node_id, "trailing bytes in tree patch")
    return Patch(chain, count, tuple(ops))


def diff_lists(base: Sequence[str], new: Sequence[str]) -> list[Op] | None:
    """The edits that turn ``base`` into ``new``, or None when a patch does not fit (an id
    listed twice, or ids both lists hold in another order: a keyframe is written then).

    Trees are in key order and a record id fixes its key, so the ids two snapshots share
    keep their order: one pass over both lists finds the edits.
    """
    in_base = set(base)
    in_new = set(new)
    if len(in_base) != len(base) or len(in_new) != len(new):
        return None
    ops: list[Op] = []
    i = j = 0
    nb, nn = len(base), len(new)
    while i < nb or j < nn:
        if i < nb and j < nn and base[i] == new[j]:
            i += 1
            j += 1
            continue
        pos = i
        while i < nb and base[i] not in in_new:
            i += 1
        start = j
        while j < nn and new[j] not in in_base:
            j += 1
        if i == pos and j == start:
            return None  # shared ids in another order
        ops.append((pos, i - pos, list(new[start:j])))
    return ops


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class TreeWalk:
    """A tree read whole: its record ids in order, and every tree blob it is made of (the
    root first). For a patched tree, ``chain`` is its patch's chain and ``edits`` the ids its
    chain's patches remove and insert, which a writer needs to patch it again."""

    record_ids: list[str]
    node_ids: list[str]
    chain: tuple[str, ...] = ()
    edits: int = 0

    @property
    def root(self) -> str:
        return self.node_ids[0]

    def child_chain(self) -> tuple[str, ...]:
        """The chain of a patch whose base is this tree."""
        return (*self.chain, self.root) if self.chain else (self.root,)


ReadMany = Callable[[list[str]], Awaitable[dict[str, bytes]]]
Known = Callable[[str], "TreeWalk | None"]


async def _walk_chunks(root: str, read_many: ReadMany) -> TreeWalk:
    """A chunked (or flat) tree, level by level (one batched read a level)."""
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


async def walk_tree(root: str, read_many: ReadMany, known: Known | None = None) -> TreeWalk:
    """Read a tree: chunks level by level, or a patch, its chain (in one batch) and its
    keyframe, applied in order. ``known`` may hand back trees already read (the chain's
    deepest known tree is where applying starts). TreeNodeError if anything is malformed."""
    head = (await read_many([root]))[root]
    if not is_patch(head):
        return await _walk_chunks(root, read_many)
    patch = decode_patch(root, head)
    chain = patch.chain
    start: TreeWalk | None = None
    if known is not None:
        for i in range(len(chain) - 1, -1, -1):
            start = known(chain[i])
            if start is not None and start.chain == chain[:i]:
                break
            start = None
    done = len(start.chain) + 1 if start is not None else 0  # chain trees the start covers

    async def read_patches() -> list[tuple[str, Patch]]:
        wanted = list(chain[max(done, 1) :])
        if not wanted:
            return []
        got = await read_many(wanted)
        out = []
        for i in range(max(done, 1), len(chain)):
            step = decode_patch(chain[i], got[chain[i]])
            if step.chain != chain[:i]:
                raise TreeNodeError(chain[i], "tree patch outside the chain that names it")
            out.append((chain[i], step))
        return out

    if start is None:  # the keyframe and the patches, side by side
        keyframe, patches = await asyncio.gather(_walk_chunks(chain[0], read_many), read_patches())
        ids, nodes, edits = keyframe.record_ids, list(keyframe.node_ids), 0
    else:
        patches = await read_patches()
        ids, nodes, edits = start.record_ids, list(start.node_ids), start.edits
    for nid, step in (*patches, (root, patch)):
        ids = step.apply(nid, ids)
        nodes.insert(0, nid)
        edits += step.edits
    return TreeWalk(ids, nodes, chain, edits)


async def collect_tree_blobs(
    roots: Sequence[str], read_many: ReadMany
) -> tuple[set[str], set[str]]:
    """Every tree blob and every record id of many trees, each shared blob read once
    (prune, check): ``(tree blob ids, record ids)``; TreeNodeError if a blob is malformed.

    The records of a patched tree are those of its list (not every id its chain ever
    inserted): its keyframe's list is assembled from the chunks read, then the chain applied,
    one keyframe at a time (a patch's list is reused by the patches on it).
    """
    nodes: set[str] = set()
    records: set[str] = set()
    patches: dict[str, Patch] = {}
    chunked: set[str] = set()  # roots of chunked trees read whole (a snapshot's or a keyframe)
    listed: set[str] = set()  # chunked trees whose every record a snapshot holds
    heads = list(dict.fromkeys(roots))
    got = await read_many(heads)
    for nid in heads:
        nodes.add(nid)
        if is_patch(got[nid]):
            patches[nid] = decode_patch(nid, got[nid])
        else:
            chunked.add(nid)
            listed.add(nid)
    more = {c for p in patches.values() for c in p.chain if c not in nodes}
    if more:
        got = await read_many(sorted(more))
        for nid in more:
            nodes.add(nid)
            if is_patch(got[nid]):
                patches[nid] = decode_patch(nid, got[nid])
            else:
                chunked.add(nid)
    for p in patches.values():
        if p.chain[0] in patches:
            raise TreeNodeError(p.chain[0], "a tree patch where a keyframe belongs")
        for i, c in enumerate(p.chain[1:], start=1):
            if c not in patches or patches[c].chain != p.chain[:i]:
                raise TreeNodeError(c, "tree patch outside the chain that names it")
    # chunked trees: every node read once, level by level; leaves kept per node
    decoded: dict[str, tuple[int, list[str]]] = {}
    expected: dict[str, int | None] = dict.fromkeys(chunked)
    frontier = sorted(chunked)
    for _ in range(MAX_LEVELS + 2):
        if not frontier:
            break
        got = await read_many(frontier)
        nxt: list[str] = []
        for nid in frontier:
            level, ids = decode_node(nid, got[nid])
            want = expected.get(nid)
            if want is not None and level != want:
                raise TreeNodeError(nid, f"tree blob at level {level} where {want} belongs")
            decoded[nid] = (level, ids)
            if level == 0:
                continue
            for child in ids:
                if child not in nodes:
                    nodes.add(child)
                    expected[child] = level - 1
                    nxt.append(child)
        frontier = nxt
    else:
        raise TreeNodeError(heads[0], "tree is too deep")

    def leaves(root: str, seen: set[str] | None) -> list[str]:
        """The ordered record ids of a chunked tree (``seen``: skip nodes already listed)."""
        out: list[str] = []
        stack = [root]
        while stack:
            nid = stack.pop()
            if seen is not None:
                if nid in seen:
                    continue
                seen.add(nid)
            level, ids = decoded[nid]
            if level == 0:
                out.extend(ids)
            else:
                stack.extend(reversed(ids))
        return out

    seen: set[str] = set()
    for root in listed:
        records.update(leaves(root, seen))
    by_keyframe: dict[str, list[str]] = {}
    for nid in heads:
        if nid in patches:
            by_keyframe.setdefault(patches[nid].chain[0], []).append(nid)
    for keyframe, group in by_keyframe.items():
        lists: dict[str, list[str]] = {keyframe: leaves(keyframe, None)}
        for nid in sorted(group, key=lambda n: len(patches[n].chain)):
            for tree in (*patches[nid].chain[1:], nid):
                if tree not in lists:
                    p = patches[tree]
                    lists[tree] = p.apply(tree, lists[p.base])
            records.update(lists[nid])
    return nodes, records
