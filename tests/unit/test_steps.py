"""A batch of database steps (`activities/steps.py`): each step its registered activity, in
order; a step that says so ends the batch when it returns something."""

from __future__ import annotations

import pytest

from activities import contracts as c
from activities.steps import StepRunner

pytestmark = pytest.mark.unit


def test_a_batch_runs_in_order_and_stops_after_a_step_that_returned_something() -> None:
    calls: list[tuple[str, int]] = []

    def project(n: int) -> int | None:
        calls.append(("project", n))
        return n or None  # something: the record was further along

    def settle(n: int) -> int:
        calls.append(("settle", n))
        return n * 2

    runner = StepRunner([project, settle])

    def batch(n: int, *, stop: bool) -> c.Steps:
        return c.Steps([c.StepCall("project", n, stop_on_result=stop), c.StepCall("settle", 5)])

    assert runner.run_steps(batch(0, stop=True)) == [None, 10]
    assert runner.run_steps(batch(3, stop=True)) == [3, None]
    assert runner.run_steps(batch(3, stop=False)) == [3, 10]
    assert calls == [("project", 0), ("settle", 5), ("project", 3), ("project", 3), ("settle", 5)]
