"""The console at scale (issue 10): a 50,000-secret snapshot opens on its first rows and
filters over every row; a live listing that is still arriving leaves the UI answering keys.

Functional only: no timing is asserted (benchmarks/console_bench.py measures the times).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from core.emulator.app import EmulatorApp
from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID, demo_state
from core.emulator.state import SecretState, VersionState
from core.store import KdfParams, Store
from core.store.model import SecretRecord, SnapshotSummary, SourceInfo, VersionRecord
from tests.tui.conftest import make_app, settle, wait_for
from tui.context import ConsoleContext
from tui.demo import ThreadedASGITransport, demo_client
from tui.screens.main import MainScreen
from tui.screens.snapshot import SnapshotScreen
from tui.widgets.browser import SecretsBrowser

PROJECT = "a1b2c3d4-1111-4a5b-8c6d-0e1f2a3b4c5d"
COUNT = 50_000
TEAMS = ("payments", "search", "identity", "billing", "data", "infra", "mobile", "web")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _uuid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


async def _build(root: Path) -> str:
    """A store with one snapshot of COUNT secrets (metadata-only versions: cheap to write)."""
    store = await Store.init(
        str(root / "store"), "scale", kdf=KdfParams.for_tests(), cache_dir=root / "cache"
    )
    try:
        async with store.writer(tags=("scale",)) as w:
            for i in range(COUNT):
                team = TEAMS[i % len(TEAMS)]
                version = VersionRecord(
                    revision=1, status="disabled", created_at=BASE, latest=True, payload=None
                )
                await w.put_record(
                    SecretRecord(
                        region="fr-par",
                        project_id=PROJECT,
                        secret_id=_uuid(i),
                        name=f"secret-{i:05d}",
                        path=f"/{('prod', 'staging', 'dev')[i % 3]}/{team}",
                        type="opaque",
                        tags=(team,),
                        created_at=BASE,
                        updated_at=BASE + timedelta(seconds=i),
                        version_count=1,
                        versions=(version,),
                    )
                )
            header = await w.commit(
                sources=(SourceInfo(region="fr-par", project_id=PROJECT, project_name="scale"),),
                summary=SnapshotSummary(secrets=COUNT, versions=COUNT),
            )
    finally:
        await store.close()
    return header.id


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Built once for the module (a 50,000-secret snapshot takes a few seconds to write)."""
    root = tmp_path_factory.mktemp("scale")
    return root, asyncio.run(_build(root))


async def _open_snapshot(pilot: Any, root: Path, snapshot_id: str) -> SecretsBrowser:
    app = pilot.app
    await pilot.pause()
    while len(app.screen_stack) > 1:  # no credentials: the profile screen
        app.pop_screen()
        await pilot.pause()
    header = await app.store.resolve_snapshot(snapshot_id)
    await app.push_screen(SnapshotScreen(header))
    return app.screen.query_one("#snapshot-browser", SecretsBrowser)


async def test_a_50k_snapshot_shows_its_first_rows_and_filters_every_row(
    big_store: tuple[Path, str],
) -> None:
    root, snapshot_id = big_store
    store = await Store.open(str(root / "store"), "scale", cache_dir=root / "cache")
    app = make_app(ConsoleContext(store=store, default_project_id=PROJECT))
    async with app.run_test(size=(140, 42)) as pilot:
        browser = await _open_snapshot(pilot, root, snapshot_id)
        table = browser.table
        await wait_for(pilot, lambda: table.total_count > 0, limit=60)
        # The first rows are drawn from the first chunk: the tree's order (path, then name).
        lines = [table.render_line(y).text for y in range(1, 4)]
        assert all("secret-" in line for line in lines)
        await wait_for(pilot, lambda: browser.loading_done, limit=120)
        assert table.total_count == COUNT
        first_name = lines[0].split()[1]
        assert table.render_line(1).text.split()[1] == first_name  # nothing moved meanwhile

        # Filtering reaches every row, the last chunk's too, through the keys.
        await pilot.press("slash")
        for key in "secret-49999":
            await pilot.press(key)
        assert table.visible_keys() == [_uuid(49_999)]
        assert "secret-49999" in table.render_line(1).text
        await pilot.press("escape")
        assert table.row_count == COUNT
        browser.set_filter("billing")  # a tag: one secret in eight
        assert table.row_count == COUNT // len(TEAMS)
        browser.set_filter("")

        # The folder tree counts every secret; a folder's children appear once it opens.
        from textual.widgets import Tree

        tree = browser.query_one("#folders", Tree)
        assert str(tree.root.label) == f"/ ({COUNT})"
        prod = next(n for n in tree.root.children if n.data == "/prod")
        assert not prod.children and prod.allow_expand
        prod.expand()
        await pilot.pause()
        assert {n.data for n in prod.children} == {f"/prod/{t}" for t in TEAMS}

        # A secret's versions are read back from the store when the cursor rests on it.
        table.focus()
        await pilot.press("down")
        entry = browser.current
        assert entry is not None and entry.ref is None  # the entry keeps no decoded record
        await wait_for(pilot, lambda: bool(browser.versions_of(entry)), limit=10)
        assert [v.revision for v in browser.versions_of(entry)] == [1]
    await store.close()


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class Gate:
    """Once armed, holds every secrets list page but the first until ``release``; notes the
    threads it ran on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = False
        self.opened = threading.Event()
        self.threads: set[str] = set()

    def release(self) -> None:
        self.opened.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.threads.add(threading.current_thread().name)
            query = parse_qs(scope.get("query_string", b"").decode())
            page = query.get("page", ["1"])[0]
            if self.armed and scope["path"].endswith("/secrets") and page != "1":
                while not self.opened.is_set():  # noqa: ASYNC110 (set from another thread)
                    await asyncio.sleep(0.01)
        await self.app(scope, receive, send)


LIVE = 3_000


async def test_keys_are_handled_while_a_live_listing_is_still_arriving() -> None:
    state = demo_state()
    for i in range(LIVE):
        secret = SecretState(
            id=_uuid(10_000_000 + i),
            project_id=DEMO_PRODUCTION_PROJECT_ID,
            region="fr-par",
            name=f"live-{i:05d}",
            path=f"/{TEAMS[i % len(TEAMS)]}",
            created_at=BASE + timedelta(seconds=i),
            updated_at=BASE + timedelta(seconds=i),
        )
        secret.versions.append(
            VersionState(revision=1, data=b"v", created_at=BASE, updated_at=BASE)
        )
        secret.next_revision = 2
        state.add_secret(secret)
    expected = sum(
        1 for s in state.iter_secrets("fr-par") if s.project_id == DEMO_PRODUCTION_PROJECT_ID
    )
    gate = Gate(EmulatorApp(state, seed=7))
    transport = ThreadedASGITransport(gate)
    ctx = ConsoleContext(
        client_factory=lambda: demo_client(transport),
        default_project_id=DEMO_PRODUCTION_PROJECT_ID,
    )
    app = make_app(ctx)
    try:
        async with app.run_test(size=(140, 42)) as pilot:
            await pilot.pause()
            while len(app.screen_stack) > 1:  # no store: the set-up screen
                app.pop_screen()
                await pilot.pause()
            await settle(pilot)  # the projects tab has counted the project's secrets
            screen = app.screen
            assert isinstance(screen, MainScreen)
            gate.armed = True
            screen.show_tab("secrets")
            browser = screen.query_one("#live-browser", SecretsBrowser)
            table = browser.table
            await wait_for(pilot, lambda: table.total_count > 0, limit=30)
            assert not browser.loading_done  # the other pages are held at the gate

            # Keys are handled while the listing waits for its pages.
            table.focus()
            await pilot.press("down")
            await pilot.press("down")
            assert table.cursor == 2
            await pilot.press("slash")
            for key in "live-0000":
                await pilot.press(key)
            assert table.filter_text == "live-0000"
            assert not browser.loading_done

            gate.release()
            await wait_for(pilot, lambda: browser.loading_done, limit=120)
            assert table.total_count == expected
            # The filter typed early now covers every row, the last pages' too.
            browser.set_filter("live-02999")
            assert [browser.entries[k].name for k in table.visible_keys()] == ["live-02999"]
        # The emulator answered on its own thread, never on the console's event loop.
        assert gate.threads and threading.main_thread().name not in gate.threads
    finally:
        transport.shutdown()
