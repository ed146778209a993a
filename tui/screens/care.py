"""Store care: check, retention (forget + prune) with a preview, passphrases, stale locks."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from core.errors import UsageError
from core.store.ops.check import CheckReport, check_store
from core.store.ops.forget import ForgetResult, GroupBy, RetentionDuration, RetentionPolicy, forget
from core.store.ops.prune import prune
from tui.actions import Where, bindings
from tui.format import human_bytes, short_time
from tui.glyphs import BULLET, FAIL, ICON, NONE, OK
from tui.messages import ShowError
from tui.screens.dialogs import ConfirmDialog
from tui.screens.setup import passphrase_strength
from tui.session import Session
from tui.widgets.vtable import Column, Row, VirtualTable
from tui.widgets.wrapping import Checkbox
from tui.workers import ReportsFailures


def _int(text: str, name: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise UsageError(
            f"keep {name} must be a number", hint="a count, 0 (off) or -1 (unlimited)"
        ) from None


class StoreCareScreen(ReportsFailures, Screen[None]):
    """Maintenance of the open store."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.CARE)

    def __init__(self, session: Session, tab: str = "check") -> None:
        super().__init__()
        self.session = session
        self.tab = tab if tab in ("check", "retention", "keys", "locks") else "check"
        self.preview: ForgetResult | None = None
        self.check_report: CheckReport | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        store = self.session.store
        where = store.location if store is not None else "?"
        yield Static(f"Store care · {where}", classes="step-title")
        with TabbedContent(initial=self.tab, id="care-tabs"):
            with TabPane("Check", id="check"), VerticalScroll(classes="form"):
                yield Static(
                    "Checks that every object's MAC holds and every blob a snapshot references "
                    "exists. With “read data”, also decrypts and verifies every blob.",
                    classes="step-help",
                )
                yield Checkbox("Read and verify all data (slower)", value=False, id="read-data")
                with Horizontal(classes="buttons"):
                    yield Button("Run check", variant="primary", id="run-check", compact=True)
                yield Static("", id="check-result")
            with TabPane("Retention", id="retention"), Vertical():
                yield Static(
                    "Keep rules (a count per period, 0 = off, -1 = all; within = 30d, 6m, 1y):",
                    classes="step-help",
                )
                with Horizontal(id="retention-form"):
                    for key, label in (
                        ("last", "last"),
                        ("hourly", "hourly"),
                        ("daily", "daily"),
                        ("weekly", "weekly"),
                        ("monthly", "monthly"),
                        ("yearly", "yearly"),
                    ):
                        with Vertical(classes="keep"):
                            yield Label(label)
                            yield Input(
                                compact=True, value="3" if key == "last" else "", id=f"keep-{key}"
                            )
                    with Vertical(classes="keep"):
                        yield Label("within")
                        yield Input(compact=True, placeholder="30d", id="keep-within")
                    with Vertical(classes="keep -wide"):
                        yield Label("group by")
                        yield Select(
                            [
                                ("project", "project"),
                                ("environment", "environment"),
                                ("none", "none"),
                            ],
                            value="project",
                            allow_blank=False,
                            compact=True,
                            id="group-by",
                        )
                with Horizontal(classes="buttons"):
                    yield Button("Preview", variant="primary", id="preview", compact=True)
                    yield Button("Apply: forget + prune", variant="error", id="apply", compact=True)
                yield Static(
                    "Set the keep rules, then Preview: nothing is removed until you apply.",
                    id="retention-summary",
                )
                yield VirtualTable(
                    (
                        Column("Decision", 8),
                        Column("Time", 16),
                        Column("Id", 8),
                        Column("Group", 10, grow=1),
                        Column("Why", 10, grow=2),
                    ),
                    empty_text="No preview yet.",
                    id="retention-table",
                )
            with TabPane("Passphrases", id="keys"), VerticalScroll(classes="form"):
                yield VirtualTable(
                    (
                        Column("Key slot", 12),
                        Column("Created", 16),
                        Column("Current", 7),
                        Column("Host", 8, grow=1),
                    ),
                    empty_text="Loading…",
                    id="keys-table",
                )
                yield Label("New passphrase")
                yield Input(compact=True, password=True, id="new-pass")
                yield Static("", id="new-strength")
                yield Label("Again")
                yield Input(compact=True, password=True, id="new-pass2")
                with Horizontal(classes="buttons"):
                    yield Button("Add passphrase", variant="primary", id="add-key", compact=True)
                    yield Button("Change the current one", id="change-key", compact=True)
            with TabPane("Locks", id="locks"), Vertical():
                yield VirtualTable(
                    (
                        Column("Lock", 10),
                        Column("Kind", 9),
                        Column("Host", 8, grow=1),
                        Column("Pid", 7),
                        Column("Since", 16),
                        Column("Expires", 16),
                        Column("State", 6),
                    ),
                    empty_text="No locks: nobody is writing to the store.",
                    id="locks-table",
                )
                with Horizontal(classes="buttons"):
                    yield Button(
                        "Remove stale locks", variant="warning", id="remove-locks", compact=True
                    )
                    yield Button("Reload", id="reload-locks", compact=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._load_keys()
        self._load_locks()

    def action_back(self) -> None:
        self.dismiss(None)

    # -------------------------------------------------------------- check

    @on(Button.Pressed, "#run-check")
    def _run_check(self) -> None:
        self.query_one("#check-result", Static).update(Text("Checking…", style="italic"))
        self._check(self.query_one("#read-data", Checkbox).value)

    @work(exclusive=True, group="care-check", exit_on_error=False)
    async def _check(self, read_data: bool) -> None:
        session = self.session
        store = session.require_store()
        report = await check_store(store, read_data=read_data)
        self.check_report = report
        ok = report.ok
        text = Text(
            f"{OK} The store is healthy.\n" if ok else f"{FAIL} The store has problems.\n",
            style="bold green" if ok else "bold red",
        )
        data = report.to_json()
        for key, value in data.items():
            if key in ("ok", "errors", "problems"):
                continue
            if isinstance(value, (int, float, str, bool)):
                text.append(f"{key.replace('_', ' '):<20}", style="bold")
                text.append(f"{value}\n")
        problems = report.errors or report.problems
        for p in problems[:20]:
            text.append(f"{BULLET} {p.message}\n", style="red")
        self.query_one("#check-result", Static).update(text)
        session.log_activity(
            "check", "store", "ok" if ok else "failed", "read data" if read_data else "structure"
        )

    # -------------------------------------------------------------- retention

    def _policy(self) -> RetentionPolicy:
        within_text = self.query_one("#keep-within", Input).value.strip()
        return RetentionPolicy(
            keep_last=_int(self.query_one("#keep-last", Input).value, "last"),
            keep_hourly=_int(self.query_one("#keep-hourly", Input).value, "hourly"),
            keep_daily=_int(self.query_one("#keep-daily", Input).value, "daily"),
            keep_weekly=_int(self.query_one("#keep-weekly", Input).value, "weekly"),
            keep_monthly=_int(self.query_one("#keep-monthly", Input).value, "monthly"),
            keep_yearly=_int(self.query_one("#keep-yearly", Input).value, "yearly"),
            keep_within=RetentionDuration.parse(within_text) if within_text else None,
            group_by=GroupBy(str(self.query_one("#group-by", Select).value)),
        )

    @on(Button.Pressed, "#preview")
    def _preview(self) -> None:
        try:
            policy = self._policy()
        except Exception as err:
            self.post_message(ShowError(err))
            return
        self._forget(policy, True)

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        try:
            policy = self._policy()
        except Exception as err:
            self.post_message(ShowError(err))
            return
        if self.preview is None or self.preview.policy != policy:
            self.notify("Preview first: apply uses the rules you previewed.", severity="warning")
            return
        removed = len(self.preview.removed)
        if not removed:
            self.notify("The preview removes nothing.", severity="information")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._forget(policy, False)

        self.app.push_screen(
            ConfirmDialog(
                "Forget and prune?",
                f"{removed} snapshot(s) will be forgotten, then prune drops the data no snapshot "
                "uses any more. This cannot be undone.",
                yes="Forget + prune",
            ),
            answered,
        )

    @work(exclusive=True, group="care-forget", exit_on_error=False)
    async def _forget(self, policy: RetentionPolicy, dry_run: bool) -> None:
        session = self.session
        store = session.require_store()
        result = await forget(store, policy, dry_run=dry_run)
        rows: list[Row] = []
        for n, d in enumerate(
            sorted(result.decisions, key=lambda d: d.snapshot.time, reverse=True)
        ):
            h = d.snapshot
            label = " ".join(f"{v}" for v in d.group if v)[:40]
            rows.append(
                Row(
                    f"{n}",
                    (
                        "keep" if d.keep else "REMOVE",
                        short_time(h.time),
                        h.id[:8],
                        label,
                        ", ".join(d.reasons) or ("no rule keeps it" if not d.keep else ""),
                    ),
                    style="" if d.keep else "bad",
                )
            )
        self.query_one("#retention-table", VirtualTable).set_rows(rows)
        summary = Text()
        rules = "; ".join(policy.describe()) or "no rule"
        if dry_run:
            self.preview = result
            summary.append(f"Preview ({rules}): ", style="bold")
            summary.append(f"keep {len(result.kept)}, ", style="green")
            summary.append(f"remove {len(result.removed)}", style="red" if result.removed else "")
            summary.append(". Nothing has been removed yet.", style="dim")
            session.log_activity(
                "retention preview",
                "store",
                "ok",
                f"keep {len(result.kept)}, remove {len(result.removed)}",
            )
        else:
            self.preview = None
            summary.append(f"Forgot {len(result.removed_done)} snapshot(s). ", style="bold")
            freed = (await prune(store)).bytes_freed
            summary.append(
                "Pruned" + (f": {human_bytes(freed)} freed." if freed else "."), style="green"
            )
            session.run_finished(
                "forget + prune",
                "store",
                "ok",
                f"{len(result.removed_done)} snapshots removed",
                store_changed=True,
            )
        self.query_one("#retention-summary", Static).update(summary)

    # -------------------------------------------------------------- keys

    @work(exclusive=True, group="care-keys", exit_on_error=False)
    async def _load_keys(self) -> None:
        store = self.session.require_store()
        keys = await store.list_keys()
        rows = [
            Row(
                k.id, (k.id[:12], short_time(k.created), "yes" if k.current else "", k.host or NONE)
            )
            for k in keys
        ]
        table = self.query_one("#keys-table", VirtualTable)
        table.empty_text = "No key slot."
        table.set_rows(rows)

    @on(Input.Changed, "#new-pass")
    def _strength(self, event: Input.Changed) -> None:
        bits, word = passphrase_strength(event.value)
        self.query_one("#new-strength", Static).update(
            f"strength: {word} (~{bits} bits)" if event.value else ""
        )

    def _new_passphrase(self) -> str | None:
        p1 = self.query_one("#new-pass", Input).value
        p2 = self.query_one("#new-pass2", Input).value
        if not p1:
            self.notify("Enter the new passphrase.", severity="warning")
            return None
        if p1 != p2:
            self.notify("The two passphrases differ.", severity="error")
            return None
        return p1

    @on(Button.Pressed, "#add-key")
    def _add_key(self) -> None:
        passphrase = self._new_passphrase()
        if passphrase is not None:
            self._keys_op(passphrase, change=False)

    @on(Button.Pressed, "#change-key")
    def _change_key(self) -> None:
        passphrase = self._new_passphrase()
        if passphrase is not None:
            self._keys_op(passphrase, change=True)

    @work(exclusive=True, group="care-keys-op", exit_on_error=False)
    async def _keys_op(self, passphrase: str, change: bool) -> None:
        session = self.session
        store = session.require_store()
        kdf = session.context.store_init_options.get("kdf")
        if change:
            info = await store.change_passphrase(passphrase, kdf=kdf)
            session.log_activity("change passphrase", f"key {info.id[:8]}", "ok")
            self.notify("Passphrase changed: the old one no longer opens the store.")
        else:
            info = await store.add_key(passphrase, kdf=kdf)
            session.log_activity("add passphrase", f"key {info.id[:8]}", "ok")
            self.notify("Passphrase added: either one opens the store.")
        self.query_one("#new-pass", Input).value = ""
        self.query_one("#new-pass2", Input).value = ""
        self._load_keys()

    # -------------------------------------------------------------- locks

    @work(exclusive=True, group="care-locks", exit_on_error=False)
    async def _load_locks(self) -> None:
        store = self.session.require_store()
        locks = await store.list_locks()
        rows: list[Row] = []
        for lk in locks:
            stale = lk.stale()
            rows.append(
                Row(
                    lk.id,
                    (
                        lk.id[:10],
                        "exclusive" if lk.exclusive else "shared",
                        lk.host,
                        str(lk.pid),
                        short_time(lk.time),
                        short_time(lk.expires),
                        "stale" if stale else "live",
                    ),
                    style="warn" if stale else "",
                )
            )
        self.query_one("#locks-table", VirtualTable).set_rows(rows)

    @on(Button.Pressed, "#reload-locks")
    def _reload_locks(self) -> None:
        self._load_locks()

    @on(Button.Pressed, "#remove-locks")
    def _remove_locks(self) -> None:
        self._remove_stale()

    @work(exclusive=True, group="care-locks-op", exit_on_error=False)
    async def _remove_stale(self) -> None:
        session = self.session
        removed = await session.require_store().remove_stale_locks()
        session.log_activity("remove stale locks", "store", "ok", f"{len(removed)} removed")
        self.notify(
            f"{len(removed)} stale lock(s) removed." if removed else "No stale lock to remove."
        )
        self._load_locks()
