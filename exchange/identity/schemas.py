"""API shapes of the identity domain: registered systems, the caller, token responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# No ':' in a client id: "user:<name>" subjects must never collide with a system's.
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$"
USERNAME = r"^[a-z0-9][a-z0-9._-]{1,127}$"
DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{1,63}$"

ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SystemRole = Literal["system"]
SystemStatus = Literal["active", "disabled"]


class Schema(BaseModel):
    """Base of every identity API shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class JWKSet(Schema):
    """A JWK Set (RFC 7517 §5) of the system's public signing keys (Ed25519 or P-256)."""

    keys: list[dict[str, Any]] = Field(min_length=1, max_length=10)


class SystemCreate(Schema):
    """Register a department system (client) with its public keys."""

    client_id: ClientId
    name: Name
    department: DepartmentCode = Field(description="department code (部门代码)")
    roles: list[SystemRole] = Field(default=["system"], min_length=1)
    jwks: JWKSet


class SystemUpdate(Schema):
    """Change a system's name, status (active / disabled) or replace its public keys."""

    name: Name | None = None
    status: SystemStatus | None = None
    jwks: JWKSet | None = None


class SystemRead(Schema):
    """A registered department system."""

    client_id: str
    name: str
    department: str
    roles: list[str]
    status: str
    jwks: dict[str, Any]
    created_at: datetime


class MeRead(Schema):
    """The verified caller behind the bearer token."""

    subject: str = Field(description="a system's client_id, or user:<username>")
    kind: Literal["system", "user"]
    department: str
    roles: list[str]
    client_id: str | None
    token_id: str = Field(description="the access token's jti")
    expires_at: datetime | None = Field(description="when the access token stops being accepted")


class TokenResponse(Schema):
    """A successful access-token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (a token type, not a secret)
    expires_in: int


class OAuthErrorBody(Schema):
    """An error response of the token endpoint (RFC 6749 §5.2)."""

    error: str
    error_description: str | None = None
