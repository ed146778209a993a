"""What the console runs against: how to reach the API, which store, which profile.

A plain dataclass, built by ``cli/console_cmd.py`` (the default profile and store, or the
demo's emulator and throw-away store) and by tests. The console never builds a
client or opens a store any other way, so a test controls everything it talks to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypedDict

import httpx

from core.credentials import Credentials
from core.engine.jobs.runner import JobEnvironment
from core.scaleway.client import ScalewayClient
from core.store import KdfParams, Store

ClientFactory = Callable[[], ScalewayClient]


class DemoEmulator(Protocol):
    """The demo's emulator as the console and its tests see it (``tui.demo``: a child process,
    or in-process for tests that reach into its state)."""

    @property
    def latency_ms(self) -> float: ...

    @latency_ms.setter
    def latency_ms(self, value: float) -> None: ...

    @property
    def url(self) -> str: ...

    def client(
        self, *, secret_key: str | None = None, project_id: str | None = None
    ) -> ScalewayClient:
        """A client of this emulator (the demo's key unless ``secret_key``)."""
        ...

    def shutdown(self) -> None: ...


class ClientOptions(TypedDict, total=False):
    """Extra keyword arguments for every client the console builds."""

    transport: httpx.AsyncBaseTransport
    backoff_base: float


class StoreInitOptions(TypedDict, total=False):
    """Extra keyword arguments for ``Store.init`` (the demo and tests: cheap KDF parameters)."""

    kdf: KdfParams


@dataclass
class ConsoleContext:
    """Everything the console needs from the outside world.

    ``client_factory`` is None when no credentials were found (the console then opens the
    "add a profile" screen). ``store`` is an already opened store (the demo); otherwise the
    console opens ``store_location`` with ``store_passphrase`` or asks for the passphrase, and
    offers to create a store when there is none.
    """

    client_factory: ClientFactory | None = None
    organization_id: str | None = None
    default_project_id: str | None = None
    default_region: str = "fr-par"
    profile_name: str | None = None
    credentials_source: str = ""
    store: Store | None = None
    store_location: str | None = None
    store_passphrase: str | None = None
    store_cache_dir: Path | None = None
    store_init_options: StoreInitOptions = field(default_factory=lambda: StoreInitOptions())
    demo: bool = False
    # An in-process demo passes ``transport=ThreadedASGITransport(...)`` so that new profiles
    # reach its emulator; the demo's child process is reached at ``demo_api_url``.
    client_options: ClientOptions = field(default_factory=lambda: ClientOptions())
    reveal_seconds: float = 5.0
    # Run (in the app's event loop) before anything else; returns the opened store (the demo
    # creates its throw-away store and makes its first snapshots there).
    startup: Callable[[], Awaitable[Store]] | None = None
    # The demo's emulator (tests set its latency and make peer clients of it).
    emulator: DemoEmulator | None = None
    # The demo emulator's URL once it listens (the profile screen prefills it).
    demo_api_url: str | None = None
    # Called (in the app's event loop) when the console quits: closes demo resources.
    on_close: Callable[[], Awaitable[None]] | None = None
    # When set, replaces the clipboard (tests record what would have been copied).
    clipboard: Callable[[str], None] | None = None
    # The Jobs tab: the policy file (None: the default location, as the CLI's) and how its
    # runner reaches credentials and stores (None: the console's own, see tui.jobs_env).
    policies_path: Path | None = None
    job_environment: JobEnvironment | None = None

    def make_client(
        self,
        secret_key: str,
        *,
        api_url: str | None,
        organization_id: str | None,
        default_project_id: str | None,
        default_region: str,
    ) -> ScalewayClient:
        """A client for credentials typed into the console (``test connection``)."""
        return ScalewayClient(
            secret_key=secret_key,
            api_url=api_url,
            organization_id=organization_id,
            default_project_id=default_project_id,
            default_region=default_region,
            **self.client_options,
        )

    def use_credentials(self, creds: Credentials) -> None:
        """Switch the console to ``creds``."""
        options = ClientOptions(**self.client_options)
        self.client_factory = lambda: creds.client(**options)
        self.organization_id = creds.organization_id
        self.default_project_id = creds.default_project_id
        self.default_region = creds.default_region
        self.profile_name = creds.profile
        self.credentials_source = creds.source

    @property
    def has_credentials(self) -> bool:
        return self.client_factory is not None

    def __repr__(self) -> str:  # never a passphrase or a key
        return (
            f"ConsoleContext(profile={self.profile_name!r}, region={self.default_region!r}, "
            f"demo={self.demo}, store={'open' if self.store is not None else self.store_location!r})"
        )
