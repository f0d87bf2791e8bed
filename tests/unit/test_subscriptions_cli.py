"""`borealis subscriptions`: RDS's shapes, one-line refusals that change nothing, the trail,
and reading on from a position in the event store (what the forwarder relies on)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from alerts.subscription_store import subscriptions_file
from borealis.cli import main
from core.events import EventStore, make_event
from core.trail import TrailStore
from tests.conftest import borealis


@pytest.fixture(autouse=True)
def _settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process CLI: the tests' own BOREALIS_TEST_* variables are not settings.
    for name in [n for n in os.environ if n.startswith("BOREALIS_")]:
        monkeypatch.delenv(name)


def cli(state: Path, *args: str) -> tuple[int, str, str]:
    """`borealis subscriptions ARGS` in this process (the same main() as the command)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["subscriptions", *args, "--state-dir", str(state)])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_the_command_runs_as_borealis(tmp_path: Path) -> None:
    done = borealis("subscriptions", "list", "--json", "--state-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"EventSubscriptionsList": []}


def test_create_list_describe_modify_delete(tmp_path: Path) -> None:
    code, out, err = cli(
        tmp_path,
        "create",
        "failovers",
        "--receiver",
        "arn:aws:sns:us-east-1:123456789012:oncall",
        "--source-type",
        "db-cluster",
        "--category",
        "failover",
    )
    assert code == 0, err
    created = json.loads(out)["EventSubscription"]
    assert created["CustSubscriptionId"] == "failovers"
    assert created["EventCategoriesList"] == ["failover"]
    assert created["Enabled"] is True
    assert "Alertmanager reloaded" not in err  # no stack here: nothing to reload

    code, out, err = cli(tmp_path, "modify", "failovers", "--disabled", "--receiver", "pager")
    assert code == 0, err
    code, out, _ = cli(tmp_path, "list", "--json")
    listed = json.loads(out)["EventSubscriptionsList"]
    assert [(s["CustSubscriptionId"], s["Enabled"], s["SnsTopicArn"]) for s in listed] == [
        ("failovers", False, "pager")
    ]
    code, out, _ = cli(tmp_path, "list")
    assert out.split()[:4] == ["failovers", "disabled", "pager", "db-cluster"]
    code, out, _ = cli(tmp_path, "describe", "failovers")
    assert json.loads(out)["EventSubscriptionArn"].endswith(":es:failovers")

    assert cli(tmp_path, "delete", "failovers")[0] == 0
    assert json.loads(cli(tmp_path, "list", "--json")[1]) == {"EventSubscriptionsList": []}
    calls = [r["eventName"] for r in TrailStore(tmp_path / "trail.db").records()]
    assert calls == [
        "CreateEventSubscription",
        "ModifyEventSubscription",
        "DeleteEventSubscription",
    ]


def test_refusals_are_one_line_change_nothing_and_are_in_the_trail(tmp_path: Path) -> None:
    assert cli(tmp_path, "create", "keep", "--receiver", "oncall")[0] == 0
    before = subscriptions_file(tmp_path).read_text()
    cases = [
        (
            (
                "create",
                "x",
                "--receiver",
                "r",
                "--source-type",
                "db-cluster",
                "--category",
                "low storage",
            ),
            "not categories of source type db-cluster",
        ),
        (("create", "x", "--receiver", "r", "--source-id", "a"), "SourceIds need a SourceType"),
        (("create", "x", "--receiver", "not a name"), "SnsTopicArn"),
        (("create", "keep", "--receiver", "r"), "'keep' exists"),
        (("modify", "nope", "--enabled"), "no event subscription named 'nope'"),
        (("modify", "keep", "--source-type", "db-table"), "SourceType must be one of"),
        (("delete", "nope"), "no event subscription named 'nope'"),
    ]
    for args, reason in cases:
        code, out, err = cli(tmp_path, *args)
        assert code == 1, args
        assert err.count("\n") == 1 and reason in err, err
        assert err.startswith("borealis subscriptions: ") and "Traceback" not in err
        assert out == ""
    assert subscriptions_file(tmp_path).read_text() == before
    refused = [r for r in TrailStore(tmp_path / "trail.db").records() if "errorCode" in r]
    assert [r["errorCode"] for r in refused] == [
        "SubscriptionCategoryNotFound",
        "InvalidParameter",
        "SNSInvalidTopic",
        "SubscriptionAlreadyExist",
        "SubscriptionNotFound",
        "InvalidParameter",
        "SubscriptionNotFound",
    ]


def test_a_hand_broken_file_is_named_with_its_line(tmp_path: Path) -> None:
    path = subscriptions_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(
        "subscriptions:\n  - SubscriptionName: a\n    SnsTopicArn: r\n    Enabled: maybe\n"
    )
    code, _, err = cli(tmp_path, "list")
    assert code == 1
    assert f"{path}:2: Enabled" in err


def test_the_event_store_reads_on_from_a_number(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.db")
    assert store.last_seq() == 0
    assert store.after(0) == []
    for source in ("a", "b", "c"):
        store.add(make_event("RDS-EVENT-0006", source))
    numbered = store.after(0)
    assert [(n, e.source_identifier) for n, e in numbered] == [(1, "a"), (2, "b"), (3, "c")]
    assert [e.source_identifier for _, e in store.after(1, limit=1)] == ["b"]
    assert store.after(3) == []
    assert store.last_seq() == 3
