"""casbin watchers that tell every hub process when the grant policy changed.

- ``PostgresWatcher``: ``LISTEN datarun_policy`` on a dedicated psycopg 3 connection.
  ``bump_policy_version`` sends the ``NOTIFY`` inside the changing transaction, so
  PostgreSQL delivers it exactly when the change commits.
- ``RedisWatcher``: Redis pub/sub on channel ``datarun_policy``; this process publishes
  after each commit that bumped the policy (a commit hook).

Both implement pycasbin's ``Watcher`` interface (``set_update_callback``, ``update``,
``close``). A message only wakes the refresher, which reads the version and the change
log from the database itself: a lost, duplicated or forged message costs a version read,
never a wrong decision. A listener that loses its connection reconnects with backoff and
wakes the refresher (it may have missed a message meanwhile).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from casbin.persist.watcher import Watcher
from sqlalchemy.engine import Engine

from exchange.core.settings import Settings
from exchange.grants import hooks, policy
from exchange.observability.dberrors import describe_db_error

log = logging.getLogger("datarun.grants.watcher")

Callback = Callable[[int | None], None]


def _parse(payload: Any) -> int | None:
    try:
        return int(payload)
    except (TypeError, ValueError):
        return None


class PolicyWatcher(Watcher):
    """A listener thread that calls back with the announced version (None: unknown)."""

    kind = "none"

    def __init__(self, callback: Callback) -> None:
        self._callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def set_update_callback(self, func: Callback) -> None:
        """Set the function called when another process changed the policy."""
        self._callback = func

    def start(self) -> None:
        """Start listening in a daemon thread."""
        self._thread = threading.Thread(
            target=self._loop, name=f"policy-watcher-{self.kind}", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._listen()
                backoff = 0.2
            except Exception as exc:
                self.connected.clear()
                if self._stop.is_set():  # closed under the listener: nothing was lost
                    return
                log.warning(
                    "%s policy watcher lost its connection (%s); retrying",
                    self.kind,
                    describe_db_error(exc),
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                self._callback(None)  # something may have been missed meanwhile

    def _listen(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening; the callback is not called any more."""
        # No join: the thread sees the flag within its 0.5 s wait and ends by itself, and a
        # hub shutting down (or a test) need not wait for it.
        self._stop.set()
        self._thread = None


class PostgresWatcher(PolicyWatcher):
    """Listens for ``NOTIFY datarun_policy`` on the hub's PostgreSQL database."""

    kind = "postgres"

    def __init__(self, engine: Engine, callback: Callback) -> None:
        super().__init__(callback)
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {policy.CHANNEL}")
            self.connected.set()
            self._callback(None)  # catch up on whatever committed before we listened
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.5):
                    self._callback(_parse(note.payload))

    def update(self) -> None:
        """Announce a change made outside ``bump_policy_version`` to every process."""
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (policy.CHANNEL, ""))


class RedisWatcher(PolicyWatcher):
    """Subscribes to Redis channel ``datarun_policy``; publishes this process's changes."""

    kind = "redis"

    def __init__(self, engine: Engine, url: str, callback: Callback) -> None:
        super().__init__(callback)
        import redis

        self._engine = engine
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        hooks.register_commit_hook(engine, self.publish)

    def _listen(self) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(policy.CHANNEL)
            self.connected.set()
            self._callback(None)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and message.get("type") == "message":
                    self._callback(_parse(message.get("data")))
        finally:
            pubsub.close()

    def publish(self, version: int) -> None:
        """Tell every subscribed process that ``version`` committed."""
        try:
            self._client.publish(policy.CHANNEL, str(version))
        except Exception as exc:  # the others catch up at their next safety poll
            log.warning(
                "could not publish policy version %s to Redis: %s", version, describe_db_error(exc)
            )

    def update(self) -> None:
        """Announce a change made outside ``bump_policy_version`` to every process."""
        self._client.publish(policy.CHANNEL, "")

    def close(self) -> None:
        """Stop listening and publishing."""
        hooks.unregister_commit_hook(self._engine, self.publish)
        super().close()
        self._client.close()


def watcher_kind(settings: Settings, engine: Engine) -> str:
    """Return which watcher ``settings`` select for ``engine``'s database."""
    kind = settings.policy_watcher
    if kind == "auto":
        if engine.dialect.name == "postgresql":
            return "postgres"
        return "redis" if settings.redis_url else "poll"
    return kind


def make_watcher(settings: Settings, engine: Engine, callback: Callback) -> PolicyWatcher | None:
    """Return the configured watcher (None: poll the version only)."""
    kind = watcher_kind(settings, engine)
    if kind == "postgres":
        if engine.dialect.name != "postgresql":
            raise ValueError("DATARUN_POLICY_WATCHER=postgres needs a PostgreSQL hub database")
        return PostgresWatcher(engine, callback)
    if kind == "redis":
        if not settings.redis_url:
            raise ValueError("DATARUN_POLICY_WATCHER=redis needs DATARUN_REDIS_URL")
        return RedisWatcher(engine, settings.redis_url, callback)
    return None
