"""How the workflows run their database steps: typed steps (an activity method, its input and
what Temporal UI shows for it), each a local activity, or several as one batch."""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.steps import StepRunner

A = TypeVar("A")
R = TypeVar("R")
LOCAL_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True, eq=False)
class Step(Generic[A, R]):
    """One database step: an activity method (by reference), its input, and its summary."""

    activity: Callable[[Any, A], R]
    arg: A
    summary: str
    stop_on_result: bool = False  # in a batch: what follows runs only when this returns None


async def run(step: Step[A, R], *, retry_policy: RetryPolicy | None = None) -> R:
    """The step as its own local activity: recorded as a marker, no server round trip."""
    result: R = await workflow.execute_local_activity_method(
        step.activity,
        step.arg,
        summary=step.summary,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=retry_policy,
    )
    return result


class Results:
    """What the steps of a batch returned, read back by step."""

    def __init__(self, steps: Sequence[Step[Any, Any]], values: list[Any]) -> None:
        self._steps = list(steps)
        self._values = values

    def of(self, step: Step[Any, R]) -> R:
        i = next(i for i, s in enumerate(self._steps) if s is step)
        return _adapter(step.activity).validate_python(self._values[i])  # type: ignore[no-any-return]


_adapters: dict[Callable[..., Any], TypeAdapter[Any]] = {}


def _adapter(activity: Callable[..., Any]) -> TypeAdapter[Any]:
    """What reads an activity's result back into its return type (resolved once per activity:
    its type hints are strings to evaluate)."""
    found = _adapters.get(activity)
    if found is None:
        hint = typing.get_type_hints(activity).get("return", Any)
        found = _adapters[activity] = TypeAdapter(hint)
    return found


async def run_all(steps: Sequence[Step[Any, Any]]) -> Results:
    """Steps that follow one another, as one local activity (`activities/steps.py`) whose
    summary lists theirs; one step runs alone."""
    if len(steps) == 1:
        return Results(steps, [await run(steps[0])])
    batch = c.Steps([c.StepCall(s.activity.__name__, s.arg, s.stop_on_result) for s in steps])
    values: list[Any] = await workflow.execute_local_activity_method(
        StepRunner.run_steps,
        batch,
        summary="; ".join(s.summary for s in steps)[:400],
        start_to_close_timeout=LOCAL_TIMEOUT,
    )
    return Results(steps, values)
