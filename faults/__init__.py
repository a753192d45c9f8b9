"""Fault injection: a misbehaving proxy on loopback and the fault matrix run through the hub.

``faults.proxy`` is a small asyncio proxy put between the hub and a department's system:
it passes traffic through, or times out, answers HTTP 500, refuses connections, answers
three times slower, sends garbage or an endless body, or answers 429 with Retry-After —
switchable while it runs. ``faults.matrix`` runs each of those modes against one source
and against all sources, with real traffic through the real hub, and checks what a
caller sees. ``python -m faults`` sets up a throw-away hub with the demo province and
prints how many scenarios it survived.
"""
