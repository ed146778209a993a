"""``secret-kloset`` / ``secret-kloset demo``: lazy Textual, the terminal check, the context."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from cli.commands.console import build_console_context
from cli.main import main
from core.credentials.keyring_store import set_store_passphrase
from core.credentials.profiles import Profile, add_profile
from core.emulator.demo import DEMO_ORGANIZATION_ID, DEMO_PRODUCTION_PROJECT_ID, DEMO_SECRET_KEY
from tui.context import ConsoleContext

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from cli.main import build_parser\n"
        "build_parser().parse_args(['demo'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_console_needs_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "needs a terminal" in err and "hint:" in err


def test_default_profile_store_and_keyring_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_profile(
        Profile(
            name="work",
            access_key="SCWDEMOKLOSET0000001",
            organization_id=DEMO_ORGANIZATION_ID,
            default_project_id=DEMO_PRODUCTION_PROJECT_ID,
            default_region="nl-ams",
        ),
        DEMO_SECRET_KEY,
        make_default=True,
    )
    set_store_passphrase("work", "kept in the keyring")
    monkeypatch.setenv("SECRET_KLOSET_STORE", str(tmp_path / "store"))
    ctx = build_console_context(argparse.Namespace())
    assert isinstance(ctx, ConsoleContext)
    assert ctx.has_credentials and ctx.profile_name == "work"
    assert ctx.default_region == "nl-ams" and ctx.default_project_id == DEMO_PRODUCTION_PROJECT_ID
    assert ctx.store_location == str(tmp_path / "store")
    assert ctx.store_passphrase == "kept in the keyring"
    assert "kept in the keyring" not in repr(ctx) and DEMO_SECRET_KEY not in repr(ctx)


def test_no_credentials_opens_the_first_run_screen() -> None:
    ctx = build_console_context(argparse.Namespace())
    assert isinstance(ctx, ConsoleContext)
    assert not ctx.has_credentials
    assert ctx.store_location  # the default local store under the XDG data dir


def _work_profile(name: str, *, default: bool = False) -> None:
    add_profile(
        Profile(
            name=name,
            access_key="SCWDEMOKLOSET0000001",
            organization_id=DEMO_ORGANIZATION_ID,
            default_project_id=DEMO_PRODUCTION_PROJECT_ID,
            default_region="nl-ams",
            store=f"/tmp/store-of-{name}",
        ),
        DEMO_SECRET_KEY,
        make_default=default,
    )


def test_the_console_opens_on_the_profile_it_used_last(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.credentials.profiles import ProfileStore
    from tui.state import ConsoleState, save_state

    _work_profile("work")
    _work_profile("play")
    ProfileStore().set_default(None)  # the first profile added became the default
    save_state(ConsoleState(profile="play"))
    ctx = build_console_context(argparse.Namespace())
    assert ctx.has_credentials and ctx.profile_name == "play"
    assert ctx.store_location == "/tmp/store-of-play"  # the remembered profile's store too
    # --profile, SECRET_KLOSET_PROFILE and a default profile all come first.
    ctx = build_console_context(argparse.Namespace(profile="work", store=None))
    assert ctx.profile_name == "work"
    monkeypatch.setenv("SECRET_KLOSET_PROFILE", "work")
    assert build_console_context(argparse.Namespace()).profile_name == "work"
    monkeypatch.delenv("SECRET_KLOSET_PROFILE")
    monkeypatch.setenv("SCW_SECRET_KEY", DEMO_SECRET_KEY)
    assert build_console_context(argparse.Namespace()).profile_name is None  # the environment
    monkeypatch.delenv("SCW_SECRET_KEY")
    _work_profile("main", default=True)
    assert build_console_context(argparse.Namespace()).profile_name == "main"


def test_a_remembered_profile_that_is_gone_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.credentials.profiles import ProfileStore
    from tui.state import ConsoleState, save_state

    save_state(ConsoleState(profile="gone"))
    ctx = build_console_context(argparse.Namespace())
    assert not ctx.has_credentials  # the first-run screen, not an error
    _work_profile("kept")
    ProfileStore().set_default(None)
    save_state(ConsoleState(profile="kept"))
    monkeypatch.setattr(  # its key went from the keyring: the usual resolution, no error
        "core.credentials.keyring_store.get_secret_key", lambda name: None
    )
    assert not build_console_context(argparse.Namespace()).has_credentials
