"""detect-secrets plugins for the keys this platform handles (loaded by file path).

Accepted lengths (bodies after the prefix), chosen to match real keys *and* short
obviously-fake test fixtures, never a single word:
- Stripe ``sk_/rk_`` + ``live|test`` + ``_`` + 10 or more alphanumerics (real keys:
  24 to ~100); publishable ``pk_`` keys are public and not reported;
- Stripe webhook signing secrets ``whsec_`` + 10 or more alphanumerics (real: 32+);
- Pterodactyl ``ptla_`` (application) / ``ptlc_`` (client) + 12 or more alphanumerics
  (real: 48 = 16 id + 32 token);
- JWTs (three base64url parts whose first two decode to JSON objects); the scanner
  decodes the payload's ``role`` claim afterwards (anon keys are public by design).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Generator

from detect_secrets.plugins.base import RegexBasedDetector


class StripeSecretKeyDetector(RegexBasedDetector):
    """Stripe secret and restricted keys, live and test, any realistic length."""

    secret_type = "Stripe API Key (readiness)"
    denylist = (re.compile(r"(?<![0-9A-Za-z])((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,})"),)


class StripeWebhookSecretDetector(RegexBasedDetector):
    """Stripe webhook signing secrets."""

    secret_type = "Stripe Webhook Secret (readiness)"
    denylist = (re.compile(r"(?<![0-9A-Za-z])(whsec_[0-9A-Za-z+/=]{10,})"),)


class PterodactylKeyDetector(RegexBasedDetector):
    """Pterodactyl application (ptla_) and client (ptlc_) API keys."""

    secret_type = "Pterodactyl API Key (readiness)"
    denylist = (re.compile(r"(?<![0-9A-Za-z])(ptl[ac]_[0-9A-Za-z]{12,})"),)


def jwt_claims(token: str) -> dict | None:
    """The payload of a JWT-shaped string, or None when it is not one (no verification)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        decoded = [
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode("utf-8"))
            for p in parts[:2]
        ]
    except (ValueError, UnicodeDecodeError):
        return None
    header, payload = decoded
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return payload


class SupabaseJwtDetector(RegexBasedDetector):
    """Formally valid JWTs (the role claim is judged by the scanner, not here)."""

    secret_type = "JSON Web Token (readiness)"
    denylist = (re.compile(r"(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),)

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for token in super().analyze_string(string):
            if jwt_claims(token) is not None:
                yield token
