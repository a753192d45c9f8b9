"""Where a pull's CPU goes, without HTTP: the hub's ASGI app vs the bare endpoint, in-process.

A profiling aid beside ``bench_pulls`` (which measures end to end over loopback): the same
prepared hub database and demo data, 32 concurrent pulls driven straight into each ASGI app
on uvloop, CPU per pull from ``time.process_time`` (all threads). Switches leave parts of
the hub's work out, to see what each costs:

- ``--no-audit``: the access-log append answers at once (nothing is written);
- ``--no-lookup``: each key's connector answer is looked up once and then reused;
- ``--profile [SORT]``: cProfile of the event loop's thread (threads' work is not in it),
  40 lines sorted by SORT (``cumulative`` unless named, e.g. ``tottime``).

Run: ``python -m benchmarks.pulls_in_process [hub|bare] [--pulls N] [--no-audit]
[--no-lookup] [--profile [SORT]]``. It prints one line: the CPU per pull (all threads, and
the event loop's thread alone), the rate and, for the hub, the access-log entries per commit
(warm-up included). The machine is noisy: compare runs made one
after the other, several times each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks import bench_pulls as pulls

Message = dict[str, Any]
CONCURRENCY = 32


COMMITS = [0, 0]  # access-log commits and the entries they carried


def _count_commits() -> None:
    """Count the appender's commits (``AuditLog._write``) and their entries."""
    from exchange.audit.log import AuditLog

    write = AuditLog._write

    def counted(self: AuditLog, records: list[Any], **kwargs: Any) -> Any:
        COMMITS[0] += 1
        COMMITS[1] += len(records)
        return write(self, records, **kwargs)

    AuditLog._write = counted  # type: ignore[method-assign]


def _app(which: str, token: str, *, audit: bool, lookup: bool) -> tuple[Any, str, list[Any]]:
    """Return the app to drive, the path to post to and the request's extra headers."""
    if which == "bare":
        return pulls.bare_app(), f"/lookup/{pulls.RESOURCE}", []
    from exchange.app import create_app
    from exchange.audit.records import AppendedEntry, AuditRecord
    from exchange.records import service

    app = create_app()
    if audit:
        _count_commits()
    else:

        async def unwritten(records: list[AuditRecord]) -> list[AppendedEntry]:
            return [AppendedEntry(1, None, "-", "-") for _ in records]  # type: ignore[arg-type]

        app.state.audit.aappend_many = unwritten
    if not lookup:
        original, answers = service._lookup, {}

        async def remembered(hub: Any, code: str, keys: Any, items: Any, timeout: Any) -> Any:
            asked = (code, tuple(keys), tuple(items))
            if asked not in answers:
                answers[asked] = await original(hub, code, keys, items, timeout)
            return answers[asked]

        service._lookup = remembered  # type: ignore[assignment]
    headers = [(b"authorization", f"Bearer {token}".encode())]
    return app, f"/v1/records/{pulls.RESOURCE}/lookup", headers


async def _pull(app: Any, path: str, headers: list[Any], body: bytes, seen: dict[int, int]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            *headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"host", b"127.0.0.1"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            seen[message["status"]] = seen.get(message["status"], 0) + 1

    await app(scope, receive, send)


async def _lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; return a function that ends it."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: list[Message] = []

    async def send(message: Message) -> None:
        outbox.append(message)

    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    )
    while not outbox:
        await asyncio.sleep(0.01)

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await task

    return stop


async def _measure(
    app: Any, path: str, headers: list[Any], bodies: list[bytes], n: int, profile: str | None
) -> str:
    stop = await _lifespan(app)
    seen: dict[int, int] = {}

    async def worker(first: int, count: int) -> None:
        for i in range(first, count, CONCURRENCY):
            await _pull(app, path, headers, bodies[i % len(bodies)], seen)

    await asyncio.gather(*(worker(w, 500) for w in range(CONCURRENCY)))  # warm up
    seen.clear()
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu, loop_cpu, wall = time.process_time(), time.thread_time(), time.perf_counter()
    await asyncio.gather(*(worker(w, n) for w in range(CONCURRENCY)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    loop_cpu = time.thread_time() - loop_cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats(profile).print_stats(40)
    await stop()
    batches = f", {COMMITS[1] / COMMITS[0]:.1f} log entries per commit" if COMMITS[0] else ""
    return (
        f"{seen} CPU per pull {cpu / n * 1000:.3f} ms (event loop's thread "
        f"{loop_cpu / n * 1000:.3f} ms), {n / wall:,.0f} pulls/s{batches}"
    )


def main() -> None:
    """Parse the switches, prepare the hub database, drive the app, print one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["hub", "bare"], nargs="?", default="hub")
    parser.add_argument("--pulls", type=int, default=6000)
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument("--no-lookup", action="store_true")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cumulative",
        default=None,
        metavar="SORT",
        help="cProfile the event loop's thread (sorted by SORT: cumulative, tottime, …)",
    )
    args = parser.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env, token, keys = pulls._prepare(f"sqlite:///{tmp / 'hub.db'}", tmp)
        os.environ.update(env)
        app, path, headers = _app(
            args.which, token, audit=not args.no_audit, lookup=not args.no_lookup
        )
        body = {"items": pulls.ITEMS, "purpose": pulls.PURPOSE}
        bodies = [json.dumps({**body, "keys": [k]}).encode() for k in keys]
        line = uvloop.run(_measure(app, path, headers, bodies, args.pulls, args.profile))
    print(f"{args.which}: {line}")


if __name__ == "__main__":
    main()
