"""The store commands through ``cli.main.main``: exit codes, JSON documents, exact bytes."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from core.store import Store
from tests.store.ops.helpers import PASSPHRASE, Written, payload, secret_id, write_snapshot


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store"
    monkeypatch.setenv("SECRET_KLOSET_STORE", str(path))
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SECRET_KLOSET_KDF", "fast")
    return path


def run(*argv: str) -> int:
    return main(list(argv))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    code = run(*argv, "--json")
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def snapshot(store_path: Path, **kw: Any) -> Written:
    async def go() -> Written:
        store = await Store.open(str(store_path), PASSPHRASE)
        try:
            return await write_snapshot(store, **kw)
        finally:
            await store.close()

    return asyncio.run(go())


@pytest.fixture
def filled(store_path: Path) -> list[Written]:
    assert run("init") == 0
    return [
        snapshot(store_path, secrets=4, versions=2, generation=0, tags=("nightly",)),
        snapshot(store_path, secrets=5, versions=3, generation=0, changed={1}),
    ]


def test_init_twice_is_an_error(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("init") == 0
    assert run("init") == 1
    assert "already exists" in capsys.readouterr().err


def test_missing_store_and_wrong_passphrase_exit_codes(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("snapshots") == 10
    assert run("init") == 0
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "wrong")
    assert run("snapshots") == 12


def test_no_passphrase_without_terminal_is_a_clear_error(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SECRET_KLOSET_PASSPHRASE")
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115
    assert run("snapshots") == 1
    assert "not a terminal" in capsys.readouterr().err


def test_passphrase_command(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("init") == 0
    monkeypatch.delenv("SECRET_KLOSET_PASSPHRASE")
    assert run("snapshots", "--passphrase-command", f"echo '{PASSPHRASE}'") == 0


def test_snapshots_listing(filled: list[Written], capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "snapshots")
    assert [d["id"] for d in doc] == [w.header.id for w in filled]
    assert doc[0]["tags"] == ["nightly"] and doc[0]["status"] == "complete"
    assert doc[1]["summary"]["secrets"] == 5
    assert [d["id"] for d in run_json(capsys, "snapshots", "--tag", "nightly")] == [
        filled[0].header.id
    ]
    other_project = "00000000-0000-4000-8000-00000000abcd"
    assert run_json(capsys, "snapshots", "--project", other_project) == []
    with pytest.raises(SystemExit) as bad:  # not an id: a usage error (issue 9)
        run("snapshots", "--project", "nope")
    assert bad.value.code == 2
    capsys.readouterr()
    assert run("snapshots") == 0
    text = capsys.readouterr().out
    assert filled[0].header.short_id in text and "nightly" in text


def test_ls_and_selectors(filled: list[Written], capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "ls", "latest")
    assert doc["snapshot"]["id"] == filled[1].header.id
    assert len(doc["secrets"]) == 5
    assert doc["secrets"][0]["versions"][0]["has_data"] is True
    one = run_json(capsys, "ls", filled[0].header.id[:10], "/app/1/*")
    assert {s["name"] for s in one["secrets"]} == {"secret-1"}
    by_id = run_json(capsys, "ls", "latest", f"id:{secret_id(3)}")
    assert [s["secret_id"] for s in by_id["secrets"]] == [secret_id(3)]
    capsys.readouterr()
    assert run("ls", "latest") == 0
    assert "/app/2/secret-2" in capsys.readouterr().out


def test_cat_writes_exact_bytes(
    filled: list[Written], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    capsysbinary.readouterr()
    assert run("cat", "latest", "/app/1/secret-1") == 0
    assert capsysbinary.readouterr().out == filled[1].payloads[(secret_id(1), 3)]
    assert run("cat", "latest", f"id:{secret_id(2)}", "--revision", "1") == 0
    assert capsysbinary.readouterr().out == payload(2, 1)
    assert run("cat", filled[0].header.id, secret_id(0)) == 0
    assert capsysbinary.readouterr().out == filled[0].payloads[(secret_id(0), 2)]
    assert run("cat", "latest", "/app/1/secret-1", "--revision", "9") == 2
    assert run("cat", "latest", "/nothing/here") == 2
    assert run("cat", "latest", "secret-*") == 2  # ambiguous


def test_diff(filled: list[Written], capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "diff", filled[0].header.id, "latest")
    s = doc["summary"]
    assert s["secrets_added"] == 1 and s["secrets_changed"] == 4
    assert s["versions_added"] == 4 + 3  # a third revision for the 4 old secrets, secret-4's three
    assert s["versions_changed"] == 4  # revision 2 is no longer the latest
    capsys.readouterr()
    assert run("diff", filled[0].header.id, "latest") == 0
    out = capsys.readouterr().out
    assert "+    fr-par" in out and "revision 3" in out


def test_check(filled: list[Written], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check") == 0
    assert "no errors were found" in capsys.readouterr().out
    doc = run_json(capsys, "check", "--read-data-subset", "1/2")
    assert doc["ok"] and doc["subset"] == "1/2"
    assert run("check", "--read-data-subset", "3/2") == 2
    assert run("store", "check", "--read-data") == 0


def test_forget_dry_run_then_prune(
    filled: list[Written], capsys: pytest.CaptureFixture[str]
) -> None:
    third = snapshot(Path(os.environ["SECRET_KLOSET_STORE"]), generation=5)
    doc = run_json(capsys, "forget", "--keep-last", "1", "--dry-run")
    assert doc["dry_run"] and doc["removed"] == 2 and doc["removed_ids"] == []
    assert doc["keep_ids"] == [third.header.id]
    assert set(doc["remove_ids"]) == {w.header.id for w in filled}
    (group,) = doc["groups"]
    assert group["keep"][0]["id"] == third.header.id and group["keep"][0]["reasons"] == [
        "last snapshot"
    ]
    assert len(run_json(capsys, "snapshots")) == 3
    doc = run_json(capsys, "forget", "--keep-last", "1", "--prune")
    assert len(doc["removed_ids"]) == 2 and doc["prune"]["blobs_removed"] > 0
    assert [d["id"] for d in run_json(capsys, "snapshots")] == [third.header.id]
    assert run("check", "--read-data") == 0
    assert run("forget") == 2  # no policy: refused
    assert run("forget", "--keep-tag", "nope") == 2  # would empty the group: refused
    assert run_json(capsys, "prune")["blobs_removed"] == 0


def test_forget_by_id_and_pinning(
    filled: list[Written], capsys: pytest.CaptureFixture[str]
) -> None:
    first = filled[0].header.id
    assert run("pin", first[:12]) == 0
    doc = run_json(capsys, "forget", "--keep-last", "1")
    assert doc["removed"] == 0
    kept = {k["id"]: k["reasons"] for k in doc["groups"][0]["keep"]}
    assert kept[first] == ["pinned"]
    assert run("forget", first) == 2  # pinned: refused
    assert run("unpin", first) == 0
    doc = run_json(capsys, "forget", first)
    assert doc["removed_ids"] == [first]


def test_keys(
    filled: list[Written], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KLOSET_NEW_PASSPHRASE", "second one")
    added = run_json(capsys, "key", "add", "--kdf", "fast")
    keys = run_json(capsys, "key", "list")
    assert len(keys) == 2 and sum(k["current"] for k in keys) == 1
    current = next(k["id"] for k in keys if k["current"])
    assert run("key", "remove", added["id"][:12]) == 0
    assert run("key", "remove", current) == 2  # the last slot: refused
    monkeypatch.setenv("SECRET_KLOSET_NEW_PASSPHRASE", "third one")
    assert run("key", "passwd", "--kdf", "fast") == 0
    assert run("snapshots") == 12
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", "third one")
    assert len(run_json(capsys, "snapshots")) == 2


def test_locks_and_locked_exit_code(
    filled: list[Written], store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def hold() -> str:
        store = await Store.open(str(store_path), PASSPHRASE)
        handle = await store.lock(exclusive=False, purpose="backup")
        # the event loop ends without a release: the lock stays, its holder (us) is alive
        return str(handle.id)

    lock_id = asyncio.run(hold())
    doc = run_json(capsys, "locks")
    assert [lk["id"] for lk in doc["locks"]] == [lock_id] and not doc["locks"][0]["stale"]
    assert run("prune") == 11
    assert "locked" in capsys.readouterr().err
    assert run_json(capsys, "unlock")["removed"] == []  # live: kept
    assert run_json(capsys, "unlock", "--remove-all")["removed"] == [lock_id]
    assert run("prune") == 0


def test_copy_snapshots(
    filled: list[Written],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "other"
    assert run("init", "--store", str(other)) == 0
    monkeypatch.setenv("SECRET_KLOSET_TO_PASSPHRASE", PASSPHRASE)
    doc = run_json(capsys, "copy-snapshots", "--to-store", str(other))
    assert doc["copied"] == [w.header.id for w in filled]
    again = run_json(capsys, "copy-snapshots", "--to-store", str(other), "latest")
    assert again["skipped"] == [filled[1].header.id]
    assert [d["id"] for d in run_json(capsys, "snapshots", "--store", str(other))] == [
        w.header.id for w in filled
    ]


def test_key_options_before_the_action_and_new_passphrase_sources(
    filled: list[Written],
    store_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.setenv("SECRET_KLOSET_STORE", str(tmp_path / "elsewhere"))
    assert len(run_json(capsys, "key", "--store", str(store_path), "list")) == 1
    assert len(run_json(capsys, "key", "list", "--store", str(store_path))) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin\n"))
    assert run("key", "add", "--store", str(store_path), "--kdf", "fast") == 0
    secret_file = tmp_path / "new-pass"
    secret_file.write_text("from a file\nignored\n")
    assert (
        run(
            "key",
            "add",
            "--store",
            str(store_path),
            "--kdf",
            "fast",
            "--new-passphrase-file",
            str(secret_file),
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run("key", "add", "--store", str(store_path)) == 1
    assert "standard input is empty" in capsys.readouterr().err
    monkeypatch.setenv("SECRET_KLOSET_STORE", str(store_path))
    for passphrase in ("from stdin", "from a file"):
        monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", passphrase)
        assert len(run_json(capsys, "snapshots")) == 2


def test_snapshots_warns_about_a_damaged_snapshot(
    filled: list[Written], store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.store.ops.helpers import flip_byte

    flip_byte(store_path / "snapshots" / filled[0].header.id, 50)
    doc = run_json(capsys, "snapshots")
    assert [d["id"] for d in doc] == [filled[1].header.id]
    capsys.readouterr()
    assert run("snapshots") == 0
    assert filled[0].header.id[:8] in capsys.readouterr().err
    assert run("check") == 1


def test_store_commands_on_s3(
    s3_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("SECRET_KLOSET_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SECRET_KLOSET_KDF", "fast")
    location = s3_server.location()
    monkeypatch.setenv("SECRET_KLOSET_STORE", location)
    assert run("init") == 0

    async def two() -> list[Written]:
        store = await Store.open(location, PASSPHRASE)
        try:
            return [await write_snapshot(store, generation=g) for g in range(2)]
        finally:
            await store.close()

    written = asyncio.run(two())
    assert [d["id"] for d in run_json(capsys, "snapshots")] == [w.header.id for w in written]
    assert run_json(capsys, "check", "--read-data")["ok"]
    doc = run_json(capsys, "forget", "--keep-last", "1", "--prune")
    assert doc["removed_ids"] == [written[0].header.id] and doc["prune"]["blobs_removed"] > 0
    assert run("check", "--read-data") == 0
