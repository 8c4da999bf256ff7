"""Replay the stored histories of every order path with today's workflow code: a change that
alters the command sequence of running orders fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.temporal import DATA_CONVERTER
from workers.worker import WORKFLOWS

pytestmark = pytest.mark.workflow
HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_there_are_histories_of_every_path() -> None:
    names = {p.name.split(".")[0] for p in HISTORIES}
    paths = {
        "pickup",
        "delivery",
        "unpaid",
        "payment-failed",
        "lapsed",
        "rejected",
        "pickup-expired",
        "delivery-auto-confirm",
    }
    assert paths | {"short-pick", "cancelled", "returned", "rerouted", "member-pickup"} <= names, (
        "histories of today's code, of every path"
    )
    assert {f"v1-{p}" for p in paths} <= names, "histories recorded before payments opened"
    assert {f"v2-{p}" for p in paths} <= names, "histories recorded before refunds"
    assert {f"v3-{p}" for p in paths} <= names, "histories recorded before settlement terms"
    assert {f"v4-{p}" for p in paths} <= names, "histories recorded before workflow versions"
    assert {f"v5-{p}" for p in paths} <= names, "histories recorded at workflow version 1"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name)
async def test_a_stored_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
