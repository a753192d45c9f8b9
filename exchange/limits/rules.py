"""The token bucket, as a pure function (the Redis script does the same arithmetic)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on; if not, how long until a token is there."""

    allowed: bool
    retry_after: float = 0.0
    rate: float = 0.0
    burst: int = 0

    @property
    def retry_after_header(self) -> str:
        """Return ``Retry-After`` in whole seconds (at least 1)."""
        return str(max(1, math.ceil(self.retry_after)))


def take(
    tokens: float, updated: float, now: float, *, rate: float, burst: int
) -> tuple[bool, float, float]:
    """Refill a bucket holding ``tokens`` at ``updated`` up to ``now`` and take one token.

    Return (allowed, tokens left, seconds until the next token when refused). The bucket
    holds at most ``burst`` tokens and refills ``rate`` tokens a second.
    """
    tokens = min(float(burst), tokens + max(0.0, now - updated) * rate)
    if tokens >= 1.0:
        return True, tokens - 1.0, 0.0
    return False, tokens, (1.0 - tokens) / rate
