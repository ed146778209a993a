"""A restore plan and its report as tables, and their summaries (restore and copy share them)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from core.engine.restore import PlannedAction, RestorePlan, RestoreResult
from tui.glyphs import FAIL, NONE, OK, WARN
from tui.widgets.vtable import Column, Row

PLAN_COLUMNS = (
    Column("Action", 14),
    Column("Secret", 14, grow=3),
    Column("Revisions", 9),
    Column("Destination", 12, grow=1),
    Column("Detail", 10, grow=2),
)
REPORT_COLUMNS = (
    Column("Outcome", 9),
    Column("Action", 14),
    Column("Secret", 14, grow=3),
    Column("Revisions", 9),
    Column("Added as", 8),
    Column("Verified", 8),
    Column("Detail", 10, grow=2),
)
ACTION_TEXT = {
    "create": "create secret",
    "recover": "recover",
    "add_version": "add version",
    "skip_identical": "identical",
    "skip": "skip",
    "conflict": "CONFLICT",
}


def _revisions(action: PlannedAction) -> str:
    revs = [v.revision for v in action.versions]
    if not revs:
        return NONE
    if len(revs) > 3:
        return f"{revs[0]}…{revs[-1]} ({len(revs)})"
    return ",".join(str(r) for r in revs)


def where_text(project_id: str, region: str, names: Mapping[str, str]) -> str:
    """The destination as people know it: the project's name (else its whole id) and region."""
    return f"{names.get(project_id) or project_id} · {region}"


def plan_rows(plan: RestorePlan, names: Mapping[str, str] | None = None) -> list[Row]:
    """``Revisions``: the snapshot's revisions each action restores (the report's too)."""
    rows: list[Row] = []
    for n, a in enumerate(plan.actions):
        style = "bad" if a.action == "conflict" else ("dim" if not a.changes else "")
        rows.append(
            Row(
                str(n),
                (
                    ACTION_TEXT.get(str(a.action), str(a.action)),
                    a.record.full_path,
                    _revisions(a),
                    where_text(a.project_id, a.region, names or {}),
                    a.detail,
                ),
                style=style,
            )
        )
    return rows


def report_rows(plan: RestorePlan) -> list[Row]:
    rows: list[Row] = []
    for n, a in enumerate(plan.actions):
        outcome = str(a.outcome)
        style = {"failed": "bad", "conflict": "bad", "skipped": "dim", "unchanged": "dim"}.get(
            outcome, ""
        )
        verified = NONE if a.verified is None else ("yes" if a.verified else "NO")
        if a.verified is False:
            style = "bad"
        added_as = ",".join(str(r) for r in a.restored_revisions) or NONE
        rows.append(
            Row(
                str(n),
                (
                    outcome,
                    ACTION_TEXT.get(str(a.action), str(a.action)),
                    a.record.full_path,
                    _revisions(a),
                    added_as,
                    verified,
                    a.error or a.detail,
                ),
                style=style,
            )
        )
    return rows


def plan_counts_text(plan: RestorePlan) -> Text:
    counts = plan.counts()
    changes = sum(1 for a in plan.actions if a.changes)
    text = Text()
    text.append(f"{len(plan.actions)} secrets: ", style="bold")
    parts = [
        ("create", "green"),
        ("recover", "green"),
        ("add_version", "green"),
        ("skip_identical", "dim"),
        ("skip", "dim"),
        ("conflict", "red"),
    ]
    for key, style in parts:
        if counts.get(key):
            text.append(f"{ACTION_TEXT[key]} {counts[key]}   ", style=style)
    text.append("\n")
    if plan.conflicts:
        text.append(
            f"{len(plan.conflicts)} conflict(s): with “fail” nothing will be changed. Go back and pick "
            "“new version” or “skip”.",
            style="bold red",
        )
    elif changes:
        text.append(
            f"{changes} secret(s) will change. Nothing happens until you confirm.",
            style="bold yellow",
        )
    else:
        text.append("Nothing to do: the destination already matches.", style="bold green")
    return text


def result_summary(result: RestoreResult, what: str) -> Text:
    """Two or three lines: the outcome, then the counts (the table below has the details)."""
    s = result.summary()
    status = result.status
    ok = status == "ok"
    title = {
        "ok": f"{OK} {what} done",
        "partial": f"{WARN} {what} finished with failures",
        "failed": f"{FAIL} {what} failed",
        "interrupted": f"{WARN} {what} interrupted: the report shows what was done",
    }.get(status, f"{what}: {status}")
    text = Text(title + "\n", style="bold green" if ok else "bold yellow")
    parts = [
        f"{s['secrets']} secrets",
        f"{s.get('ok', 0)} applied",
        f"{s.get('unchanged', 0)} unchanged",
        f"{s.get('skipped', 0)} skipped",
        f"{s.get('failed', 0)} failed",
        f"{s['versions_added']} versions added",
    ]
    if result.verify:
        parts.append(f"verified {s['verified']} ok, {s['verify_failed']} mismatched")
    parts.append(f"{result.duration_seconds:.1f} s")
    text.append(" · ".join(parts) + "\n")
    return text
