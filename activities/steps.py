"""One local activity for database steps that follow one another in a workflow task."""

from __future__ import annotations

import inspect
import typing
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
            if inspect.iscoroutinefunction(fn):
                continue
            params = list(inspect.signature(fn).parameters)
            if len(params) == 1:
                arg_type = typing.get_type_hints(fn)[params[0]]
                self.steps[fn.__name__] = (fn, TypeAdapter(arg_type))

    @activity.defn
    def run_steps(self, batch: c.Steps) -> list[Any]:
        results: list[Any] = []
        for step in batch.steps:
            fn, adapter = self.steps[step.activity]
            results.append(fn(adapter.validate_python(step.arg)))
            if step.stop_on_result and results[-1] is not None:
                return results + [None] * (len(batch.steps) - len(results))
        return results
