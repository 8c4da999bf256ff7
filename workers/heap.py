"""The collector of a long-running process (a worker, an API), once it has started."""

from __future__ import annotations

import gc

YOUNG_COLLECTION = 10_000  # allocations between two young-generation collections (not 700)


def settle_heap() -> None:
    """A long-running process's collector, once it has started.

    What start-up made (modules, the SDK's and SQLAlchemy's tables, compiled statements) lives
    as long as the process, so it is frozen out of the collector's scans: a full collection
    walks only what was made since. Young collections run every `YOUNG_COLLECTION`
    allocations: most of a task's objects are freed by their reference counts before then, and
    fewer survive into the older generations. Under load this halved the worker's time in the
    collector (to about 1 % of its CPU), and its full collections, of 20 to 50 ms each, stopped
    (`docs/performance.md`)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION, middle, old)
