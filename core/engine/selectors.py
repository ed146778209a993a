"""Secret selectors: which secrets a backup, a restore, ``ls`` or a copy applies to.

Forms (``SecretSelector.parse``):

- ``id:<uuid>``: exactly the secret with that id.
- ``/prod/db/password``: the secret ``password`` in folder ``/prod/db`` (its full path).
- ``/prod/db/*``: a glob on the full path. ``*`` and ``?`` stay inside one path segment,
  ``**`` crosses segments, ``[abc]``/``[!abc]`` are character classes.
- A pattern also selects everything *under* a folder it matches, as restic's ``--include``
  does: ``/prod`` and ``/prod/*`` both select ``/prod/db/password``.
- A pattern without a leading ``/`` and without any ``/`` (``password``, ``*.pem``) matches
  the secret's name in any folder; one with an inner ``/`` (``prod/db/*``) is taken as rooted.

An empty selection means everything. Bad selectors raise :class:`core.errors.UsageError`; the
message never repeats the pattern (a path is secret-bearing), it says what is wrong with it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.errors import Remedy, UsageError
from core.scaleway.models import REGIONS, join_path, normalize_path

_SELECTOR_HINT = (
    "use a glob on the secret's path/name such as '/prod/db/*' or '/prod/db/password', "
    "a bare name glob such as 'password', or 'id:<secret id>'"
)


def _translate(pattern: str) -> str:
    """Glob → regex source. ``*``/``?`` never cross ``/``; ``**`` does."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                # '/**/' also matches a single '/' (zero folders in between)
                if out and out[-1] == "/" and i < n and pattern[i] == "/":
                    out[-1] = "(?:/.*)?"
                    continue
                out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                raise UsageError(
                    "invalid secret selector: a '[' character class is not closed",
                    hint=_SELECTOR_HINT + "; escape a literal '[' as '[[]'",
                )
            body = pattern[i + 1 : j]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            body = body.replace("\\", "\\\\")
            out.append(f"(?!/)[{body}]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class SecretSelector:
    """One parsed selector; :meth:`matches` tells whether a secret is selected."""

    kind: str  # "id" | "path" | "name"
    pattern: str = field(repr=False)
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> SecretSelector:
        if text is None or not text.strip():
            raise UsageError("invalid secret selector: it is empty", hint=_SELECTOR_HINT)
        raw = text.strip()
        if raw.lower().startswith("id:"):
            value = raw[3:].strip()
            try:
                parsed = uuid.UUID(value)
            except ValueError:
                raise UsageError(
                    "invalid secret selector: 'id:' must be followed by a secret id (a UUID)",
                    hint=_SELECTOR_HINT,
                ) from None
            return cls(kind="id", pattern=str(parsed))
        if "\x00" in raw or "\n" in raw:
            raise UsageError(
                "invalid secret selector: it contains control characters", hint=_SELECTOR_HINT
            )
        if not raw.startswith("/") and "/" not in raw.rstrip("/"):
            return cls(kind="name", pattern=raw, _regex=re.compile(_translate(raw), re.S))
        rooted = normalize_path(raw if raw.startswith("/") else "/" + raw)
        if "//" in rooted:
            raise UsageError(
                "invalid secret selector: it has an empty path segment", hint=_SELECTOR_HINT
            )
        return cls(kind="path", pattern=rooted, _regex=re.compile(_translate(rooted), re.S))

    def matches(self, path: str, name: str, secret_id: str) -> bool:
        """Whether the secret ``path``/``name`` with id ``secret_id`` is selected."""
        if self.kind == "id":
            return secret_id.lower() == self.pattern
        assert self._regex is not None
        if self.kind == "name":
            return self._regex.fullmatch(name) is not None
        full = join_path(path, name)
        if self._regex.fullmatch(full):
            return True
        # Also select everything under a matching folder (restic-style include).
        parts = full.split("/")[1:-1]
        prefix = ""
        for part in parts:
            prefix = f"{prefix}/{part}"
            if self._regex.fullmatch(prefix):
                return True
        return False

    def __str__(self) -> str:
        return f"id:{self.pattern}" if self.kind == "id" else self.pattern


@dataclass(frozen=True)
class Selection:
    """A set of selectors (any may match); empty selects everything."""

    selectors: tuple[SecretSelector, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str] | None) -> Selection:
        return cls(tuple(SecretSelector.parse(t) for t in (texts or ())))

    @property
    def everything(self) -> bool:
        return not self.selectors

    def matches(self, path: str, name: str, secret_id: str) -> bool:
        if not self.selectors:
            return True
        return any(s.matches(path, name, secret_id) for s in self.selectors)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(s.pattern for s in self.selectors if s.kind == "id")


def parse_selectors(texts: Sequence[str] | None) -> Selection:
    """Parse the CLI's repeated ``--secret`` values."""
    return Selection.parse(texts)


def check_region(region: str) -> None:
    """Refuse a region the API does not have (the one check backup, restore and copy share)."""
    if region not in REGIONS:
        raise UsageError(
            f"unknown region {region!r}",
            hint=f"use one of {', '.join(REGIONS)}",
            remedy=Remedy.CHOOSE_REGION,
            details={"region": region, "choices": ",".join(REGIONS)},
        )
