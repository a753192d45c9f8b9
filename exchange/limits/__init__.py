"""Limits that keep one caller from starving the others: per-system rate limits (429),
and the token endpoint's own, before any client assertion is checked (``token.py``).

The other limits live where they apply: the request body size
(``exchange/core/middleware.py``, 413), the keys in one pull (``records_max_batch``, 422)
and the connector calls in flight per provider department (``exchange/bindings/pool.py``
with ``connectors/resilience.py``, 503 with Retry-After).
"""
