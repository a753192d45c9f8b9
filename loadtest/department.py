"""The demo HTTP department (人社厅's API) as a process of its own, so it can be killed too."""

from __future__ import annotations

from pathlib import Path

from exchange.demo.sources.http_department import create_department_app, ensure_api_key


def serve(database: Path, *, port: int, key_file: Path) -> None:
    """Serve the department's API over ``database`` on 127.0.0.1:``port`` until stopped."""
    import uvicorn

    app = create_department_app(database, api_key=ensure_api_key(key_file))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
