"""One local activity for database steps that follow one another in a workflow task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import TypeAdapter
from temporalio import activity

from activities import contracts as c


class StepRunner:
    """Runs a batch of steps, each a registered activity called by its name with its input as
    that activity declares it. A batch saves the worker a trip through the SDK and the server a
    marker event per step; the steps themselves are the same functions as when run alone."""

    def __init__(self, activities: Sequence[Callable[..., Any]]) -> None:
        self.steps: dict[str, tuple[Callable[..., Any], TypeAdapter[Any]]] = {}
        for fn in activities:
            defn = activity._Definition.must_from_callable(fn)
            if defn.name and defn.arg_types and not defn.is_async:
                self.steps[defn.name] = (fn, TypeAdapter(defn.arg_types[0]))

    @activity.defn(name=c.RUN_STEPS)
    def run_steps(self, batch: c.Steps) -> list[Any]:
        results = []
        for step in batch.steps:
            fn, adapter = self.steps[step.activity]
            results.append(fn(adapter.validate_python(step.arg)))
        return results
