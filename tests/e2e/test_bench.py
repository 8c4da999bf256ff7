"""`make bench` keeps working: a small run end to end (figures are not judged here, only that the
benchmark runs the real stack, completes every order and reports in its documented form)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"^orders_per_s=[0-9.]+ floor_per_s=[0-9.]+ ratio=[0-9.]+ "
    r"submit_p99_ms=[0-9.]+ action_p99_ms=[0-9.]+ engine_ratio=[0-9.]+$"
)


def run_bench(module: str, *args: str, home: Path | None = None, timeout: float = 300) -> str:
    """Run `python -m benchmarks.<module> args` from the repository; its output, once it passed.
    With `home`, the run gets its own OMS_HOME and none of the caller's OMS_ or BENCH_ settings."""
    env = None
    if home is not None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "BENCH_"))}
        env["OMS_HOME"] = str(home)
    run = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_a_small_benchmark_runs_and_reports(tmp_path: Path) -> None:
    sample = tmp_path / "worker-sample.txt"
    stdout = run_bench(
        "full_stack",
        *("--orders", "12", "--channels", "4", "--sample", str(sample)),
        home=tmp_path / "home",
        timeout=600,
    )
    # the worker ran under the sampler: where its CPU went, by function
    profile = sample.read_text()
    assert profile.startswith("samples running") and "activities/" in profile
    last = stdout.strip().splitlines()[-1]
    assert LAST_LINE.match(last), last
    out = tmp_path / "home" / "bench"
    result = json.loads((out / "result.json").read_text())
    assert result["failures"] == 0 and result["orders"] == 12
    # the paced phase offered the same orders at half the measured throughput
    assert result["paced_failures"] == 0
    assert result["paced_rate_per_s"] == pytest.approx(result["orders_per_s"] / 2, abs=0.01)
    assert 0 < result["paced_submit_p50_ms"] <= result["paced_submit_p99_ms"]
    assert result["worker_peak_rss_mib"] > 0
    floor_cpu, order_cpu = result["cpu_ms_per_floor_workflow"], result["cpu_ms_per_order"]
    assert result["cpu_ratio"] == pytest.approx(
        sum(floor_cpu.values()) / sum(order_cpu.values()), abs=0.01
    )
    ours = order_cpu["worker"] + order_cpu["api"]
    assert result["engine_ratio"] == pytest.approx(order_cpu["temporal"] / ours, abs=0.01)
    assert result["engine_ratio"] > 0
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_in_flight_run_parks_its_orders_and_probes_latency_around_them(
    tmp_path: Path,
) -> None:
    args = ["--orders", "6", "--channels", "3", "--paced-share", "0"]
    stdout = run_bench(
        "full_stack", *args, "--in-flight", "9", "--probe", "5", home=tmp_path / "home", timeout=600
    )
    assert LAST_LINE.match(stdout.strip().splitlines()[-1])
    result = json.loads((tmp_path / "home" / "bench" / "result-in-flight.json").read_text())
    assert result["in_flight"] == 9
    assert result["in_flight_failures"] == 0
    assert result["in_flight_probe_orders"] == 5
    assert result["in_flight_probe_rate_per_s"] == pytest.approx(result["orders_per_s"] / 2, 0.01)
    assert 0 < result["in_flight_worker_rss_mib"] <= result["in_flight_worker_peak_rss_mib"]
    for when in ("empty", "in_flight"):
        assert 0 < result[f"submit_p50_ms_{when}"] <= result[f"submit_p99_ms_{when}"]
        assert 0 < result[f"action_p50_ms_{when}"] <= result[f"action_p99_ms_{when}"]


def test_the_primitives_benchmark_runs_every_shape() -> None:
    shapes, steps = run_bench("primitives", "--n", "4").strip().split("\n\n")
    rows = {ln.split()[0]: [float(v) for v in ln.split()[1:]] for ln in shapes.splitlines()[1:]}
    assert set(rows) == {
        "skeleton", "updates", "updates+upserts", "updates+timers", "child", "updates+http"
    }  # fmt: skip
    assert all(v > 0 for figures in rows.values() for v in figures[:3])
    assert rows["updates+http"][3] > 0  # the relay's CPU for its 20 calls
    costs = {ln.rsplit(None, 1)[0]: float(ln.rsplit(None, 1)[1]) for ln in steps.splitlines()[1:]}
    assert list(costs) == [
        f"{kind}, {layer}"
        for layer in ("session helpers", "SQLAlchemy Core", "sqlite3")
        for kind in ("write", "read", "one more read")
    ]
    assert all(ms > 0 for ms in costs.values())


def test_the_steps_benchmark_runs_an_order_s_database_steps() -> None:
    rows = [ln.rsplit(None, 1) for ln in run_bench("steps", "--n", "3").strip().splitlines()[1:]]
    figures = {name.strip(): float(ms) for name, ms in rows}
    assert len(figures) == 8 and all(ms > 0 for ms in figures.values())
    total = figures.pop("an order, these steps together")
    assert total == pytest.approx(sum(figures.values()), abs=0.01)
