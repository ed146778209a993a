"""The console's session: what every screen works with, passed to it when it is built.

One object holds the state the screens share (profile and credentials through the context,
the API client, the store, the current region and project, the activity log) and tells every
screen on the stack when it changes, with the typed messages of :mod:`tui.messages`. Screens
never import the app: they get a :class:`Session` and post messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.dom import DOMNode
from textual.message import Message

from core.credentials import Credentials
from core.engine.jobs.policies import PolicyFile
from core.engine.jobs.runner import Runner
from core.errors import ConfigError
from core.scaleway.client import ScalewayClient
from core.scaleway.models import REGIONS
from core.store import Store
from core.store.errors import StoreNotFoundError
from tui.context import ConsoleContext
from tui.jobs_env import job_runner, policy_path
from tui.messages import ActivityEntry, ActivityLogged, ProjectChanged, RunFinished, StoreChanged

Broadcast = Callable[[Callable[[], Message]], None]
"""Posts a fresh message (from the factory) to every screen on the stack."""


def _nowhere(make: Callable[[], Message]) -> None:
    """The broadcast of a session that no app runs (tests of the session alone)."""


class Session:
    """The shared state of one console session, and the one place that changes it."""

    def __init__(self, context: ConsoleContext, broadcast: Broadcast = _nowhere) -> None:
        self.context = context
        self.region: str = (
            context.default_region if context.default_region in REGIONS else REGIONS[0]
        )
        self.project_id: str | None = context.default_project_id
        self.project_name: str = ""
        self.project_names: dict[str, str] = {}
        self.store: Store | None = context.store
        self.activity: list[ActivityEntry] = []
        self._client: ScalewayClient | None = None
        self._broadcast = broadcast

    def __repr__(self) -> str:  # ids only
        return f"Session(region={self.region!r}, project={self.project_id!r}, {self.context!r})"

    # ------------------------------------------------------------------ services

    @property
    def title(self) -> str:
        """Who and where: the header's sub-title."""
        ctx = self.context
        who = (
            "demo (built-in emulator)"
            if ctx.demo
            else (ctx.profile_name or ctx.credentials_source or "no profile")
        )
        return f"{who} · {self.region}"

    async def get_client(self) -> ScalewayClient:
        """The session's API client, opened on first use (in the app's event loop)."""
        if self._client is None:
            if self.context.client_factory is None:
                raise ConfigError(
                    "no credentials: the console has no profile to talk to Scaleway with",
                    hint="add a profile (press p), or set SCW_ACCESS_KEY / SCW_SECRET_KEY",
                )
            client = self.context.client_factory()
            await client.__aenter__()
            self._client = client
        return self._client

    async def reset_client(self) -> None:
        """Close the client (after a profile change); the next call opens a new one."""
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(None, None, None)

    @property
    def policy_path(self) -> Path:
        """The Jobs tab's policy file (the context's, else the CLI's default location)."""
        return policy_path(self.context)

    def job_runner(self, policies: PolicyFile, on_progress: Callable[[str], None]) -> Runner:
        """The same runner as ``secret-kloset run``, over this session's context."""
        return job_runner(self.context, policies, on_progress)

    def require_store(self) -> Store:
        if self.store is None:
            raise StoreNotFoundError(
                self.context.store_location or "(none configured)",
                hint="create or open a store first (Snapshots tab, or press m)",
            )
        return self.store

    async def close(self) -> None:
        """Close the client and the store (the console quits)."""
        await self.reset_client()
        store, self.store = self.store, None
        if store is not None:
            await store.close()

    # ------------------------------------------------------------------ changes

    def set_store(self, store: Store) -> None:
        self.store = store
        self.context.store = store
        self._broadcast(StoreChanged)

    def set_project(self, project_id: str, name: str = "", region: str | None = None) -> None:
        self.project_id = project_id
        self.project_name = name or self.project_names.get(project_id, "")
        if region:
            self.region = region
        self._broadcast(ProjectChanged)

    def set_region(self, region: str) -> None:
        self.region = region
        self._broadcast(ProjectChanged)

    def use_credentials(self, creds: Credentials) -> None:
        """A profile was saved or imported: talk to Scaleway with it from now on."""
        self.context.use_credentials(creds)
        if creds.default_region in REGIONS:
            self.region = creds.default_region
        self.project_id = creds.default_project_id
        self.project_name = ""

    def profile_changed(self) -> None:
        self._broadcast(ProjectChanged)

    def log_activity(self, operation: str, target: str, outcome: str, detail: str = "") -> None:
        """Record an operation of this session (names and ids only, never values)."""
        entry = ActivityEntry(datetime.now(UTC), operation, target, outcome, detail)
        self.activity.append(entry)
        self._broadcast(lambda: ActivityLogged(entry))

    def run_finished(
        self,
        operation: str,
        target: str,
        outcome: str,
        detail: str = "",
        *,
        store_changed: bool = False,
    ) -> None:
        """A run ended: it goes to the activity log, and every screen hears of it."""
        self.log_activity(operation, target, outcome, detail)
        self._broadcast(lambda: RunFinished(operation, outcome, store_changed=store_changed))


def session_of(node: DOMNode) -> Session:
    """The session of the app ``node`` runs in (for callers that build a screen without
    one, such as the benchmark)."""
    session = getattr(node.app, "session", None)
    if not isinstance(session, Session):
        raise RuntimeError("this screen runs only inside the secret-kloset console")
    return session


__all__ = ["ActivityEntry", "Session", "session_of"]
