"""Token verifications per second: the hub's full RFC 8725 check vs the bare signature check.

The baseline is the Ed25519 signature verification alone (what no JWT library can avoid);
the ratio shows what header checks, key lookup and claim validation cost on top of it.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from benchmarks.common import measure_rate
from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from exchange.identity.keys import KeyRing
from exchange.identity.tokens import issue_access_token, verify_access_token


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def run(seconds: float = 3.0) -> list[str]:
    """Measure and return report lines."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        upgrade(url)
        settings = Settings(database_url=url, environment="test")
        engine = make_engine(url)
        keyring = KeyRing(make_sessionmaker(engine), settings)
        token, _ = issue_access_token(
            keyring,
            settings,
            subject="zj-zrzyt-window",
            kind="system",
            department="zj-zrzyt",
            roles=["system"],
            client_id="zj-zrzyt-window",
        )
        kid, _ = keyring.signing()
        public = keyring.verification_key(kid)
        assert public is not None
        header, payload, signature = token.split(".")
        signing_input = f"{header}.{payload}".encode()
        raw_signature = _b64decode(signature)

        def baseline() -> None:
            public.verify(raw_signature, signing_input)

        def full() -> None:
            verify_access_token(keyring, settings, token)

        base_rate = measure_rate(baseline, seconds=seconds)
        full_rate = measure_rate(full, seconds=seconds)
        engine.dispose()
    return [
        "token verification (EdDSA access token, one process, one thread)",
        f"  baseline: bare Ed25519 signature check   {base_rate:>10,.0f} /s",
        f"  hub: verify_access_token (RFC 8725)      {full_rate:>10,.0f} /s",
        f"  ratio hub/baseline                       {full_rate / base_rate:>10.2f}",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
