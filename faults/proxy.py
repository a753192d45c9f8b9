"""A fault-injecting proxy on loopback: one upstream, one mode at a time, switchable live.

Modes (``MODES``):

- ``pass``: forward each request and its answer unchanged;
- ``timeout``: read the request, never answer (hold the connection until the client
  gives up);
- ``http_500``: answer 500 with the department's error envelope;
- ``refused``: stop listening (a connect gets ECONNREFUSED) and cut open connections;
- ``slow``: forward, but answer ``slow_factor`` (3) times later than the upstream did
  (counting at least ``slow_floor_seconds`` for the upstream's own time);
- ``garbage``: answer 200 ``application/json`` whose body is not JSON;
- ``oversized``: answer 200 with a valid-looking JSON body that goes on for
  ``oversize_bytes`` (chunked, no length announced);
- ``rate_limited``: answer 429 with ``Retry-After: <retry_after>``.

``protocol="http"`` parses HTTP/1.1 messages so that a mode applies per request, even on
a kept-alive connection; ``protocol="tcp"`` pipes bytes (any protocol, e.g. PostgreSQL's)
and knows ``pass``, ``timeout`` (a black hole) and ``refused`` only. It listens on
127.0.0.1 only. ``BackgroundProxy`` runs one in a thread of its own for synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Literal

MODES = ("pass", "timeout", "http_500", "refused", "slow", "garbage", "oversized", "rate_limited")
TCP_MODES = ("pass", "timeout", "refused")
Protocol = Literal["http", "tcp"]

_CHUNK = 64 * 1024
_HEAD_LIMIT = 64 * 1024


def _response(status: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def read_message(reader: asyncio.StreamReader) -> bytes | None:
    """Read one HTTP/1.1 message (head and body); None at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                break
        return head + bytes(body)
    length = int(headers.get(b"content-length", b"0") or 0)
    return head + (await reader.readexactly(length) if length else b"")


class FaultProxy:
    """The proxy (see the module docstring); every method runs on its event loop."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        protocol: Protocol = "http",
        port: int = 0,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.protocol = protocol
        self.port = port
        self.mode = "pass"
        self.slow_factor = 3.0
        self.slow_floor_seconds = 0.1
        self.retry_after = 1
        self.oversize_bytes = 8 * 1024 * 1024
        self.hold_seconds = 60.0
        self.seen: Counter[str] = Counter()  # requests (http) or connections (tcp) by mode
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Start listening on 127.0.0.1 and return the port."""
        await self._listen()
        return self.port

    async def set_mode(self, mode: str) -> None:
        """Switch the mode; ``refused`` stops listening, any other mode listens again."""
        allowed = MODES if self.protocol == "http" else TCP_MODES
        if mode not in allowed:
            raise ValueError(f"unknown mode {mode!r} for a {self.protocol} proxy")
        self.mode = mode
        if mode == "refused":
            await self._close_listener()
            self._cut_all()
        elif self._server is None:
            await self._listen()

    async def stop(self) -> None:
        """Stop listening and cut every connection."""
        await self._close_listener()
        self._cut_all()

    async def _listen(self) -> None:
        handler = self._serve_http if self.protocol == "http" else self._serve_tcp
        self._server = await asyncio.start_server(
            handler, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    # HTTP ------------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await read_message(reader)
                if request is None:
                    break
                mode = self.mode
                self.seen[mode] += 1
                if mode in ("pass", "slow"):
                    if upstream is None:
                        upstream = await asyncio.open_connection(*self.upstream)
                    if not await self._forward(request, upstream, writer, slow=mode == "slow"):
                        break
                    continue
                await self._misbehave(mode, reader, writer)
                break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            if upstream is not None:
                upstream[1].transport.abort()

    async def _forward(
        self,
        request: bytes,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        writer: asyncio.StreamWriter,
        *,
        slow: bool,
    ) -> bool:
        up_reader, up_writer = upstream
        started = time.monotonic()
        up_writer.write(request)
        await up_writer.drain()
        response = await read_message(up_reader)
        if response is None:
            return False
        if slow:
            took = max(time.monotonic() - started, self.slow_floor_seconds)
            await asyncio.sleep(took * (self.slow_factor - 1))
        writer.write(response)
        await writer.drain()
        return True

    async def _misbehave(
        self, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if mode == "timeout":
            await self._hold(reader)
        elif mode == "http_500":
            body = '{"code": 50000, "message": "系统内部错误", "data": null}'.encode()
            writer.write(_response("500 Internal Server Error", body))
        elif mode == "rate_limited":
            body = '{"code": 42900, "message": "请求过于频繁", "data": null}'.encode()
            writer.write(
                _response("429 Too Many Requests", body, f"Retry-After: {self.retry_after}\r\n")
            )
        elif mode == "garbage":
            writer.write(_response("200 OK", b"\x00\xff<html>not json{{{" * 64))
        elif mode == "oversized":
            await self._endless(writer)
        await writer.drain()

    async def _hold(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.hold_seconds):
                while await reader.read(_CHUNK):
                    pass

    async def _endless(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        record = b'{"aac002": "000000000000000000", "pad": "' + b"x" * 1000 + b'"},'
        first = '{"code": 0, "message": "成功", "data": {"items": ['.encode()
        sent = 0
        chunk = first + record * (_CHUNK // len(record))
        while sent < self.oversize_bytes:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            chunk = record * (_CHUNK // len(record))
        last = record[:-1] + b"]}}"
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(last), last))

    # TCP -------------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.seen[self.mode] += 1
        up_writer: asyncio.StreamWriter | None = None
        try:
            if self.mode == "timeout":
                await self._hold(reader)
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            if up_writer is not None:
                up_writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


class BackgroundProxy:
    """A ``FaultProxy`` on an event loop in a daemon thread, driven from synchronous code."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, protocol: Protocol = "http"
    ) -> None:
        self.proxy = FaultProxy(upstream_host, upstream_port, protocol=protocol)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )

    @property
    def port(self) -> int:
        """The port the proxy listens on (the same across ``refused`` and back)."""
        return self.proxy.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        """The current mode."""
        return self.proxy.mode

    def start(self) -> int:
        """Start the loop and the proxy; return its port."""
        self._thread.start()
        return self._call(self.proxy.start())

    def set_mode(self, mode: str) -> None:
        """Switch the proxy's mode (waits until it took effect)."""
        self._call(self.proxy.set_mode(mode))

    def stop(self) -> None:
        """Stop the proxy, end its connections' tasks, and stop its loop."""
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shutdown(self) -> None:
        await self.proxy.stop()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def __enter__(self) -> BackgroundProxy:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
