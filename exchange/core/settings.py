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
    # Hosts the HTTP connector may call, as "host:port" ("*" for any port, "*.example.org"
    # for its subdomains), e.g. '["api.zjzwfw.gov.cn:443", "127.0.0.1:*"]'. Empty: none.
    connector_http_allowlist: list[str] = Field(default_factory=list)
    # Directories file-based connectors (DuckDB files, SQLite databases) may read, e.g.
    # '["/srv/departments"]'. Empty: data_dir only. A binding reading elsewhere is refused.
    connector_file_roots: list[Path] = Field(default_factory=list)
    # The most records one lookup returns; beyond it the answer is flagged truncated.
    connector_max_rows: int = Field(default=1000, ge=1, le=100_000)
    # Grants (共享权限): the longest period a grant may run, and the provider's decision clock.
    grant_max_years: int = Field(default=3, ge=1, le=10)
    grant_due_working_days: int = Field(default=10, ge=1, le=60)

    # Grant policy propagation between hub processes: auto = PostgreSQL LISTEN/NOTIFY on a
    # PostgreSQL hub, else Redis pub/sub when redis_url is set, else a policy-version poll.
    policy_watcher: Literal["auto", "postgres", "redis", "poll"] = "auto"
    redis_url: str = ""
    policy_poll_seconds: float = Field(default=0.5, gt=0, le=0.5)
    # With a push watcher, a version poll still runs this often (a missed message heals).
    policy_safety_poll_seconds: float = Field(default=5.0, gt=0, le=300)

    # A serving process freezes its startup heap for the garbage collector and collects
    # young objects every gc_gen0_threshold allocations (exchange/core/heap.py): full
    # collections of that heap were the hub's p99 latency. Off in the test suite.
    gc_tuning: bool = True
    gc_gen0_threshold: int = Field(default=10_000, ge=700, le=1_000_000)

    # Access log (访问日志): a signed checkpoint every N entries or T seconds, also written as
    # files (default data_dir/checkpoints) where a witness keeps them; group commit batches
    # concurrent appends of one process into one transaction.
    audit_checkpoint_every: int = Field(default=10_000, ge=1)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    audit_checkpoint_dir: Path | None = None
    audit_group_commit: bool = True
    audit_batch_max: int = Field(default=512, ge=1, le=10_000)
    audit_append_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Parquet exports the auditors' reports read through the API (default data_dir/exports).
    audit_export_dir: Path | None = None
    # Record pulls: the most keys one lookup may name; how long a pull trusts its cached
    # view of a catalogue entry or purpose (a change made elsewhere applies within it).
    records_max_batch: int = Field(default=100, ge=1, le=1000)
    records_catalogue_ttl_seconds: float = Field(default=2.0, ge=0, le=60)

    # Citizens (data tracker): tokens of a trusted external identity provider (e.g. 浙里办 /
    # 浙江政务服务网 统一身份认证). Its keys: a JWKS URL (fetched, cached for the TTL) or a
    # local JWKS file (offline/dev). No issuer configured: the tracker answers 503.
    citizen_idp_issuer: str = ""
    citizen_idp_audience: str = "datarun-tracker"
    citizen_idp_jwks_url: str = ""
    citizen_idp_jwks_file: Path | None = None
    citizen_idp_jwks_ttl_seconds: int = Field(default=300, ge=5, le=86_400)
    # Asymmetric algorithms only (RFC 8725 §3.1): "none" and HS* cannot be configured.
    citizen_idp_algorithms: list[Literal["RS256", "ES256", "EdDSA"]] = Field(
        default=["RS256", "ES256", "EdDSA"], min_length=1
    )
    citizen_idp_id_claim: str = Field(default="id_number", min_length=1)  # 18-digit 身份证号
    # Data objections (数据异议): the provider answers within N working days.
    objection_due_working_days: int = Field(default=5, ge=1, le=60)
    # The console (people's sign-in): lock an account for M minutes after N failed
    # sign-ins in a row; sessions end after H hours, or after I idle minutes. The session
    # cookie is Secure outside development unless console_cookie_secure says otherwise.
    console_lockout_attempts: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: int = Field(default=15, ge=1, le=1440)
    console_session_hours: float = Field(default=8.0, gt=0, le=168)
    console_session_idle_minutes: int = Field(default=60, ge=1, le=1440)
    console_cookie_secure: bool | None = None
    # Applications (办件): files an applicant brings (size, types; stored content-addressed
    # under application_materials_dir, default data_dir/materials) and how long an
    # Idempotency-Key may stay in flight before a new request takes it over (a crash).
    application_file_max_bytes: int = Field(default=700_000, ge=1)
    application_file_types: list[str] = Field(
        default=["application/pdf", "image/jpeg", "image/png", "application/ofd"]
    )
    application_materials_dir: Path | None = None
    idempotency_in_flight_seconds: float = Field(default=120.0, gt=0)
    # Applications: the pulls of a submission run concurrently, each source within its own
    # deadline, all within the total budget (a request may ask for less, never more).
    # Unavailable materials are retried on this schedule (seconds after each failed try),
    # polled every application_retry_poll_seconds by each hub process (0: no poller).
    application_pull_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    application_budget_seconds: float = Field(default=5.0, gt=0, le=120)
    application_retry_schedule_seconds: list[float] = Field(
        default=[5, 30, 120, 600, 3600], max_length=20
    )
    application_retry_poll_seconds: float = Field(default=5.0, ge=0, le=3600)
    application_retry_batch: int = Field(default=50, ge=1, le=1000)
    # Background retries of one source (provider department) running at once in a process:
    # few, so that after an outage they leave the source's connector slots to live pulls.
    application_retry_per_source: int = Field(default=2, ge=1, le=100)
    # The lifecycle sweeps (grants: expiries, lapses, overdue requests; objections: overdue
    # answers) run in each hub process every sweep_interval_seconds, the first one interval
    # after start; processes on one PostgreSQL take turns (exchange/sweeps). 0: not here.
    sweep_interval_seconds: float = Field(default=300.0, ge=0, le=86_400)
    # Operations (exchange/observability, exchange/limits). Logs: "json" writes one JSON
    # object a line (request id, route template, status, duration; never bodies, keys or
    # tokens). GET /metrics: with metrics_token, only "Authorization: Bearer <token>";
    # without, loopback callers only (never a request a reverse proxy forwarded).
    log_format: Literal["text", "json"] = "text"
    metrics_token: SecretStr | None = None
    # Per-system rate limit (token bucket, by client id): sustained requests a second and
    # burst; 0 turns it off. Overrides by client id: '{"zj-gat-window": [500, 1000]}'.
    # "auto": shared through Redis when redis_url is set (every process one budget), else
    # in this process; while Redis is unreachable each process falls back to its own.
    rate_limit_per_second: float = Field(default=200.0, ge=0)
    rate_limit_burst: int = Field(default=1000, ge=1)
    rate_limit_overrides: dict[str, tuple[float, int]] = Field(default_factory=dict)
    rate_limit_backend: Literal["auto", "memory", "redis"] = "auto"
    # The token endpoint (/oauth/token), before any signature is checked: requests a second
    # and burst per client id a request names (per client address when it names none or an
    # unregistered one); 0 turns it off. Same backend as the per-system limit.
    token_rate_limit_per_second: float = Field(default=5.0, ge=0)
    token_rate_limit_burst: int = Field(default=20, ge=1)
    # Per provider department: connector calls in flight at once over all its bindings, and
    # how many more may wait (within their deadline) before further ones get 503 at once.
    provider_max_concurrency: int = Field(default=16, ge=1, le=10_000)
    provider_max_waiting: int = Field(default=32, ge=0, le=10_000)
    # Readiness: how long /readyz waits for each check before calling it failed.
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

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

    @property
    def effective_materials_dir(self) -> Path:
        """Return where applicants' files are kept: the configured dir, else data_dir/materials."""
        return self.application_materials_dir or self.data_dir / "materials"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
