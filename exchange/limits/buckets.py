"""Token buckets per caller: in this process, or in Redis so every hub process shares them.

``RateLimiter.take(key)`` answers a ``Verdict``. With Redis (``rate_limit_backend`` redis,
or auto with ``redis_url`` set) one Lua script refills and takes atomically on Redis's own
clock, so N hub processes together allow the configured rate, not N times it. If Redis
does not answer within 0.25 s the process falls back to its own buckets (and says so in
its log, at most every 30 s): a rate limiter must not take the hub down with it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from exchange.core.settings import Settings
from exchange.limits.rules import Verdict, take

log = logging.getLogger("datarun.limits")

# KEYS[1] the bucket; ARGV rate, burst. Returns {allowed, seconds to wait (as text)}.
_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""
_REDIS_TIMEOUT = 0.25
_WARN_EVERY = 30.0
_MAX_KEYS = 100_000


class MemoryBuckets:
    """Buckets of this process (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: int) -> tuple[bool, float]:
        """Take one token from ``key``'s bucket; return (allowed, seconds to wait)."""
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(burst), now))
            allowed, left, wait = take(tokens, updated, now, rate=rate, burst=burst)
            if len(self._buckets) >= _MAX_KEYS and key not in self._buckets:
                self._buckets.clear()  # only ever many callers: forget the idle ones
            self._buckets[key] = (left, now)
        return allowed, wait


class RedisBuckets:
    """Buckets in Redis, shared by every hub process using the same Redis."""

    def __init__(self, url: str, *, prefix: str = "datarun:ratelimit:") -> None:
        self._url = url
        self._prefix = prefix
        self._client: Any = None
        self._script: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def take(self, key: str, rate: float, burst: int) -> tuple[bool, float]:
        """Take one token in Redis; raise on any Redis failure (the caller falls back)."""
        script = self._bound()
        allowed, wait = await asyncio.wait_for(
            script(keys=[self._prefix + key], args=[rate, burst]), _REDIS_TIMEOUT
        )
        return bool(int(allowed)), float(wait)

    def _bound(self) -> Any:
        # An asyncio Redis client belongs to the loop it was made on.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio as redis

            self._client = redis.Redis.from_url(
                self._url, socket_timeout=_REDIS_TIMEOUT, socket_connect_timeout=_REDIS_TIMEOUT
            )
            self._script = self._client.register_script(_LUA)
            self._loop = loop
        return self._script

    async def close(self) -> None:
        """Close the client (if it was made on this loop)."""
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()


def _shared_through(settings: Settings) -> str:
    """Return the Redis URL the buckets live in, or "" for this process's own."""
    backend = settings.rate_limit_backend
    use_redis = backend == "redis" or (backend == "auto" and bool(settings.redis_url))
    return settings.redis_url if use_redis else ""


class RateLimiter:
    """Per-caller token buckets with the hub's rate, burst and per-caller overrides."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        overrides: dict[str, tuple[float, int]] | None = None,
        redis_url: str = "",
        redis_prefix: str = "datarun:ratelimit:",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.overrides = dict(overrides or {})
        self.memory = MemoryBuckets(clock)
        self.redis = RedisBuckets(redis_url, prefix=redis_prefix) if redis_url else None
        self._warned_at = -_WARN_EVERY

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """Build the per-system limiter the settings describe."""
        return cls(
            rate=settings.rate_limit_per_second,
            burst=settings.rate_limit_burst,
            overrides=settings.rate_limit_overrides,
            redis_url=_shared_through(settings),
        )

    @classmethod
    def for_token_endpoint(cls, settings: Settings) -> RateLimiter:
        """Build the token endpoint's limiter (its own rate, burst and Redis keys)."""
        return cls(
            rate=settings.token_rate_limit_per_second,
            burst=settings.token_rate_limit_burst,
            redis_url=_shared_through(settings),
            redis_prefix="datarun:ratelimit:token:",
        )

    @property
    def enabled(self) -> bool:
        """Whether any caller is limited (a rate of 0 for all: the middleware steps aside)."""
        return self.rate > 0 or any(rate > 0 for rate, _ in self.overrides.values())

    @property
    def backend(self) -> str:
        """Say where the buckets live: "redis" or "memory"."""
        return "redis" if self.redis is not None else "memory"

    def limits_for(self, key: str) -> tuple[float, int]:
        """Return (rate, burst) for the caller ``key``; a rate of 0 means unlimited."""
        return self.overrides.get(key, (self.rate, self.burst))

    async def take(self, key: str) -> Verdict:
        """Take one token for ``key``; say whether the request may go on."""
        rate, burst = self.limits_for(key)
        if rate <= 0:
            return Verdict(True)
        if self.redis is not None:
            try:
                allowed, wait = await self.redis.take(key, rate, burst)
                return Verdict(allowed, wait, rate, burst)
            except Exception as exc:  # any Redis trouble: this process's own buckets
                self._warn(exc)
        allowed, wait = self.memory.take(key, rate, burst)
        return Verdict(allowed, wait, rate, burst)

    async def close(self) -> None:
        """Release the Redis client."""
        if self.redis is not None:
            await self.redis.close()

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning(
                "rate limits: Redis did not answer (%s); using this process's own buckets",
                type(exc).__name__,
            )
