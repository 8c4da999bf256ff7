"""`make dev`: the whole stack in the foreground on embedded defaults.

Migrates the database, loads demo data (unless OMS_DEMO_DATA=0), then runs the Temporal dev
server (SQLite under OMS_HOME, with its UI), the worker and the API until Ctrl-C stops them all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from adapters.db import make_engine
from adapters.settings import Settings
from adapters.tokens import TokenRepository
from workers.demo import (
    create_demo_staff,
    issue_demo_tokens,
    seed_demo,
    subscribe_demo_channels,
)
from workers.migrate import migrate
from workers.temporal import bundled_binary, dev_server_args


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f}s")


def free_port() -> int:
    """A free port below the kernel's ephemeral range: a server restarted on it later will not
    find it taken by some outgoing connection in the meantime."""
    low = 32768
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """The stack's processes: started, watched, stopped; killed and started again in tests."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.channel_secrets: dict[str, str] = {}
        self.staff_accounts: dict[str, str] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str] | None]] = {}
        self.home = settings.home.resolve()
        base = (
            dict(os.environ)
            if env is None
            else {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
        )
        self.env = (
            base | {"OMS_HOME": str(self.home), "OMS_DATABASE_URL": settings.db_url} | (env or {})
        )

    def prepare(self) -> Path | None:
        self.home.mkdir(parents=True, exist_ok=True)
        admin_token = self.settings.secret("admin_token")
        self.settings.secret("payment_webhook_secret")
        self.settings.secret("pickup_code_secret")
        self.settings.secret("wms_callback_secret")
        self.settings.secret("courier_callback_secret")
        self.settings.key_ring()  # made once here, before the processes that share it start
        migrate(self.settings.db_url)
        if not self.settings.demo_data:
            return None
        engine = make_engine(self.settings.db_url)
        seed_demo(engine, self.home)
        path = issue_demo_tokens(TokenRepository(engine, admin_token=admin_token), self.home)
        self.channel_secrets = subscribe_demo_channels(
            engine, self.home, self.settings.channel_sim_url
        )
        self.staff_accounts = create_demo_staff(engine, self.home)
        engine.dispose()
        return path

    def spawn(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start a process of the stack (with `env` over the stack's), logging to its file."""
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd,
            env=self.env | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs = [(n, p) for n, p in self.procs if n != name] + [(name, proc)]
        self.commands[name] = (cmd, env)
        return proc

    def proc(self, name: str) -> subprocess.Popen:
        return dict(self.procs)[name]

    def kill(self, name: str) -> None:
        """kill -9: no chance to finish anything."""
        proc = self.proc(name)
        proc.kill()
        proc.wait()

    def respawn(self, name: str, *, port: int | None = None) -> subprocess.Popen:
        """Start a killed process again, as it was started; wait for its port if given."""
        cmd, env = self.commands[name]
        proc = self.spawn(name, cmd, env)
        if port is not None:
            wait_for_port(port, timeout=60, proc=proc)
        return proc

    def start(self) -> None:
        s = self.settings
        temporal = self.spawn(
            "temporal",
            [
                bundled_binary("temporal"),
                *dev_server_args(s, db_file=str(self.home / "temporal.db")),
            ],
        )
        wait_for_port(s.temporal_port, timeout=60, proc=temporal)
        gateway = self.spawn("gateway", [sys.executable, "-m", "workers.gateway_sim"])
        wait_for_port(s.gateway_port, timeout=60, proc=gateway)
        channels = self.spawn(
            "channels",
            [sys.executable, "-m", "workers.channel_sim"],
            {
                "OMS_CHANNEL_SIM_PORT": str(s.channel_sim_port),
                "OMS_CHANNEL_SIM_SECRETS": json.dumps(self.channel_secrets),
            },
        )
        wait_for_port(s.channel_sim_port, timeout=60, proc=channels)
        wms = self.spawn("wms", [sys.executable, "-m", "workers.wms_sim"])
        courier = self.spawn("courier", [sys.executable, "-m", "workers.courier_sim"])
        wait_for_port(s.wms_port, timeout=60, proc=wms)
        wait_for_port(s.courier_port, timeout=60, proc=courier)
        self.spawn("worker", [sys.executable, "-m", "workers.worker"])
        api = self.spawn("api", [sys.executable, "-m", "workers.api_server"])
        wait_for_port(s.api_port, timeout=60, proc=api)

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if _name != "temporal" else signal.SIGTERM)
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def watch(self) -> None:
        while True:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {proc.returncode}; see {self.home / (name + '.log')}"
                    )
            time.sleep(0.5)


def scratch_stack(
    home: Path, *, db_url: str | None = None, env: dict[str, str] | None = None
) -> Stack:
    """A stack of its own in `home`, on free ports, with fresh secrets and none of the caller's
    OMS_* settings (benchmarks and process-level tests)."""
    import secrets

    home.mkdir(parents=True, exist_ok=True)
    full = {
        "OMS_HOME": str(home.resolve()),
        "OMS_DATABASE_URL": db_url or f"sqlite:///{home.resolve() / 'oms.db'}",
        "OMS_API_PORT": str(free_port()),
        "OMS_TEMPORAL_PORT": str(free_port()),
        "OMS_UI_PORT": str(free_port()),
        "OMS_GATEWAY_PORT": str(free_port()),
        "OMS_CHANNEL_SIM_PORT": str(free_port()),
        "OMS_WMS_PORT": str(free_port()),
        "OMS_COURIER_PORT": str(free_port()),
        "OMS_WMS_CALLBACK_SECRET": secrets.token_hex(16),
        "OMS_COURIER_CALLBACK_SECRET": secrets.token_hex(16),
        "OMS_ADMIN_TOKEN": "admin-" + secrets.token_hex(16),
        "OMS_PAYMENT_WEBHOOK_SECRET": secrets.token_hex(16),
        "OMS_PICKUP_CODE_SECRET": secrets.token_hex(16),
        "OMS_DEMO_DATA": "1",
    } | (env or {})
    fields: dict[str, Any] = {k.removeprefix("OMS_").lower(): v for k, v in full.items()}
    settings = Settings(**fields)
    return Stack(settings, env=full)


def banner(settings: Settings, tokens: Path | None, staff: dict[str, str] | None = None) -> str:
    home = settings.home.resolve()
    console = f"http://127.0.0.1:{settings.api_port}/console"
    if staff:
        name = "s-hz-01" if "s-hz-01" in staff else next(iter(staff))
        console += f"  (store staff: sign in as {name} / {staff[name]})"
    lines = [
        "Omni OMS is up.",
        f"  API          http://127.0.0.1:{settings.api_port}  (docs: /docs)",
        f"  Console      {console}",
        f"  Temporal UI  http://127.0.0.1:{settings.ui_port}",
        f"  Temporal     127.0.0.1:{settings.temporal_port}  task queue {settings.task_queue}",
        f"  Payments     {settings.gateway_base_url}  (simulated gateway; drive it with "
        "POST /v1/sim/payments/{payment_id} on the API)",
        f"  Channels     {settings.channel_sim_url}  (simulated channels: the events they "
        "received, live)",
        f"  Warehouse    {settings.wms_base_url}/notices  (simulated execution system of "
        "W-JX-CENTRAL: picks and ships what it is sent)",
        f"  Courier      {settings.courier_base_url}/waybills  (simulated carriers: waybills "
        "and tracking; drive one with POST /v1/sim/couriers/{tracking_no} on the API)",
        f"  Database     {settings.db_url}",
        f"  Admin token  {home / 'admin_token'}"
        + ("" if not os.environ.get("OMS_ADMIN_TOKEN") else " (from OMS_ADMIN_TOKEN)"),
    ]
    if tokens is not None:
        data = json.loads(tokens.read_text())
        lines.append(
            f"  Demo tokens  {tokens} ({len(data['channels'])} channels, "
            f"{len(data['staff'])} locations)"
        )
    lines += [f"  Logs         {home}/*.log", "Ctrl-C stops everything."]
    return "\n".join(lines)


def _stop_once(*_: object) -> None:
    """The first Ctrl-C or SIGTERM stops the stack; any after it are ignored, so that they do
    not cut the stop short and leave processes behind (make passes a SIGTERM on to this process,
    so one sent to make's whole process group arrives twice)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    settings = Settings()
    stack = Stack(settings)
    signal.signal(signal.SIGINT, _stop_once)
    signal.signal(signal.SIGTERM, _stop_once)
    try:
        tokens = stack.prepare()
        stack.start()
        print(banner(settings, tokens, stack.staff_accounts), flush=True)
        stack.watch()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
