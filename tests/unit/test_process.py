"""A long-running process's collector after start-up (`workers.heap.settle_heap`), in a
process of its own: the test run's collector is left as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json
import workers.worker  # what a worker process has imported when it settles
from workers.heap import settle_heap
before = gc.get_freeze_count()
settle_heap()
frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up: still collected
del a, b
print(json.dumps({"before": before, "frozen": frozen, "young": threshold[0],
                  "collected": gc.collect()}))
"""


def test_start_up_is_frozen_and_later_cycles_are_still_collected() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    got = json.loads(out.stdout)
    assert got["before"] == 0
    assert got["frozen"] > 10_000  # the modules the worker imported, and what they made
    assert got["young"] == 10_000
    assert got["collected"] >= 2
