"""The load side of the HTTP benchmarks (``bench_pulls``, ``bench_applications``).

Servers run as uvicorn subprocesses on loopback; the load comes from a second process:
``wrk`` (C, one thread, keep-alive connections, a Lua script that ends with ``WRK_DONE``)
when it is installed, else a Python asyncio HTTP/1.1 client (``drive``), which takes about
a core by itself. Both report the same measurements: count, seconds, rate, p50/p99/mean
latency in ms and the statuses seen.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

# The end of every wrk script: one line the benchmark parses.
WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    "DATARUN %d %d %d %d %f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.mean, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


def lua(text: str) -> str:
    """Return ``text`` as a Lua long-bracket string literal."""
    return f"[==[{text}]==]"


def run_wrk(
    script: str, *, port: int, concurrency: int, seconds: float, timeout: str, ok: str
) -> dict[str, Any]:
    """Load ``127.0.0.1:port`` with wrk running ``script`` (+ ``WRK_DONE``) for ``seconds``.

    ``timeout``: wrk's own per-request timeout (e.g. ``"10s"``); ``ok``: the status every
    answer should have, reported as such (anything else as "other").
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + WRK_DONE)
    try:
        done = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", timeout,
             "-s", f.name, f"http://127.0.0.1:{port}"],
            capture_output=True, check=True, timeout=float(seconds) + 120, text=True,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("DATARUN ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {done.stdout} {done.stderr}")
    count, micros, p50, p99, mean, bad_status, failed = (float(v) for v in line.split()[1:])
    statuses = {ok: int(count - bad_status)}
    if bad_status:
        statuses["other"] = int(bad_status)
    if failed:
        statuses["socket errors"] = int(failed)
    return {
        "count": int(count),
        "seconds": micros / 1e6,
        "rate": count / (micros / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "mean_ms": mean / 1000,
        "statuses": statuses,
    }


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    step: int,
    times: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i in range(start, len(requests), step):
            t0 = time.perf_counter()
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            times.append(time.perf_counter() - t0)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def drive(host: str, port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    """Send the raw HTTP/1.1 ``requests`` over ``concurrency`` keep-alive connections."""
    times: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _worker(host, port, requests, w, concurrency, times, statuses)
            for w in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    times.sort()
    return {
        "count": len(times),
        "seconds": elapsed,
        "rate": len(times) / elapsed,
        "p50_ms": times[len(times) // 2] * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
        "statuses": statuses,
    }


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def uvicorn_server(app_ref: str, env: dict[str, str], loop: str) -> Iterator[tuple[int, int]]:
    """Run the app factory ``app_ref`` in a uvicorn subprocess; yield its port and pid."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", app_ref, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    # The event loop and HTTP parser named, not "auto": every server of a run the same.
    command += ["--loop", loop, "--http", "httptools" if loop == "uvloop" else "h11"]
    process = subprocess.Popen(command, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{app_ref} did not start") from None
                time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def cpu_seconds(pid: int) -> float | None:
    """Return the CPU time (user + system) a process has used, where /proc tells it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
