"""A serving hub freezes its startup heap and collects young objects less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from exchange.app import create_app
from exchange.core.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Leave the test process's collector as it was (nothing frozen, its thresholds)."""
    thresholds = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_serving_hub_freezes_its_startup_heap(settings: Settings, restored_gc: None) -> None:
    tuned = settings.model_copy(update={"gc_tuning": True, "gc_gen0_threshold": 12_345})
    app = create_app(tuned)
    assert gc.get_freeze_count() == 0  # building the app is not serving it
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        # The app's routes, models and policy are in the permanent generation, where the
        # collector never walks; young objects are collected every 12,345 allocations.
        assert gc.get_freeze_count() > 50_000
        assert gc.get_threshold()[0] == 12_345
        walked = {id(o) for o in gc.get_objects()}  # what a collection goes through
        assert id(app.router) not in walked
    app.state.engine.dispose()


def test_the_test_suite_and_a_hub_that_turns_it_off_keep_the_collector(
    settings: Settings, restored_gc: None
) -> None:
    assert settings.gc_tuning is False  # DATARUN_GC_TUNING=false (tests/conftest.py)
    before = gc.get_threshold()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before


def test_a_threshold_below_pythons_default_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATARUN_GC_GEN0_THRESHOLD", "100")
    with pytest.raises(ValidationError, match="gc_gen0_threshold"):
        Settings()
