"""The Jobs tab (issue 11): policies, job history and coverage from a real policy file and the
demo store after a real ``Runner.run``; "run now" adds a job record."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from core.emulator.demo import DEMO_PRODUCTION_PROJECT_ID
from core.engine.jobs.clock import clock_from_env
from core.engine.jobs.history import History
from core.engine.jobs.policies import load_policies
from core.engine.jobs.runner import Runner
from core.store.jobrecords import JobRecords
from tests.tui.conftest import make_app, ready, settle, wait_for
from tui.context import ConsoleContext
from tui.jobs_env import ConsoleJobEnvironment
from tui.screens.jobs import JobsPane, job_key
from tui.widgets.vtable import VirtualTable


def _policy_file(tmp_path: Path, store: str) -> Path:
    path = tmp_path / "policies.toml"
    path.write_text(
        f"""
[stores.primary]
location = "{store}"

[[sources]]
name = "prod-paris"
projects = ["{DEMO_PRODUCTION_PROJECT_ID}"]
regions = ["fr-par"]
environment = "production"
data_class = "critical"

[[policies]]
name = "critical"
match = {{ environment = "production" }}
store = "primary"
every = "1h"
keep = {{ last = 5 }}
check = "structure"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def _state_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the runner's job locks
    monkeypatch.delenv("SECRET_KLOSET_POLICIES", raising=False)
    monkeypatch.delenv("SECRET_KLOSET_NOW", raising=False)


async def _records(ctx: ConsoleContext) -> list[dict[str, object]]:
    store = ctx.store
    assert store is not None
    return History(await JobRecords(store).all()).records


async def test_jobs_tab_shows_policies_history_coverage_and_runs_a_job_now(
    demo_ctx: ConsoleContext, tmp_path: Path
) -> None:
    assert demo_ctx.store_location is not None
    demo_ctx.policies_path = _policy_file(tmp_path, demo_ctx.store_location)
    app = make_app(demo_ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        # A real run of the runner, as `secret-kloset run` does it, before the tab is read.
        policies = load_policies(demo_ctx.policies_path)
        report = await Runner(policies, ConsoleJobEnvironment(demo_ctx), clock_from_env()).run()
        assert [j.status for j in report.jobs] == ["ok"]
        first = report.jobs[0]

        await pilot.press("5")
        pane = app.screen.query_one(JobsPane)
        pane.action_reload()
        await settle(pilot, 3)
        await wait_for(pilot, lambda: first.id in pane.records)
        await wait_for(pilot, lambda: pane.coverage is not None)

        rows = app.screen.query_one("#job-policies", VirtualTable)
        row = rows.get_row(job_key("critical", "prod-paris"))
        assert row is not None
        assert row.cells[:4] == ("critical", "prod-paris", "primary", "1h")
        assert row.cells[5] not in ("due now", "")  # it just succeeded: due in an hour
        history = app.screen.query_one("#job-history", VirtualTable)
        assert history.visible_keys() == [first.id]
        steps = str(app.screen.query_one("#job-steps", Static).render())
        assert "backup" in steps and "forget" in steps and "check" in steps
        coverage = app.screen.query_one("#job-coverage", VirtualTable)
        covered = coverage.get_row(f"{DEMO_PRODUCTION_PROJECT_ID}/fr-par")
        assert covered is not None and covered.cells[2] == "ok"
        others = [coverage.get_row(k) for k in coverage.visible_keys()]
        uncovered = [r for r in others if r is not None and r.cells[2] == "uncovered"]
        assert uncovered and all(r.style == "bad" for r in uncovered)

        # Run now: the same runner in a worker; the new job lands in the history.
        rows.focus()
        await pilot.press("n")
        await wait_for(pilot, lambda: len(pane.records) == 2, limit=30)
        records = await _records(demo_ctx)
        assert len(records) == 2
        assert {str(r["id"]) for r in records} == set(pane.records)
        assert any(e.operation == "job" and e.outcome == "ok" for e in app.activity)
        assert "done: critical/prod-paris ok" in pane.progress_lines

        # A cancelled run ends as "cancelled" (in Activity), with no error dialog (the keys'
        # actions back to back: a key press waits for idle, by then the demo's run is over).
        pane.action_run_job()
        pane.action_cancel_job()
        await wait_for(pilot, lambda: not pane.running)
        await settle(pilot, 3)
        assert pane.progress_lines[-1] == "cancelled"
        assert app.activity[-1].outcome == "cancelled"
        assert app.error_reports == []


async def test_jobs_tab_without_a_policy_file_says_where_to_put_one(
    demo_ctx: ConsoleContext, tmp_path: Path
) -> None:
    demo_ctx.policies_path = tmp_path / "nowhere" / "policies.toml"
    app = make_app(demo_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("5")
        await settle(pilot)
        banner = str(app.screen.query_one("#jobs-banner", Static).render())
        assert "No policy file" in banner and "docs/OPERATIONS.md" in banner
        assert str(demo_ctx.policies_path) in banner.replace("\n", "")
        await pilot.press("n")  # nothing to run: a notice, no worker, no error dialog
        await settle(pilot)
        assert app.error_reports == []
