"""A second hub process for the propagation tests: holds a grant policy, prints its decisions.

Run as ``python -m tests.grants.policy_probe SYSTEM DEPARTMENT RESOURCE ITEM PURPOSE`` with
the hub's ``DATARUN_*`` settings in the environment. Prints ``READY <version> <watcher>``
once its watcher listens, then ``<0|1> <version> <unix time>`` each time the decision
flips; exits when its standard input closes or after ``DATARUN_PROBE_SECONDS``.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from exchange.core.db import make_engine
from exchange.core.settings import Settings
from exchange.grants.engine import GrantPolicy


def main() -> None:
    """Decide the same request every 2 ms and report each change."""
    system, department, resource, item, purpose = sys.argv[1:6]
    settings = Settings()
    policy = GrantPolicy(make_engine(settings.effective_database_url), settings)
    policy.refresh()
    policy.start()
    if not policy.wait_listening(10):
        print("NOT-CONNECTED", flush=True)
        return
    print(f"READY {policy.version} {policy.watcher_kind}", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    deadline = time.monotonic() + float(os.environ.get("DATARUN_PROBE_SECONDS", "60"))
    last: bool | None = None
    while not done.is_set() and time.monotonic() < deadline:
        decision = policy.decide(
            system=system or None,
            department=department,
            resource_code=resource,
            items=[item],
            purpose=purpose,
        )
        if decision.allowed != last:
            last = decision.allowed
            print(f"{int(last)} {decision.policy_version} {time.time():.6f}", flush=True)
        time.sleep(0.002)
    policy.dispose()


if __name__ == "__main__":
    main()
