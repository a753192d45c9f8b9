"""Hooks run after a commit that bumped the grant policy (Redis publish, local reload).

Keyed by database URL, so every hub app of this process on that database hears its commits;
held by weak reference, so an app (and its engine) that is gone stops being called by itself.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

CommitHook = Callable[[int], None]
_hooks: dict[str, list[weakref.ref[Any]]] = {}
_lock = threading.Lock()


def _key(bind: Engine) -> str:
    return bind.url.render_as_string(hide_password=True)


def _ref(hook: CommitHook) -> weakref.ref[Any]:
    return weakref.WeakMethod(hook) if inspect.ismethod(hook) else weakref.ref(hook)


def register_commit_hook(bind: Engine, hook: CommitHook) -> None:
    """Call ``hook(version)`` after each commit that bumped the policy of ``bind``'s database."""
    with _lock:
        hooks = _hooks.setdefault(_key(bind), [])
        hooks[:] = [h for h in hooks if h() is not None]
        hooks.append(_ref(hook))


def unregister_commit_hook(bind: Engine, hook: CommitHook) -> None:
    """Stop calling ``hook``."""
    with _lock:
        hooks = _hooks.get(_key(bind), [])
        hooks[:] = [h for h in hooks if h() is not None and h() != hook]


def hooks_for(bind: Engine) -> list[CommitHook]:
    """Return the live hooks registered for ``bind``'s database."""
    with _lock:
        refs = list(_hooks.get(_key(bind), []))
    return [hook for hook in (ref() for ref in refs) if hook is not None]
