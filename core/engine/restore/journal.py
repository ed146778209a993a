"""The restore journal: what earlier restores wrote (or read back) at each destination, so a
re-run decides "already there" from the destination's list of secrets instead of listing every
secret's versions and reading every value back.

A destination version is immutable: once secret ``S`` has revision ``R`` created at ``T``, it
holds the same bytes until it is deleted. The journal keeps that fact per destination version
(region, project, secret id, revision, ``created_at``, CRC32 and the store's payload blob id of
the data), learned from what a restore wrote and from what it read back. It is one file in the
store's cache directory (beside the index cache), sealed with a key derived from the store's
master key (docs/FORMAT.md, "Restore journal"): ids, revisions, times and CRCs, never a name or
a value, and nothing readable without the store's key. Losing it only costs read-backs.

Since version 2 it also keeps, per destination secret, the secret as the restore left it: a
keyed digest of its metadata as the destination's listing returns it (``version_count``,
``updated_at``, ``status``, ``protected``, ``key_id``, name, path, ...) and the versions it held
then (revision, ``created_at``, status). A version added moves ``version_count``; a PATCH, a
rename or a soft delete moves ``updated_at``; so a secret listed with the same digest still
holds those versions. Enabling, disabling or deleting a version changes nothing on the secret:
that is seen only by ``--verify`` (the backup's unchanged check has the same convention, seen
only by ``--rescan``). A secret with an ephemeral policy is always listed, as the backup
always re-lists it: its versions expire (disabled, deleted) without a trace on the secret.

Planning reads the destination through a :class:`JournalView` (a :class:`SecretsAPI` that
delegates to the real client). An existing destination secret listed with the digest the
journal recorded has its versions answered from the journal (no request); any other one has
them listed for real (one request, which also answers the "latest revision" the plan records
before it decides). An enabled listed version whose revision and ``created_at`` the journal
holds is vouched for: its data is read from the store by blob id (CRC32 checked), not from the
API. Anything else is read back, as without a journal, and learned. Verification trusts no
journal (apply plans those secrets again, listing and reading everything), and apply's
checks for another writer (the latest revision before its first version, a concurrent
restore's duplicate after a create) use the real client.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import blake3

from core._fs import file_lock, write_atomic
from core.engine.events import Outcome
from core.engine.protocols import Revision, SecretsAPI
from core.errors import KlosetError
from core.scaleway.errors import NotFoundError
from core.scaleway.models import (
    AccessedVersion,
    EphemeralPolicy,
    Project,
    Secret,
    SecretVersion,
    VersionStatus,
)
from core.store.crypto import BLOB_DATA, DecryptionError, Keys, aead_decrypt, aead_encrypt

if TYPE_CHECKING:
    from core.engine.restore.model import PayloadReader, PlannedAction, RestorePlan

FILE_NAME = "restore-journal.bin"
JOURNAL_VERSION = 2  # 2: also the secret-level records; 1 (versions only) is still read
_READABLE = (1, 2)
_CONTEXT = "secret-kloset 2026-12-01 v1 restore journal"
_DIGEST_CONTEXT = "secret-kloset 2026-12-01 v2 restore journal secret digest"
_AD = b"secret-kloset restore journal v1"  # the same in version 2 (the body says its version)

Key = tuple[str, str, str]  # (region, project id, destination secret id)


@dataclass(frozen=True)
class JournalVersion:
    """One destination version and the data it holds (immutable, so true until deleted)."""

    revision: int
    created_at: str  # ISO 8601, as the API gave it
    crc32: int
    payload: str  # the store's blob id of the data


Entries = dict[Key, dict[int, JournalVersion]]


@dataclass(frozen=True)
class JournalSecret:
    """A destination secret as the restore left it: the digest of its listed metadata and
    every version it held then, as the API lists them (revision descending)."""

    digest: str
    versions: tuple[tuple[int, str, str], ...]  # (revision, created_at ISO 8601, status)


Secrets = dict[Key, JournalSecret]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _key(keys: Keys) -> bytes:
    return blake3.blake3(keys.master, derive_key_context=_CONTEXT).digest()


def _digest_key(keys: Keys) -> bytes:
    return blake3.blake3(keys.master, derive_key_context=_DIGEST_CONTEXT).digest()


def secret_digest(key: bytes, secret: Secret) -> str:
    """A keyed digest of a secret's metadata as the API lists it (every wire field): equal
    digests, unchanged secret. Keyed, so the journal holds nothing a name can be tested on."""
    # The wire object, keys in the API's field order (the model's): the same secret, the
    # same bytes, whichever answer (a listing, a create) it was decoded from.
    canonical = json.dumps(secret.to_api(), separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
    return blake3.blake3(canonical, key=key).hexdigest()[:32]


def seal(
    keys: Keys,
    entries: Mapping[Key, Mapping[int, JournalVersion]],
    secrets: Mapping[Key, JournalSecret] | None = None,
) -> bytes:
    """The journal file's bytes: AEAD(zlib(canonical JSON)), bound to the store id."""
    secrets = secrets or {}
    rows = []
    for key in sorted(set(entries) | set(secrets)):
        versions = entries.get(key, {})
        record = secrets.get(key)
        if not versions and record is None:
            continue
        rows.append(
            [
                *key,
                [
                    [v.revision, v.created_at, v.crc32, v.payload]
                    for _, v in sorted(versions.items())
                ],
                None if record is None else [record.digest, [list(v) for v in record.versions]],
            ]
        )
    body = {"v": JOURNAL_VERSION, "e": rows}
    plain = zlib.compress(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return aead_encrypt(_key(keys), plain, _AD + keys.store_id)


def unseal_all(keys: Keys, data: bytes) -> tuple[Entries, Secrets]:
    """The version entries and secret-level records of a journal file (version 1 has no
    secret-level records: nothing is vouched for at the secret level); an unreadable or
    foreign file reads as empty (the journal is a cache: losing it only costs reads)."""
    try:
        body = json.loads(zlib.decompress(aead_decrypt(_key(keys), data, _AD + keys.store_id)))
        if int(body.get("v", 0)) not in _READABLE:
            return {}, {}
        out: Entries = {}
        secrets: Secrets = {}
        for row in body["e"]:
            region, project, sid, versions = row[:4]
            key = (str(region), str(project), str(sid))
            found = {
                int(r): JournalVersion(int(r), str(c), int(crc), str(p))
                for r, c, crc, p in versions
            }
            if found:
                out[key] = found
            record = row[4] if len(row) > 4 else None
            if record is not None:
                digest, listed = record
                secrets[key] = JournalSecret(
                    str(digest), tuple((int(r), str(c), str(st)) for r, c, st in listed)
                )
        return out, secrets
    except (DecryptionError, ValueError, TypeError, KeyError, zlib.error):
        return {}, {}


def unseal(keys: Keys, data: bytes) -> Entries:
    """The version entries of a journal file (:func:`unseal_all`)."""
    return unseal_all(keys, data)[0]


class Journal:
    """The journal of one store: loaded once, saved (merged under a file lock) after apply."""

    def __init__(self, keys: Keys, path: Path | None) -> None:
        self.keys = keys
        self.path = path
        self.entries: Entries = {}
        self.secrets: Secrets = {}
        self._digest_key = _digest_key(keys)

    def load(self) -> None:
        if self.path is None:
            return
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        self.entries, self.secrets = unseal_all(self.keys, data)

    def digest(self, secret: Secret) -> str:
        return secret_digest(self._digest_key, secret)

    def save(
        self,
        changed: Mapping[Key, dict[int, JournalVersion]],
        secrets: Mapping[Key, JournalSecret | None] | None = None,
    ) -> None:
        """Replace the entries of the secrets in ``changed`` (an empty one: forget it) and
        their secret-level records (``secrets``; absent or None: forget it), over the file's
        current content (another restore may have saved since we loaded)."""
        secrets = secrets or {}
        _merge(self.entries, self.secrets, changed, secrets)
        if self.path is None or not changed:
            return
        with file_lock(self.path.with_name(FILE_NAME + ".lock")):
            current: Entries = {}
            records: Secrets = {}
            try:
                current, records = unseal_all(self.keys, self.path.read_bytes())
            except OSError:
                pass
            _merge(current, records, changed, secrets)
            write_atomic(self.path, seal(self.keys, current, records))


def _merge(
    into: Entries,
    records: Secrets,
    changed: Mapping[Key, dict[int, JournalVersion]],
    secrets: Mapping[Key, JournalSecret | None],
) -> None:
    for key, versions in changed.items():
        if versions:
            into[key] = dict(versions)
        else:
            into.pop(key, None)
        record = secrets.get(key)
        if record is not None:
            records[key] = record
        else:
            records.pop(key, None)


_MEMORY: weakref.WeakKeyDictionary[object, Journal] = weakref.WeakKeyDictionary()


def open_journal(store: object) -> Journal | None:
    """The restore journal of an open store, or None when the store has no keys (a test
    double). Its file sits beside the store's index cache; with an in-memory cache it lives
    in memory, as long as the store object."""
    keys = getattr(store, "keys", None)
    if not isinstance(keys, Keys):
        return None
    cache_path = getattr(getattr(store, "cache", None), "path", None)
    if cache_path is None:
        journal = _MEMORY.get(store)
        if journal is None:
            journal = Journal(keys, None)
            _MEMORY[store] = journal
        return journal
    journal = Journal(keys, Path(cache_path).parent / FILE_NAME)
    journal.load()
    return journal


def journal_view(
    client: SecretsAPI,
    store: object,
    read: PayloadReader,
    destinations: Mapping[tuple[str, str], Mapping[tuple[str, str], Secret]],
) -> JournalView | None:
    """The view planning reads the destination through, or None without a journal.
    ``destinations``: the secrets the plan listed, by (region, project), then (path, name)."""
    journal = open_journal(store)
    has_blob = getattr(store, "has_blob", None)
    if journal is None or has_blob is None:
        return None
    projects = {
        (region, s.id): project
        for (region, project), listed in destinations.items()
        for s in listed.values()
    }
    secrets = {
        (region, s.id): s for (region, _), listed in destinations.items() for s in listed.values()
    }
    return JournalView(client, journal, read, has_blob, projects, secrets)


class JournalView:
    """The destination as planning reads it: versions answered from the journal for a
    secret listed as the journal recorded it, else listed for real; data the journal vouches
    for read from the store, the rest read back and learned (module docstring)."""

    def __init__(
        self,
        client: SecretsAPI,
        journal: Journal,
        read: PayloadReader,
        has_blob: Callable[[str], Awaitable[bool]],
        projects: Mapping[tuple[str, str], str],
        secrets: Mapping[tuple[str, str], Secret] | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._read = read
        self._has_blob = has_blob
        self._projects = dict(projects)  # (region, secret id) -> destination project
        self._secrets = dict(secrets or {})  # (region, secret id) -> the secret as listed
        self._digests: dict[tuple[str, str], str] = {}
        self.listed: dict[tuple[str, str], list[SecretVersion]] = {}
        self._fresh: set[tuple[str, str]] = set()  # listed for "latest", not yet handed out
        self.learned: dict[tuple[str, str], dict[int, JournalVersion]] = {}
        self.used: set[tuple[str, str]] = set()  # secrets the journal vouched for (in part)
        self.trust = True  # False: read everything back (verification), learning only

    @property
    def journal(self) -> Journal:
        return self._journal

    def key(self, region: str, secret_id: str, project: str | None = None) -> Key:
        return (region, project or self._projects.get((region, secret_id), ""), secret_id)

    def listed_secret(self, region: str, secret_id: str) -> Secret | None:
        """The destination secret as the plan's listing gave it."""
        return self._secrets.get((region, secret_id))

    def listed_digest(self, region: str, secret_id: str) -> str | None:
        """The digest of :meth:`listed_secret` (computed once: planning compares it, saving
        records it again for a secret the run did not write to)."""
        key = (region, secret_id)
        found = self._digests.get(key)
        if found is None:
            listed = self._secrets.get(key)
            if listed is None:
                return None
            found = self._digests[key] = self._journal.digest(listed)
        return found

    # ------------------------------------------------------------------ what it vouches for

    def _listed_version(self, region: str, secret_id: str, revision: int) -> SecretVersion | None:
        for v in self.listed.get((region, secret_id), ()):
            if v.revision == revision:
                return v
        return None

    def _vouched(self, region: str, secret_id: str, revision: int) -> JournalVersion | None:
        """A journalled revision, listed enabled with the same ``created_at``."""
        if not self.trust:
            return None
        jv = self._journal.entries.get(self.key(region, secret_id), {}).get(revision)
        listed = self._listed_version(region, secret_id, revision)
        if jv is None or listed is None or listed.status != VersionStatus.ENABLED:
            return None
        return jv if _iso(listed.created_at) == jv.created_at else None

    def holds(self, region: str, secret_id: str, revision: int, payload: str | None) -> bool:
        """The journal vouches that the destination's ``revision`` holds the data of the
        store's blob ``payload``: nothing to read to compare them (a blob id is a keyed hash of
        the data, so the same id is the same bytes)."""
        if payload is None:
            return False
        jv = self._vouched(region, secret_id, revision)
        if jv is None or jv.payload != payload:
            return False
        self.used.add((region, secret_id))
        return True

    # ------------------------------------------------------------------ the reads it answers

    def _recorded(self, region: str, secret_id: str) -> list[SecretVersion] | None:
        """The secret's versions as the journal recorded them, when the listing gave the
        secret as the journal recorded it (module docstring: what that does not see)."""
        if not self.trust:
            return None
        listed = self._secrets.get((region, secret_id))
        if listed is None or listed.ephemeral_policy is not None:
            return None  # its versions expire without a trace on it: always listed
        record = self._journal.secrets.get(self.key(region, secret_id))
        if record is None or self.listed_digest(region, secret_id) != record.digest:
            return None
        self.used.add((region, secret_id))
        top = max((r for r, _, _ in record.versions), default=0)
        return [
            SecretVersion(
                revision=r,
                secret_id=secret_id,
                status=status,
                created_at=datetime.fromisoformat(created) if created else None,
                latest=r == top,
                region=region,
            )
            for r, created, status in record.versions
        ]

    async def _list(self, region: str, secret_id: str) -> list[SecretVersion]:
        listed = self._recorded(region, secret_id)
        if listed is None:
            listed = [v async for v in self._client.list_versions(region, secret_id)]
        self.listed[(region, secret_id)] = listed
        return listed

    async def list_versions(self, region: str, secret_id: str) -> AsyncIterator[SecretVersion]:
        key = (region, secret_id)
        if key in self._fresh:  # listed a moment ago for the latest revision: the same read
            self._fresh.discard(key)
            listed = self.listed[key]
        else:
            listed = await self._list(region, secret_id)
        for v in listed:
            yield v

    async def get_version(self, region: str, secret_id: str, revision: Revision) -> SecretVersion:
        if revision == "latest":
            # One list answers both "the latest revision" and "which versions": the plan
            # reads the latest before it decides, and lists the versions to decide.
            listed = await self._list(region, secret_id)
            self._fresh.add((region, secret_id))
            if not listed:  # what the API answers for a secret without versions
                raise NotFoundError(
                    "the secret has no version",
                    status_code=404,
                    body={"resource": "secret_version", "resource_id": "latest"},
                )
            return max(listed, key=lambda v: v.revision)
        return await self._client.get_version(region, secret_id, revision)

    async def access_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> AccessedVersion:
        number = self._resolve(region, secret_id, revision)
        jv = self._vouched(region, secret_id, number) if number is not None else None
        if jv is not None:
            stored: bytes | None = None
            with contextlib.suppress(KlosetError):  # not readable from the store: ask the API
                stored = await self._read(jv.payload)
            if stored is not None and zlib.crc32(stored) == jv.crc32:
                self.used.add((region, secret_id))
                return AccessedVersion(
                    secret_id=secret_id, revision=jv.revision, data=stored, data_crc32=jv.crc32
                )
        accessed = await self._client.access_version(region, secret_id, revision)
        listed = self._listed_version(region, secret_id, accessed.revision)
        created = _iso(listed.created_at) if listed is not None else None
        data = bytes(accessed.data)
        blob = self._journal.keys.blob_id(BLOB_DATA, data).hex()
        # Learned only when the store holds the same data (it can answer from it next time).
        if created is not None and await self._has_blob(blob):
            self.learned.setdefault((region, secret_id), {})[accessed.revision] = JournalVersion(
                accessed.revision, created, zlib.crc32(data), blob
            )
        return accessed

    def _resolve(self, region: str, secret_id: str, revision: Revision) -> int | None:
        """The revision number ``revision`` names, as the listing says."""
        if isinstance(revision, int):
            return revision
        if revision != "latest_enabled":
            return None
        enabled = [
            v.revision
            for v in self.listed.get((region, secret_id), ())
            if v.status == VersionStatus.ENABLED
        ]
        return max(enabled) if enabled else None

    # ------------------------------------------------------------------ the rest: delegated

    @property
    def organization_id(self) -> str | None:
        return self._client.organization_id

    @property
    def default_project_id(self) -> str | None:
        return self._client.default_project_id

    @property
    def default_region(self) -> str | None:
        return self._client.default_region

    def list_projects(
        self, organization_id: str | None = None, *, page_size: int = 100
    ) -> AsyncIterator[Project]:
        return self._client.list_projects(organization_id, page_size=page_size)

    def list_secrets(
        self,
        region: str,
        *,
        project_id: str | None = None,
        name: str | None = None,
        path: str | None = None,
        scheduled_for_deletion: bool | None = False,
        page_size: int = 100,
    ) -> AsyncIterator[Secret]:
        return self._client.list_secrets(
            region,
            project_id=project_id,
            name=name,
            path=path,
            scheduled_for_deletion=scheduled_for_deletion,
            page_size=page_size,
        )

    async def enable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._client.enable_version(region, secret_id, revision)

    async def disable_version(
        self, region: str, secret_id: str, revision: Revision
    ) -> SecretVersion:
        return await self._client.disable_version(region, secret_id, revision)

    async def delete_version(self, region: str, secret_id: str, revision: Revision) -> None:
        await self._client.delete_version(region, secret_id, revision)

    async def create_secret(
        self,
        region: str,
        *,
        name: str,
        project_id: str | None = None,
        protected: bool = False,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        type: str | None = None,
        path: str | None = None,
        ephemeral_policy: EphemeralPolicy | dict[str, object] | None = None,
        key_id: str | None = None,
    ) -> Secret:
        return await self._client.create_secret(
            region,
            name=name,
            project_id=project_id,
            protected=protected,
            tags=tags,
            description=description,
            type=type,
            path=path,
            ephemeral_policy=ephemeral_policy,
            key_id=key_id,
        )

    async def update_secret(
        self, region: str, secret_id: str, *, description: str | None = None
    ) -> Secret:
        return await self._client.update_secret(region, secret_id, description=description)

    async def restore_secret(self, region: str, secret_id: str) -> Secret:
        return await self._client.restore_secret(region, secret_id)

    async def create_version(
        self,
        region: str,
        secret_id: str,
        data: bytes,
        *,
        description: str | None = None,
        data_crc32: int | None = None,
        known_latest_revision: int | None = None,
    ) -> SecretVersion:
        return await self._client.create_version(
            region,
            secret_id,
            data,
            description=description,
            data_crc32=data_crc32,
            known_latest_revision=known_latest_revision,
        )


@dataclass
class Written:
    """What apply did to one destination secret: the versions it created (version, blob id,
    CRC32), the secret it created, the revisions it disabled, and whether it had to plan the
    secret again (someone else moved it: its state at the end is not known for sure)."""

    created: list[tuple[SecretVersion, str, int]] = field(default_factory=list)
    secret: Secret | None = None
    disabled: set[int] = field(default_factory=set)
    replanned: bool = False


@dataclass
class Changes:
    """The journal's new content for the secrets a run saw (:meth:`Journal.save`)."""

    versions: dict[Key, dict[int, JournalVersion]] = field(default_factory=dict)
    secrets: dict[Key, JournalSecret | None] = field(default_factory=dict)


_SETTLED = (Outcome.OK, Outcome.UNCHANGED, Outcome.SKIPPED)


def _secret_record(
    view: JournalView,
    action: PlannedAction,
    listed: Sequence[SecretVersion] | None,
    done: Written | None,
) -> JournalSecret | None:
    """The destination secret as this run left it, when the run knows it for sure: its
    metadata as planned (or created) with ``version_count`` moved by the versions it added
    (adding a version moves nothing else on a secret), and its versions as listed with what
    it added and disabled. None when it does not (a failure, a stop, a re-plan)."""
    sid = action.destination_secret_id
    if sid is None or action.outcome not in _SETTLED or action.interrupted:
        return None
    if done is not None and done.replanned:
        return None
    base: Secret | None
    before: Sequence[SecretVersion]
    if done is not None and done.secret is not None:
        base, before = done.secret, ()
    elif listed is not None:
        base, before = view.listed_secret(action.region, sid), listed
    else:
        return None
    if base is None:
        return None
    disabled = done.disabled if done is not None else set()
    created = done.created if done is not None else []

    def status(revision: int, was: str) -> str:
        return str(VersionStatus.DISABLED) if revision in disabled else str(was)

    rows = {
        v.revision: (v.revision, _iso(v.created_at) or "", status(v.revision, v.status))
        for v in before
    }
    for version, _, _ in created:
        rows[version.revision] = (
            version.revision,
            _iso(version.created_at) or "",
            status(version.revision, version.status),
        )
    if created or (done is not None and done.secret is not None):
        after = dataclasses.replace(base, version_count=base.version_count + len(created))
        digest = view.journal.digest(after)
    else:
        digest = view.listed_digest(action.region, sid) or view.journal.digest(base)
    return JournalSecret(digest, tuple(sorted(rows.values(), reverse=True)))


def journal_changes(
    view: JournalView, plan: RestorePlan, written: Mapping[int, Written]
) -> Changes:
    """The journal's new content for the secrets this run saw (``written`` by
    ``id(action)``): what it wrote, what it read back, and the journalled versions still
    listed (versions no longer listed are forgotten); and each secret as the run left it."""
    out = Changes()
    for action in plan.actions:
        sid = action.destination_secret_id
        if sid is None:
            continue
        key = view.key(action.region, sid, action.project_id)
        listed = view.listed.get((action.region, sid))
        done = written.get(id(action))
        if listed is None and done is None:
            continue
        versions: dict[int, JournalVersion] = {}
        if listed is not None:
            old = view.journal.entries.get(key, {})
            for v in listed:
                jv = old.get(v.revision)
                if jv is not None and jv.created_at == _iso(v.created_at):
                    versions[v.revision] = jv
            versions.update(view.learned.get((action.region, sid), {}))
            keep = {v.revision for v in listed if v.status != VersionStatus.DELETED}
            versions = {r: jv for r, jv in versions.items() if r in keep}
        else:
            versions = dict(view.journal.entries.get(key, {}))
        for created, payload, crc in done.created if done is not None else ():
            created_at = _iso(created.created_at)
            if created_at is not None:
                versions[created.revision] = JournalVersion(
                    created.revision, created_at, crc, payload
                )
        out.versions[key] = versions
        out.secrets[key] = _secret_record(view, action, listed, done)
    return out


def vouched_actions(view: JournalView, actions: Sequence[PlannedAction]) -> list[PlannedAction]:
    """The actions whose plan took an answer from the journal."""
    return [
        a
        for a in actions
        if a.destination_secret_id is not None and (a.region, a.destination_secret_id) in view.used
    ]


__all__ = [
    "FILE_NAME",
    "Changes",
    "Journal",
    "JournalSecret",
    "JournalVersion",
    "JournalView",
    "Written",
    "journal_changes",
    "journal_view",
    "open_journal",
    "seal",
    "secret_digest",
    "unseal",
    "unseal_all",
    "vouched_actions",
]
