import pytest
from pydantic import ValidationError

from exchange.core.settings import Settings


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="DATARUN_SECRET_KEY"):
        Settings(environment="production")


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(environment="production", secret_key="x" * 40)
    assert settings.environment == "production"


def test_default_database_is_embedded_sqlite_under_data_dir(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/hub.db"


def test_token_leeway_cannot_exceed_30_seconds() -> None:
    with pytest.raises(ValidationError):
        Settings(token_leeway_seconds=60)


def test_sweeps_run_every_five_minutes_unless_told_otherwise(monkeypatch) -> None:
    assert Settings().sweep_interval_seconds == 300
    monkeypatch.setenv("DATARUN_SWEEP_INTERVAL_SECONDS", "0")  # this process sweeps nothing
    assert Settings().sweep_interval_seconds == 0
    with pytest.raises(ValidationError):
        Settings(sweep_interval_seconds=-1)
