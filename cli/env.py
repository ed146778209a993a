"""The environment variables the CLI reads, named once (the README documents them).

``PROFILE`` must equal ``core.credentials.resolve.PROFILE_ENV`` and ``POLICIES``
``core.engine.jobs.policy_model.POLICIES_ENV`` (tests hold them together): they are repeated
here so that building the parser never imports the credentials package or the engines.
"""

from __future__ import annotations

STORE = "SECRET_KLOSET_STORE"
PASSPHRASE = "SECRET_KLOSET_PASSPHRASE"
PASSPHRASE_COMMAND = "SECRET_KLOSET_PASSPHRASE_COMMAND"
PROFILE = "SECRET_KLOSET_PROFILE"
NEW_PASSPHRASE = "SECRET_KLOSET_NEW_PASSPHRASE"
TO_PASSPHRASE = "SECRET_KLOSET_TO_PASSPHRASE"
FORCE_CONSOLE = "SECRET_KLOSET_FORCE_CONSOLE"
DEBUG = "SECRET_KLOSET_DEBUG"
POLICIES = "SECRET_KLOSET_POLICIES"
