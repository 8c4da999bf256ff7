"""Run a module as its process would, sampling every thread's stack: where its CPU goes.

`python -m benchmarks.sampled OUT.txt workers.worker` runs `workers.worker` as `__main__`. A
thread takes every thread's stack each `OMS_SAMPLE_MS` (5) ms. When the process is stopped
(SIGINT or SIGTERM), OUT.txt gets, for each function, how often it was running (self) and how
often it was on a stack (total). Samples of threads that are waiting (in a lock, a select, a
sleep, the SQLite writers' lock) are counted apart, so the figures read as CPU. Python frames
only: time in C code shows under the Python function that called it."""

from __future__ import annotations

import collections
import os
import runpy
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

WAITING = {  # leaf functions of a thread that is not running Python
    "wait",
    "select",
    "poll",
    "_worker",
    "acquire",
    "sleep",
    "get",
    "_run_once",
    "run_forever",
}


def _waiting_lines() -> set[tuple[str, int]]:
    """Lines where a thread waits in C for a lock: the SQLite writers' lock in session_scope."""
    import inspect

    from adapters import db

    source, first = inspect.getsourcelines(db.session_scope.__wrapped__)  # type: ignore[attr-defined]
    return {("session_scope", first + i) for i, line in enumerate(source) if "_one_writer(" in line}


def main() -> None:
    out, module = Path(sys.argv[1]), sys.argv[2]
    waiting_at = _waiting_lines()
    sys.argv = [module, *sys.argv[3:]]
    every = float(os.environ.get("OMS_SAMPLE_MS", "5")) / 1000
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    counts = {"running": 0, "waiting": 0}
    me = threading.get_ident()

    def name(frame: FrameType) -> str:
        code = frame.f_code
        where = code.co_filename.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        return f"{where}:{code.co_name}"

    def sample() -> None:
        while True:
            time.sleep(every)
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                leaf = frame.f_code.co_name
                if leaf in WAITING or (leaf, frame.f_lineno) in waiting_at:
                    counts["waiting"] += 1
                    continue
                counts["running"] += 1
                own[name(frame)] += 1
                seen = set()
                f: FrameType | None = frame
                while f is not None:
                    key = name(f)
                    if key not in seen:
                        total[key] += 1
                        seen.add(key)
                    f = f.f_back

    def dump(*_: object) -> None:
        n = max(1, counts["running"])
        lines = [f"samples running {counts['running']}, waiting {counts['waiting']}", "", "self:"]
        lines += [f"{100 * c / n:6.2f}%  {k}" for k, c in own.most_common(60)]
        lines += ["", "total:"]
        lines += [f"{100 * c / n:6.2f}%  {k}" for k, c in total.most_common(120)]
        out.write_text("\n".join(lines) + "\n")

    threading.Thread(target=sample, daemon=True).start()

    def stop(*_: object) -> None:
        dump()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        dump()


if __name__ == "__main__":
    main()
