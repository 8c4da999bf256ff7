"""The lean HTTP clients (the benchmark's and the events pump's, and the activities' blocking
one) against a real socket server: keep-alive reuse, a connection the server closed while
idle, an answer cut short, and nobody listening."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from adapters.http import BlockingClient, Client, TransportError


class Server:
    """Answers each request with its method, path, headers and body as JSON. `close_after`
    closes each connection after that many answers; `cut` sends half an answer and hangs up."""

    def __init__(self, *, close_after: int = 0, cut: bool = False) -> None:
        self.close_after, self.cut = close_after, cut
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        answered = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode().split("\r\n")
                headers = dict(ln.split(": ", 1) for ln in lines if ln)
                body = await reader.readexactly(int(headers.get("Content-Length", 0)))
                method, path, _ = first.split(" ")
                out = json.dumps(
                    {"method": method, "path": path, "headers": headers, "body": body.decode()}
                ).encode()
                status = 404 if path.endswith("/missing") else 200
                answer = (
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(out)}\r\n"
                    "Content-Type: application/json\r\n\r\n"
                ).encode() + out
                if self.cut:
                    writer.write(answer[: len(answer) // 2])
                    await writer.drain()
                    break
                writer.write(answer)
                await writer.drain()
                answered += 1
                if self.close_after and answered >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/base"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


@pytest.mark.integration
async def test_calls_share_a_kept_alive_connection_and_carry_json_and_headers() -> None:
    srv = Server()
    async with srv as url:
        c = Client(url)
        for i in range(3):
            r = await c.post("/v1/x", json={"i": i}, headers={"Authorization": "Bearer t"})
            echo = r.json()
            assert r.status_code == 200
            assert (echo["method"], echo["path"]) == ("POST", "/base/v1/x")
            assert echo["headers"]["Authorization"] == "Bearer t"
            assert echo["headers"]["Content-Type"] == "application/json"
            assert json.loads(echo["body"]) == {"i": i}
        missing = await c.get("/missing")
        assert missing.status_code == 404
        with pytest.raises(RuntimeError, match="HTTP 404"):
            missing.raise_for_status()
        await c.aclose()
    assert srv.connections == 1


@pytest.mark.integration
async def test_a_connection_the_server_closed_is_replaced_without_failing_the_call() -> None:
    srv = Server(close_after=1)
    async with srv as url:
        c = Client(url)
        for _ in range(3):
            assert (await c.get("/v1/y")).status_code == 200
            await asyncio.sleep(0.05)  # the server's close arrives while the connection is idle
        await c.aclose()
    assert srv.connections == 3


@pytest.mark.integration
async def test_an_answer_cut_short_or_nobody_listening_is_a_transport_error() -> None:
    async with Server(cut=True) as url:
        c = Client(url)
        with pytest.raises(TransportError):
            await c.get("/v1/z")
    with pytest.raises(TransportError, match="cannot connect"):
        await Client(f"http://127.0.0.1:{_free_port()}").get("/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # free, and nobody listens once closed


@pytest.mark.integration
async def test_the_blocking_client_keeps_connections_and_replaces_one_the_server_closed() -> None:
    srv = Server()
    async with srv as url:
        c = BlockingClient(url)
        for i in range(3):
            r = await asyncio.to_thread(
                c.post, "/v1/x", json={"i": i}, headers={"Idempotency-Key": f"k{i}"}
            )
            echo = r.json()
            assert (r.status_code, echo["method"], echo["path"]) == (200, "POST", "/base/v1/x")
            assert echo["headers"]["Idempotency-Key"] == f"k{i}"
            assert echo["headers"]["Content-Type"] == "application/json"
            assert json.loads(echo["body"]) == {"i": i}
        assert (await asyncio.to_thread(c.get, "/missing")).status_code == 404
        c.close()
    assert srv.connections == 1

    closing = Server(close_after=1)
    async with closing as url:
        c = BlockingClient(url)
        for _ in range(3):
            assert (await asyncio.to_thread(c.get, "/v1/y")).status_code == 200
            await asyncio.sleep(0.05)  # the server's close arrives while the connection is idle
        c.close()
    assert closing.connections == 3


@pytest.mark.integration
async def test_the_blocking_client_fails_a_cut_answer_or_nobody_listening_as_transport() -> None:
    async with Server(cut=True) as url:
        with pytest.raises(TransportError):
            await asyncio.to_thread(BlockingClient(url).get, "/v1/z")
    with pytest.raises(TransportError, match="Connection"):
        BlockingClient(f"http://127.0.0.1:{_free_port()}").post("/", json={})
