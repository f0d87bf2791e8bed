"""up / status / down / up again on a state directory of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LIFECYCLE_PORTS, borealis, start_stack, wait_for

pytestmark = pytest.mark.cluster


def test_up_down_up_reuses_the_cluster(shared_tmp: Path) -> None:
    state = shared_tmp / "lifecycle"
    data_root = shared_tmp / "lifecycle-pg"  # where start_stack puts PostgreSQL's files
    # What an `up` that died half-way through creating the cluster leaves behind.
    leftover = data_root / "data" / "borealis-instance-1"
    leftover.mkdir(parents=True)
    (leftover / "PG_VERSION").write_text("15\n")
    (data_root / ".borealis-state-dir").write_text(f"{state.resolve()}\n")
    stack = start_stack(state, LIFECYCLE_PORTS, readers=1)
    assert stack.data_root == data_root
    assert (leftover / "postgresql.conf").exists()  # initdb ran again in its place
    try:
        first = stack.status()
        assert len(first["instances"]) == 2
        assert first["data_root"] == str(data_root)
        assert first["state_dir"] == str(state)
        again = stack.cli("up", "--detach")
        assert again.returncode == 0
        assert "already running" in again.stdout

        down = stack.cli("down", timeout=180)
        assert down.returncode == 0, down.stderr
        assert stack.processes() == []
        offline = stack.status()
        assert all(i["state"] == "stopped" for i in offline["instances"])
        assert offline["data_root"] == str(data_root)

        # Without --no-workload this time: the light default workload runs as a service.
        # And without BOREALIS_PG_ROOT: the data root recorded in the state dir is found.
        restarted = borealis(
            "up",
            "--detach",
            "--state-dir",
            str(state),
            env={"BOREALIS_PORTS__BASE": stack.env["BOREALIS_PORTS__BASE"]},
        )
        assert restarted.returncode == 0, restarted.stderr
        second = stack.status()
        assert second["service_health"]["workload"] is True
        writer_port = next(i["port"] for i in second["instances"] if i["role"] == "writer")
        wait_for(
            lambda: (
                stack.sql(
                    writer_port,
                    "select count(*) from pg_stat_activity where application_name = "
                    "'borealis-workload' and client_port is not null",
                )[0][0]
                > 0
            ),
            60,
            what="the light workload's sessions on the writer",
        )
        assert [(i["id"], i["resource_id"]) for i in second["instances"]] == [
            (i["id"], i["resource_id"]) for i in first["instances"]
        ]
        assert second["cluster_resource_id"] == first["cluster_resource_id"]
        assert any(e["EventId"] == "RDS-EVENT-0151" for e in stack.events())
        trail = [r["eventName"] for r in json.loads(stack.cli("trail", "--json").stdout)["Records"]]
        assert trail == ["CreateDBCluster", "StopDBCluster", "StartDBCluster"]
    finally:
        stack.cli("down", timeout=180)
    assert stack.processes() == []


def test_errors_are_one_line_and_non_zero(shared_tmp: Path) -> None:
    done = borealis("failover", "--state-dir", str(shared_tmp / "nothing-here"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("borealis failover: no Borealis stack is running")
    bad = borealis("up", "--readers", "16", "--state-dir", str(shared_tmp / "nothing-here"))
    assert bad.returncode == 2  # a usage error, as argparse's
    assert bad.stderr == (
        "borealis up: argument --readers: expected 1 to 15, got '16' (see borealis up --help)\n"
    )
    bad = borealis(
        "up", "--state-dir", str(shared_tmp / "nothing-here"), env={"BOREALIS_READERS": "16"}
    )
    assert bad.returncode == 1
    assert "readers must be between 1 and 15" in bad.stderr
