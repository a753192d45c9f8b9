"""Hub signing-key rotation: old tokens verify during the overlap window, then stop."""

from __future__ import annotations

from datetime import timedelta

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.identity import keys
from exchange.identity.models import SigningKey


def kid_of(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.get_unverified_header(token)["kid"])


def test_rotation_keeps_old_tokens_valid_during_overlap_then_drops_them(
    app: FastAPI, client: TestClient, db: Session, auth
) -> None:
    before = auth("alice", department="zj-gat", roles=["catalog_admin"])
    old_kid = kid_of(before)

    new = keys.rotate(db, app.state.settings)
    db.commit()
    app.state.keyring.refresh()

    after = auth("bob", department="zj-gat", roles=["auditor"])
    assert kid_of(after) == new.kid != old_kid
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, new.kid}
    assert client.get("/v1/me", headers=before).status_code == 200
    assert client.get("/v1/me", headers=after).status_code == 200

    # The overlap window ends: the old key leaves the JWKS and its tokens stop verifying.
    db.execute(
        update(SigningKey)
        .where(SigningKey.kid == old_kid)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    app.state.keyring.refresh()
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {new.kid}
    rejected = client.get("/v1/me", headers=before)
    assert rejected.status_code == 401
    assert "www-authenticate" in rejected.headers
    assert client.get("/v1/me", headers=after).status_code == 200


def test_overlap_outlasts_every_token_signed_with_the_old_key(app: FastAPI, db: Session) -> None:
    settings = app.state.settings
    keys.ensure_signing_key(db, settings)
    db.commit()
    start = utcnow()
    keys.rotate(db, settings)
    db.commit()
    retired = db.scalars(select(SigningKey).where(SigningKey.retired_at.is_not(None))).all()
    assert len(retired) == 1
    lifetime = settings.access_token_ttl_seconds + settings.token_leeway_seconds
    assert retired[0].expires_at >= start + timedelta(seconds=lifetime)
