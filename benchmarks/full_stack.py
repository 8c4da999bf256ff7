"""`make bench`: full order lifecycles on the real embedded stack, against a skeleton floor.

Starts the stack as processes (Temporal dev server on SQLite, the simulated payment gateway, the
worker(s), the API(s)) in a scratch home under `OMS_HOME/bench/`, then in the same run:

1. the floor: `BENCH_ORDERS` skeleton workflows (7 no-op activities, 4 signals) on the same
   server, with a worker of the same settings, driven by `BENCH_CHANNELS` concurrent clients;
2. the real thing, with every demo channel subscribed to the simulated channels' receiver:
   `BENCH_ORDERS` orders submitted through the API by `BENCH_CHANNELS` simulated channels at
   once (members paying by stored value or through the payment gateway, a share of pickup
   orders), each taken by its location's staff through accept, picked, ship and deliver,
   or accept, picked and pickup with the member's code, until the order is `completed` (seen in
   the read model by one watcher for all orders, so that timing them adds no API calls);
3. latency at a load the stack keeps up with: the same mix offered by the same channels at
   `BENCH_PACED_SHARE` (default 0.5) of the throughput just measured, each order started on
   schedule whether or not earlier ones are done (`--paced-share 0` skips it).

Prints orders per second, the ratio to the floor, submit and staff-action latency (saturated and
paced), the workers' peak RSS, the channel events' delivery lag (from the change to the
receiver's 2xx); writes `result.json` and `chart.png` under `OMS_HOME/bench/`; the
last line is
`orders_per_s=<x> floor_per_s=<y> ratio=<x/y> submit_p99_ms=<z> action_p99_ms=<w>
engine_ratio=<e>` (e: the Temporal server's CPU per order over the worker's and the API's).

Flags: `--no-events` runs with no channel events at all (to see what they add); `--scale-out`
runs 2 workers and 2 API processes on PostgreSQL (`BENCH_PG_URL`, default the local server);
`--in-flight N` then parks N pickup orders at `ready_for_pickup` and reports the workers' RSS,
and submit and staff-action latency at the paced load before and with them waiting,
each over `--probe` pickup orders (`BENCH_PROBE`, default 100).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from adapters.settings import Settings
from benchmarks.traffic import Driver, Figures, Watcher
from workers.worker import run_loop


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def status_mib(pids: list[int], field: str) -> float:
    """The largest `field` of /proc/<pid>/status (VmHWM: peak resident set, VmRSS: now) among
    these processes, in MiB."""
    largest = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    largest = max(largest, int(line.split()[1]) / 1024)
        except OSError:
            pass
    return largest


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def postgres_cpu_seconds() -> float:
    """Every PostgreSQL process's CPU on this machine (a scale-out run's database): its backends'
    own, and what its exited ones left with the server process."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] != "postgres":
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1" or not Path(f"/proc/{fields[1]}/stat").exists():
            continue
        parent = Path(f"/proc/{fields[1]}/stat").read_text()
        if parent[parent.index("(") + 1 : parent.rindex(")")] != "postgres":  # the server
            total += int(fields[13]) + int(fields[14])
    return total / tick


class BenchStack:
    """The embedded stack as processes, in a scratch home, on free ports."""

    def __init__(
        self,
        home: Path,
        *,
        scale_out: bool,
        pg_url: str,
        events: bool = True,
        sample: Path | None = None,
    ) -> None:
        from workers.dev import scratch_stack

        shutil.rmtree(home, ignore_errors=True)
        db_url = fresh_pg_database(pg_url) if scale_out else None
        env = {"OMS_TASK_QUEUE": "bench-orders", "OMS_CHANNEL_EVENTS": "1" if events else "0"}
        self.stack = scratch_stack(home, db_url=db_url, env=env)
        self.settings = self.stack.settings
        self.scale_out = scale_out
        self.api_urls = [f"http://127.0.0.1:{self.settings.api_port}"]
        self.workers: list[int] = []
        self.sample = sample

    def start(self) -> None:
        from workers.dev import free_port, wait_for_port

        self.stack.prepare()
        self.stack.start()
        if self.sample is not None:  # the worker again, its stacks sampled (benchmarks/sampled.py)
            index, (_, first) = next(
                (i, x) for i, x in enumerate(self.stack.procs) if x[0] == "worker"
            )
            first.send_signal(signal.SIGINT)
            first.wait(timeout=120)  # a graceful stop: its polls and tasks end first
            self.stack.procs.pop(index)
            module = [sys.executable, "-m", "benchmarks.sampled", str(self.sample)]
            self.stack.spawn("worker", [*module, "workers.worker"])
        self.workers = [p.pid for name, p in self.stack.procs if name == "worker"]
        if self.scale_out:
            port = free_port()
            extra_api = self.stack.spawn(
                "api-2",
                [sys.executable, "-m", "workers.api_server"],
                env={"OMS_API_PORT": str(port)},
            )
            worker2 = self.stack.spawn("worker-2", [sys.executable, "-m", "workers.worker"])
            wait_for_port(port, timeout=60, proc=extra_api)
            self.api_urls.append(f"http://127.0.0.1:{port}")
            self.workers.append(worker2.pid)
        skeleton = self.stack.spawn("skeleton", [sys.executable, "-m", "benchmarks.skeleton"])
        time.sleep(3)
        for name, proc in self.stack.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.settings.home / (name + '.log')}")
        self.skeleton_pid = skeleton.pid

    def stop(self) -> None:
        self.stack.stop()


def fresh_pg_database(server_url: str) -> str:
    import psycopg

    from adapters.db import normalise_url

    name = "oms_bench_" + uuid.uuid4().hex[:8]
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = plain.rsplit("/", 1)[0]
    return normalise_url(f"{base}/{name}")


# --- the floor ----------------------------------------------------------------------------------


async def run_floor(settings: Settings, n: int, clients: int) -> float:
    from benchmarks.skeleton import SIGNALS, SkeletonOrder, task_queue
    from workers.temporal import connect

    client = await connect(settings)
    queue = asyncio.Queue[int]()
    for i in range(n):
        queue.put_nowait(i)
    run = uuid.uuid4().hex[:6]

    async def one_client() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            handle = await client.start_workflow(
                SkeletonOrder.run, id=f"skeleton-{run}-{i}", task_queue=task_queue(settings)
            )
            for _ in range(SIGNALS):
                await handle.signal(SkeletonOrder.staff)
            await handle.result()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return n / (time.perf_counter() - started)


# --- real orders --------------------------------------------------------------------------------


def engine_ratio(cpu_ms: dict[str, float]) -> float:
    """The Temporal server's CPU over our workers' and APIs' (all of them, scaled out)."""
    ours = sum(v for k, v in cpu_ms.items() if k.startswith(("worker", "api")))
    return round(cpu_ms.get("temporal", 0.0) / ours, 3) if ours else 0.0


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.bar(
        ["floor (skeleton)", "full orders"],
        [result["floor_per_s"], result["orders_per_s"]],
        color=["#999999", "#2a7ab0"],
    )
    a.set_ylabel("completed per second")
    a.set_title(f"throughput, ratio {result['ratio']:.2f}")
    names = ["submit p50", "submit p99", "action p50", "action p99"]
    keys = ("submit_p50_ms", "submit_p99_ms", "action_p50_ms", "action_p99_ms")
    at = range(len(names))
    paced = "paced_rate_per_s" in result
    width = 0.4 if paced else 0.8
    b.bar(
        [x - width / 2 if paced else x for x in at],
        [result[k] for k in keys],
        width,
        color="#08519c",
        label="saturated (closed loop)",
    )
    if paced:
        b.bar(
            [x + width / 2 for x in at],
            [result["paced_" + k] for k in keys],
            width,
            color="#74c476",
            label=f"offered {result['paced_rate_per_s']}/s",
        )
        b.legend()
    b.set_xticks(list(at), names)
    b.set_ylabel("ms")
    b.set_title(f"latency ({result['channels']} channels at once)")
    fig.suptitle(f"Omni OMS, {result['orders']} orders, {result['mode']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


async def bench(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    stack = BenchStack(
        out / "run",
        scale_out=args.scale_out,
        pg_url=args.pg_url,
        events=not args.no_events,
        sample=args.sample,
    )
    admin = stack.settings.secret("admin_token")
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    driver = Driver(
        stack.api_urls, admin, stack.settings.home, watcher=Watcher(stack.settings.db_url)
    )
    try:
        await driver.setup(args.channels, stock=10**7)
        # warm up both paths (imports, caches, connections), not measured
        await run_floor(stack.settings, args.channels, args.channels)
        await driver.run(args.channels, pickup_share=0.3, gateway_share=0.25, until="completed")
        driver.figures = Figures()

        procs = [(name, p.pid) for name, p in stack.stack.procs] + [("bench", os.getpid())]

        def cpu_now() -> dict[str, float]:
            now = {name: cpu_seconds(pid) for name, pid in procs}
            if args.scale_out:  # the database is a process of its own here: what it spends too
                now["postgres"] = postgres_cpu_seconds()
            return now

        cpu0 = cpu_now()
        floor = await run_floor(stack.settings, args.orders, args.channels)
        cpu1 = cpu_now()
        orders = await driver.run(
            args.orders, pickup_share=0.3, gateway_share=0.25, until="completed"
        )
        cpu2 = cpu_now()
        lag = await event_lag(stack.settings.db_url, driver.orders[-args.orders :])
        f = driver.figures
        floor_cpu = {k: (cpu1[k] - cpu0[k]) * 1000 / args.orders for k in cpu0}
        order_cpu = {k: (cpu2[k] - cpu1[k]) * 1000 / args.orders for k in cpu0}
        paced: dict[str, Any] = {}
        if args.paced_share > 0:
            paced = await paced_latency(driver, args.orders, rate=orders * args.paced_share)
        result: dict[str, Any] = (
            {
                "mode": "scale-out: 2 workers, 2 APIs, PostgreSQL"
                if args.scale_out
                else "1 worker, 1 API, SQLite",
                "orders": args.orders,
                "channels": args.channels,
                "orders_per_s": round(orders, 2),
                "floor_per_s": round(floor, 2),
                "ratio": round(orders / floor, 2),
                "submit_p50_ms": round(statistics.median(f.submit_ms), 1),
                "submit_p99_ms": round(pct(f.submit_ms, 0.99), 1),
                "action_p50_ms": round(statistics.median(f.action_ms), 1),
                "action_p99_ms": round(pct(f.action_ms, 0.99), 1),
                "worker_peak_rss_mib": round(status_mib(stack.workers, "VmHWM"), 1),
                "cpu_ms_per_floor_workflow": {k: round(v, 1) for k, v in floor_cpu.items()},
                "cpu_ms_per_order": {k: round(v, 1) for k, v in order_cpu.items()},
                # The same comparison by CPU instead of time: what the stack's processes spent on a
                # floor workflow over what they spent on an order. When both phases keep the
                # machine equally busy, the throughputs' ratio is this one.
                "cpu_ratio": round(sum(floor_cpu.values()) / sum(order_cpu.values()), 3),
                # What we control against what it runs on: the Temporal server's CPU per order
                # over the worker's and the API's together.
                "engine_ratio": engine_ratio(order_cpu),
                "failures": len(f.failures),
                "failure_samples": f.failures[:5],
                "channel_events": not args.no_events,
            }
            | lag
            | paced
        )
        if args.in_flight:
            probe_rate = orders * (args.paced_share or 0.5)
            result |= await in_flight(
                driver, stack, args.in_flight, rate=probe_rate, probe_orders=args.probe
            )
        return result
    finally:
        await driver.close()
        stack.stop()


async def event_lag(db_url: str, orders: list[str]) -> dict[str, Any]:
    """How long the channels waited for these orders' events: from the change (the event's
    record, in the change's transaction) to the receiver's 2xx. Waits until every one is
    delivered (up to a minute)."""
    from sqlalchemy import text

    from adapters.db import make_engine

    engine = make_engine(db_url)
    wanted = set(orders)
    rows: list[Any] = []
    try:
        for _ in range(600):
            with engine.connect() as conn:
                rows = [
                    r
                    for r in conn.execute(
                        text(
                            "SELECT order_id, status, created_at, delivered_at FROM channelevent "
                            "WHERE order_id IS NOT NULL"
                        )
                    )
                    if r[0] in wanted
                ]
            if not rows or all(r[1] != "pending" for r in rows):
                break
            await asyncio.sleep(0.1)
    finally:
        engine.dispose()
    lags = [
        (_at(r[3]) - _at(r[2])) * 1000 for r in rows if r[1] == "delivered" and r[3] is not None
    ]
    return {
        "events": len(rows),
        "events_delivered": len(lags),
        "event_lag_p50_ms": round(statistics.median(lags), 1) if lags else None,
        "event_lag_p99_ms": round(pct(lags, 0.99), 1) if lags else None,
    }


def _at(value: Any) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


async def paced_latency(driver: Driver, n: int, *, rate: float) -> dict[str, Any]:
    """The same mix of lifecycles by the same channels, offered at `rate` orders per second (an
    open loop below saturation): latency as members and staff see it on a busy day that the
    stack keeps up with, rather than the queueing of a run that saturates it."""
    driver.figures = Figures()
    await driver.run(n, pickup_share=0.3, gateway_share=0.25, until="completed", rate=rate)
    f = driver.figures
    return {
        "paced_rate_per_s": round(rate, 2),
        "paced_submit_p50_ms": round(statistics.median(f.submit_ms), 1),
        "paced_submit_p99_ms": round(pct(f.submit_ms, 0.99), 1),
        "paced_action_p50_ms": round(statistics.median(f.action_ms), 1),
        "paced_action_p99_ms": round(pct(f.action_ms, 0.99), 1),
        "paced_failures": len(f.failures),
    }


async def in_flight(
    driver: Driver, stack: BenchStack, n: int, *, rate: float, probe_orders: int = 100
) -> dict[str, Any]:
    """Park `n` pickup orders at ready_for_pickup; API latency before and after, each measured
    on `probe_orders` pickup orders offered at `rate` per second (below saturation, so that what
    is compared is the stack's latency rather than the queueing of a saturating run). Each probe
    order makes one submission and two staff actions: at 100, a p99 is the slowest call or two."""

    async def probe(when: str) -> dict[str, Any]:
        driver.figures = Figures()
        await driver.run(
            probe_orders, pickup_share=1.0, gateway_share=0.0, until="ready_for_pickup", rate=rate
        )
        f = driver.figures
        return {
            f"submit_p50_ms_{when}": round(statistics.median(f.submit_ms), 1),
            f"submit_p99_ms_{when}": round(pct(f.submit_ms, 0.99), 1),
            f"action_p50_ms_{when}": round(statistics.median(f.action_ms), 1),
            f"action_p99_ms_{when}": round(pct(f.action_ms, 0.99), 1),
        }

    before = await probe("empty")
    driver.figures = Figures()
    started = time.perf_counter()
    await driver.run(n, pickup_share=1.0, gateway_share=0.0, until="ready_for_pickup")
    parked = time.perf_counter() - started
    failures = len(driver.figures.failures)
    samples = driver.figures.failures[:3]
    after = await probe("in_flight")
    return (
        {
            "in_flight": n,
            "in_flight_failures": failures,
            "in_flight_failure_samples": samples,
            "in_flight_park_s": round(parked, 1),
            "in_flight_worker_rss_mib": round(status_mib(stack.workers, "VmRSS"), 1),
            "in_flight_worker_peak_rss_mib": round(status_mib(stack.workers, "VmHWM"), 1),
            "in_flight_probe_rate_per_s": round(rate, 2),
            "in_flight_probe_orders": probe_orders,
        }
        | before
        | after
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=int(os.environ.get("BENCH_ORDERS", 200)))
    parser.add_argument("--channels", type=int, default=int(os.environ.get("BENCH_CHANNELS", 20)))
    parser.add_argument("--scale-out", action="store_true")
    parser.add_argument(
        "--no-events",
        action="store_true",
        help="run without channel events (OMS_CHANNEL_EVENTS=0), to see what they cost",
    )
    parser.add_argument(
        "--paced-share",
        type=float,
        default=float(os.environ.get("BENCH_PACED_SHARE", 0.5)),
        help="then offer the same orders at this share of the measured throughput and report "
        "latency at that load (0: skip)",
    )
    parser.add_argument(
        "--sample",
        type=Path,
        default=None,
        help="sample the worker's stacks into this file: where its CPU goes",
    )
    parser.add_argument("--in-flight", type=int, default=int(os.environ.get("BENCH_IN_FLIGHT", 0)))
    parser.add_argument(
        "--probe",
        type=int,
        default=int(os.environ.get("BENCH_PROBE", 100)),
        help="with --in-flight: pickup orders in each latency probe, before and with them waiting",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    out = Settings().home.resolve() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}

    async def run() -> None:
        result.update(await bench(args, out))

    run_loop(run())  # uvloop where installed, for the floor's clients and the channels alike
    name = (
        "result"
        + ("-scale-out" if args.scale_out else "")
        + ("-in-flight" if args.in_flight else "")
        + ("-no-events" if args.no_events else "")
    )
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    chart(result, out / (name.replace("result", "chart") + ".png"))
    for k, v in result.items():
        print(f"{k:>32}: {v}")
    print(f"results in {out}")
    print(
        f"orders_per_s={result['orders_per_s']} floor_per_s={result['floor_per_s']} "
        f"ratio={result['ratio']} submit_p99_ms={result['submit_p99_ms']} "
        f"action_p99_ms={result['action_p99_ms']} engine_ratio={result['engine_ratio']}"
    )


if __name__ == "__main__":
    main()
