"""A lean HTTP/1.1 client: for the channel events' webhooks, and the benchmark's simulated
channels and staff; and its blocking twin, for the activities' calls to the payment gateway,
warehouses and couriers.

httpx spent about 1.4 ms of CPU per call here (its pool, anyio streams, h11 in Python); this
client spends a small fraction of that: one keep-alive connection per concurrent caller, the
request written in one piece, the answer parsed by httptools (the parser uvicorn uses), TLS
by the standard library. Enough for JSON posts: no redirects, no chunked request bodies.
"""

from __future__ import annotations

import asyncio
import http.client
import json as jsonlib
import ssl
import threading
from typing import Any, cast
from urllib.parse import urlsplit

import httptools


class TransportError(Exception):
    """The call got no answer: the connection could not be made, or broke before the answer."""


class Reply:
    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:300]}")


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.answer: asyncio.Future[Reply] | None = None
        self.closed = False
        self.keep_alive = True
        self.received = False  # any byte of the current call's answer

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's are not subclasses)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as err:
            self._fail(TransportError(f"unreadable answer: {err}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError(f"connection lost: {exc or 'closed by the server'}"))

    # --- httptools callbacks ----------------------------------------------------------------

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        reply = Reply(self.parser.get_status_code(), b"".join(self.body))
        self.body = []
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(reply)

    # ----------------------------------------------------------------------------------------

    def send(self, data: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.received = False
        self.transport.write(data)
        return self.answer

    def _fail(self, err: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(err)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Origin:
    """Where a client's calls go: host, port, TLS, and the path their URLs are under."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise ValueError(f"an http:// or https:// base URL is needed, not {base_url!r}")
        self.host = parts.hostname
        self.netloc = parts.netloc
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout


class Client(_Origin):
    """Calls to one base URL; as many keep-alive connections as calls in flight at once."""

    def __init__(self, base_url: str, *, timeout: float = 60) -> None:
        super().__init__(base_url, timeout)
        self._head = f"Host: {self.netloc}\r\nUser-Agent: omni-oms\r\n"
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                ),
                self.timeout,
            )
        except (OSError, TimeoutError) as err:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {err}") from err
        return conn

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = (
            content
            if content is not None
            else b""
            if json is None
            else jsonlib.dumps(json).encode()
        )
        head = f"{method} {self.prefix}{url} HTTP/1.1\r\n{self._head}"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if json is not None:
            head += "Content-Type: application/json\r\n"
        data = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        while self._idle:
            conn = self._idle.pop()
            if conn.closed:
                continue
            try:  # a kept-alive connection the server closed meanwhile: try a fresh one
                return await self._exchange(conn, data)
            except TransportError:
                if conn.received:  # it broke mid-answer: that is the call's failure
                    raise
        return await self._exchange(await self._connect(), data)

    async def _exchange(self, conn: _Connection, data: bytes) -> Reply:
        try:
            reply = await asyncio.wait_for(conn.send(data), self.timeout)
        except TimeoutError as err:
            conn.close()
            raise TransportError(f"no answer within {self.timeout} s") from err
        except BaseException:
            conn.close()
            raise
        if conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def get(self, url: str, **kw: Any) -> Reply:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Reply:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> Reply:
        return await self.request("PUT", url, **kw)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


class BlockingClient(_Origin):
    """Calls to one base URL from threads (activities run on a pool of them): the standard
    library's keep-alive connections, one per call in flight, kept for the next call. httpx's
    blocking client spent about 2 ms of CPU per call here, most of it in its own layers."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        super().__init__(base_url, timeout)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.tls
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = b"" if json is None else jsonlib.dumps(json).encode()
        head = {"User-Agent": "omni-oms", **(headers or {})}
        if json is not None:
            head["Content-Type"] = "application/json"
        with self._lock:
            kept = self._idle.pop() if self._idle else None
        if kept is not None:
            try:  # a kept-alive connection the server closed meanwhile: try a fresh one
                return self._exchange(kept, method, url, body, head)
            except _Stale:
                pass
        return self._exchange(self._connection(), method, url, body, head, fresh=True)

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        url: str,
        body: bytes,
        head: dict[str, str],
        *,
        fresh: bool = False,
    ) -> Reply:
        try:
            conn.request(method, self.prefix + url, body=body, headers=head)
            answer = conn.getresponse()
            reply = Reply(answer.status, answer.read())
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
            conn.close()
            if not fresh:  # closed before any answer came: the request was not taken
                raise _Stale() from err
            raise TransportError(f"{self.host}:{self.port}: {err}") from err
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise TransportError(f"{self.host}:{self.port}: {type(err).__name__}: {err}") from err
        if answer.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        return reply

    def get(self, url: str, **kw: Any) -> Reply:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Reply:
        return self.request("POST", url, **kw)

    def close(self) -> None:
        with self._lock:
            while self._idle:
                self._idle.pop().close()


class _Stale(Exception):
    """A kept-alive connection was closed by the server before this call's answer."""
