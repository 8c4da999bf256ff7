"""`make dev` as a user runs it: the whole stack as processes, an order through curl-like HTTP,
a clean Ctrl-C, and a restart that keeps every order and workflow."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from workers.dev import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class DevStack:
    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.ports = {
            "OMS_API_PORT": free_port(),
            "OMS_TEMPORAL_PORT": free_port(),
            "OMS_UI_PORT": free_port(),
            "OMS_GATEWAY_PORT": free_port(),
            "OMS_CHANNEL_SIM_PORT": free_port(),
        }
        self.proc: subprocess.Popen | None = None
        self.out = home / "dev.out"

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
        env |= {k: str(v) for k, v in self.ports.items()} | {"OMS_HOME": str(self.home)}
        self.out.write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.dev"],
            cwd=ROOT,
            env=env,
            stdout=open(self.out, "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = self.out.read_text()
            if "Ctrl-C stops everything" in text:
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"make dev exited early:\n{text}")
            time.sleep(0.3)
        raise AssertionError(f"make dev did not come up:\n{self.out.read_text()}")

    def stop(self, *signals: signal.Signals) -> int:
        """Ctrl-C, or the given signals one after another (the stop under way when the next
        arrives)."""
        assert self.proc is not None
        for i, sig in enumerate(signals or (signal.SIGINT,)):
            if i:
                time.sleep(0.3)
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=90)

    def processes(self) -> list[int]:
        """The processes still running with this stack's home (the stack's own, and theirs)."""
        mark = f"OMS_HOME={self.home}".encode() + b"\0"
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if mark in (entry / "environ").read_bytes() + b"\0":
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['OMS_API_PORT']}"


def ports_closed(stack: DevStack) -> bool:
    for port in (stack.ports["OMS_API_PORT"], stack.ports["OMS_TEMPORAL_PORT"]):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


def test_make_dev_serves_an_order_and_keeps_it_across_a_restart(tmp_path: Path) -> None:
    stack = DevStack(tmp_path / "oms")
    banner = stack.start()
    try:
        assert stack.api in banner and "docs: /docs" in banner and "Temporal UI" in banner
        tokens = json.loads((stack.home / "tokens.json").read_text())
        admin = (stack.home / "admin_token").read_text().strip()
        pos = {"Authorization": f"Bearer {tokens['channels']['pos']}"}
        assert httpx.get(f"{stack.api}/docs").status_code == 200
        ui = httpx.get(f"http://127.0.0.1:{stack.ports['OMS_UI_PORT']}/", timeout=10)
        assert ui.status_code == 200
        r = httpx.post(
            f"{stack.api}/v1/orders",
            headers=pos,
            timeout=30,
            json={
                "channel_order_id": "POS-E2E-1",
                "member_phone": "13800000003",
                "lines": [{"sku": "MILK-1L", "qty": 2}, {"sku": "EGGS-10", "qty": 1}],
                "fulfilment": {"mode": "pickup", "location_id": "S-HZ-01"},
                "payment_method": "cash",
            },
        )
        assert r.status_code == 201, r.text
        order_id = r.json()["order_id"]
        app = {"Authorization": f"Bearer {tokens['channels']['app']}"}
        r = httpx.post(
            f"{stack.api}/v1/orders",
            headers=app,
            timeout=30,
            json={
                "channel_order_id": "APP-E2E-1",
                "member_phone": "13800000004",
                "lines": [{"sku": "RICE-5KG", "qty": 1}, {"sku": "OIL-5L", "qty": 1}],
                "fulfilment": {
                    "mode": "delivery",
                    "address": {
                        "province": "Jiangsu",
                        "city": "Nanjing",
                        "lat": 32.04,
                        "lng": 118.78,
                    },
                },
                "payment_method": "wechat",
            },
        )
        assert r.status_code == 201, r.text
        delivery = r.json()
        assert delivery["status"] == "awaiting_payment"
        r = httpx.post(
            f"{stack.api}/v1/sim/payments/{delivery['payment']['payment_id']}",
            headers={"Authorization": f"Bearer {admin}"},
            json={"outcome": "succeeded"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        for _ in range(100):
            status = httpx.get(f"{stack.api}/v1/orders/{delivery['order_id']}", headers=app).json()[
                "status"
            ]
            if status == "fulfilling":
                break
            time.sleep(0.1)
        assert status == "fulfilling"
        stock = httpx.get(
            f"{stack.api}/v1/admin/stock/S-HZ-01/MILK-1L",
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        assert stock["reserved"] == 2
        # the simulated channels hear of each step, signed, within a second or so
        sim = f"http://127.0.0.1:{stack.ports['OMS_CHANNEL_SIM_PORT']}"
        assert "Channels" in banner and sim in banner
        heard: list[str] = []
        for _ in range(50):
            events = httpx.get(f"{sim}/events", params={"order_id": order_id}).json()["events"]
            heard = [e["type"] for e in events]
            if "fulfilment.dispatched" in heard:
                break
            time.sleep(0.1)
        assert heard[:3] == ["order.created", "order.paid", "fulfilment.dispatched"]
        assert httpx.get(f"{sim}/events").json()["refused"] == 0
    finally:
        assert stack.stop() == 0
    assert ports_closed(stack)
    assert stack.processes() == []

    stack.start()  # the same home: orders and workflows survive
    try:
        staff = {"Authorization": f"Bearer {tokens['staff']['S-HZ-01']}"}
        got = httpx.get(f"{stack.api}/v1/orders/{order_id}", headers=pos).json()
        assert got["status"] == "fulfilling"
        fid = got["fulfilments"][0]["fulfilment_id"]
        r = httpx.post(f"{stack.api}/v1/fulfilments/{fid}/accept", headers=staff, timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        again = httpx.post(
            f"{stack.api}/v1/orders",
            headers=pos,
            timeout=30,
            json={
                "channel_order_id": "POS-E2E-1",
                "member_phone": "13800000003",
                "lines": [{"sku": "MILK-1L", "qty": 2}, {"sku": "EGGS-10", "qty": 1}],
                "fulfilment": {"mode": "pickup", "location_id": "S-HZ-01"},
                "payment_method": "cash",
            },
        )
        assert again.status_code == 200 and again.json()["order_id"] == order_id
        assert len(stack.processes()) >= 8  # the stack and each of its processes
    finally:
        # as a service manager stopping `make dev`'s process group: make passes its SIGTERM on
        assert stack.stop(signal.SIGTERM, signal.SIGTERM) == 0
    assert ports_closed(stack)
    assert stack.processes() == []
