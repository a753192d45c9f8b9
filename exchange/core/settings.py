"""One settings class for the hub, read from ``DATARUN_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "datarun-development-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    """Hub configuration; every field can be set as ``DATARUN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DATARUN_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr = SecretStr(DEV_SECRET)

    issuer: str = "http://127.0.0.1:8000"
    audience: str = "datarun-hub"
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    token_leeway_seconds: int = Field(default=30, ge=0, le=30)
    client_assertion_max_age_seconds: int = Field(default=300, ge=30, le=3600)
    key_overlap_seconds: int = Field(default=900, ge=60)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    page_size_default: int = Field(default=20, ge=1, le=500)
    page_size_max: int = Field(default=200, ge=1, le=1000)
    # Catalogue import (CLI; the API is further capped by max_body_bytes).
    import_max_bytes: int = Field(default=16 * 1_048_576, ge=1024)
    import_max_rows: int = Field(default=20_000, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError(
                "DATARUN_SECRET_KEY must be set to a real secret "
                "when DATARUN_ENVIRONMENT=production"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        """Return the configured database URL, or the embedded SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
