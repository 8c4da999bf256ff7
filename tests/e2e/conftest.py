"""The stack as processes, the way `make dev` runs it, in a scratch home on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workers.dev import Stack, scratch_stack


@contextmanager
def processes(home: Path, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Demo data, then the Temporal dev server, gateway simulator, worker and API; all stopped
    when the block ends."""
    s = scratch_stack(home, env=env)
    s.prepare()
    s.start()
    try:
        yield s
    finally:
        s.stop()
