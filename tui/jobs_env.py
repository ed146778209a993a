"""How the Jobs tab's runner reaches credentials and stores: the same :class:`Runner` as the
CLI's ``run``, over the console's context.

A context may carry its own :class:`JobEnvironment` (an embedder, a test); otherwise the
console's is used, which never prompts on the terminal (the console owns it): a source without
a profile talks to Scaleway with the console's client, a named profile is resolved as every
command resolves it, and a store is opened with the console's passphrase (the one
``SECRET_KLOSET_PASSPHRASE`` or the profile's keyring entry gave, or the one typed when the
console opened its store).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.credentials import resolve_credentials_async
from core.engine.jobs.clock import clock_from_env
from core.engine.jobs.policies import PolicyFile, StoreSpec, default_policy_path
from core.engine.jobs.runner import CredentialsLike, JobEnvironment, Runner
from core.errors import ConfigError
from core.scaleway.client import ScalewayClient
from core.store import Store
from tui.context import ConsoleContext


class _ConsoleCredentials:
    """The console's current client as the runner's credentials (ids only, no key)."""

    access_key: str | None = None  # unknown here: the API key's expiry is not checked

    def __init__(self, context: ConsoleContext) -> None:
        self._context = context
        self.organization_id = context.organization_id
        self.default_project_id = context.default_project_id
        self.default_region = context.default_region
        self.profile = context.profile_name

    def client(self, **kwargs: object) -> ScalewayClient:
        """The console's client (its transport and retry settings; ``kwargs`` do not apply)."""
        factory = self._context.client_factory
        if factory is None:
            raise ConfigError(
                "no credentials: the console has no profile to talk to Scaleway with",
                hint="add a profile (press p), or set SCW_ACCESS_KEY / SCW_SECRET_KEY",
            )
        return factory()


class ConsoleJobEnvironment:
    """The runner's environment when the console was given none (the demo, tests)."""

    def __init__(self, context: ConsoleContext) -> None:
        self.context = context

    async def credentials(self, profile: str | None) -> CredentialsLike:
        if profile is None:
            return _ConsoleCredentials(self.context)
        return await resolve_credentials_async(profile)

    async def open_store(self, spec: StoreSpec) -> Store:
        ctx = self.context
        if ctx.store_passphrase is None:
            raise ConfigError(
                f"no passphrase for the store {spec.name!r} of the policy file",
                hint="open the store in the console first, set SECRET_KLOSET_PASSPHRASE, or keep "
                "the passphrase in the profile's keyring entry",
            )
        same = ctx.store_location is not None and spec.location == ctx.store_location
        return await Store.open(
            spec.location, ctx.store_passphrase, cache_dir=ctx.store_cache_dir if same else None
        )


def policy_path(context: ConsoleContext) -> Path:
    """The policy file the Jobs tab reads: the context's, else the CLI's default location."""
    return context.policies_path or default_policy_path()


def job_environment(context: ConsoleContext) -> JobEnvironment:
    return context.job_environment or ConsoleJobEnvironment(context)


def job_runner(
    context: ConsoleContext, policies: PolicyFile, on_progress: Callable[[str], None]
) -> Runner:
    """The runner of ``policies`` (the clock of the CLI: ``SECRET_KLOSET_NOW`` for tests)."""
    return Runner(policies, job_environment(context), clock_from_env(), on_progress=on_progress)


__all__ = ["ConsoleJobEnvironment", "job_environment", "job_runner", "policy_path"]
