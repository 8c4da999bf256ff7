"""Replay the stored histories of every order path with today's workflow code: a change that
alters the command sequence of running orders fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_CONVERTER
from workers.worker import WORKFLOWS, worker_options

pytestmark = pytest.mark.workflow
HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_there_are_histories_of_every_path() -> None:
    names = {p.name.split(".")[0] for p in HISTORIES}
    assert {
        "pickup",
        "delivery",
        "unpaid",
        "payment-failed",
        "paid-again",
        "lapsed",
        "rejected",
        "pickup-expired",
        "delivery-auto-confirm",
        "short-pick",
        "cancelled",
        "cancel-requested",
        "returned",
        "rerouted",
        "member-pickup",
        "substituted",
        "substitution-declined",
        "substitution-timed-out",
        "changed",
        "tracked",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name)
async def test_a_stored_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=TEST_CONVERTER,
        workflow_runner=worker_options()["workflow_runner"],  # as the worker runs them
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
