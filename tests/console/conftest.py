"""Console tests: the hub on a test database, with cookies a plain-HTTP client keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.core.settings import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings; the session cookie drops Secure so the HTTP test client sends it back."""
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "var",
        issuer="http://testserver",
        console_cookie_secure=False,
        console_lockout_attempts=3,
        console_lockout_minutes=15,
    )
