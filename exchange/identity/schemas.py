"""API shapes of the identity domain: registered systems, the caller, token responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

# No ':' in a client id: "user:<name>" subjects must never collide with a system's.
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$"
USERNAME = r"^[a-z0-9][a-z0-9._-]{1,127}$"
DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{1,63}$"

ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SystemRole = Literal["system"]
SystemStatus = Literal["active", "disabled"]

# OpenAPI examples: the window system of 自然资源厅 (不动产登记一窗受理) in the demo province.
_JWKS: JsonDict = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "yFr0Xdu58AHkVTXi31aUaT6GN31kU4HB8ZrKNf8wF14",
            "kid": "CL0ITRQkzwigmoJaFcIU-crU85I5qEs6n4YM2_Tk3Ek",
            "alg": "EdDSA",
            "use": "sig",
        }
    ]
}
_SYSTEM: JsonDict = {
    "client_id": "zj-zrzyt-window",
    "name": "浙江省不动产登记一窗受理系统",
    "department": "zj-zrzyt",
    "roles": ["system"],
}


class Schema(BaseModel):
    """Base of every identity API shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class JWKSet(Schema):
    """A JWK Set (RFC 7517 §5) of the system's public signing keys (Ed25519 or P-256)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_JWKS]})

    keys: list[dict[str, Any]] = Field(min_length=1, max_length=10)


class SystemCreate(Schema):
    """Register a department system (client) with its public keys."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_SYSTEM, "jwks": _JWKS}]})

    client_id: ClientId
    name: Name
    department: DepartmentCode = Field(description="department code (部门代码)")
    roles: list[SystemRole] = Field(default=["system"], min_length=1)
    jwks: JWKSet


class SystemUpdate(Schema):
    """Change a system's name, status (active / disabled) or replace its public keys."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "disabled"}]})

    name: Name | None = None
    status: SystemStatus | None = None
    jwks: JWKSet | None = None


class SystemRead(Schema):
    """A registered department system."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SYSTEM,
                    "status": "active",
                    "jwks": _JWKS,
                    "created_at": "2026-11-27T09:30:00Z",
                }
            ]
        }
    )

    client_id: str
    name: str
    department: str
    roles: list[str]
    status: str
    jwks: dict[str, Any]
    created_at: datetime


class MeRead(Schema):
    """The verified caller behind the bearer token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "zj-zrzyt-window",
                    "kind": "system",
                    "department": "zj-zrzyt",
                    "roles": ["system"],
                    "client_id": "zj-zrzyt-window",
                    "token_id": "a8c7642c3ac3416bb6d6567f506a5ae7",
                    "expires_at": "2026-11-27T09:35:00Z",
                }
            ]
        }
    )

    subject: str = Field(description="a system's client_id, or user:<username>")
    kind: Literal["system", "user"]
    department: str
    roles: list[str]
    client_id: str | None
    token_id: str = Field(description="the access token's jti")
    expires_at: datetime | None = Field(description="when the access token stops being accepted")


class TokenResponse(Schema):
    """A successful access-token response (RFC 6749 §5.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Imh1Yi0yMDI2MTEyNy0xIiwidHlwIjoi"
                    "YXQrand0In0.eyJzdWIiOiJ6ai16cnp5dC13aW5kb3ciLCJkZXAiOiJ6ai16cnp5dCJ9."
                    "c2lnbmF0dXJlLW9mLXRoZS1odWI",
                    "token_type": "Bearer",
                    "expires_in": 300,
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (a token type, not a secret)
    expires_in: int


class OAuthErrorBody(Schema):
    """An error response of the token endpoint (RFC 6749 §5.2)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "invalid_client",
                    "error_description": "the client assertion's signature does not verify",
                }
            ]
        }
    )

    error: str
    error_description: str | None = None
