"""Secret scanning over every text file of the checkout (code, scripts, docs, env files).

detect-secrets does the scanning, with a curated list of its precise (pattern-based)
plugins plus ours for Stripe, Pterodactyl and Supabase JWTs (see secret_plugins for
the lengths accepted). The entropy and keyword plugins are left out on purpose: they
flag ids, hashes and words in any codebase, and a noisy check gets ignored.

Rows never hold a secret: only its kind, location, a short fingerprint (a SHA-256
prefix, enough to tell two findings apart or to match a rotated key) and, for JWTs,
the decoded ``role`` claim. Facts only; the Area 7 / Area 4 checks judge them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .secret_plugins import jwt_claims

PLUGIN_FILE = Path(__file__).with_name("secret_plugins.py")
BUILTIN_PLUGINS = (
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)
CUSTOM_PLUGINS = (
    "StripeSecretKeyDetector",
    "StripeWebhookSecretDetector",
    "PterodactylKeyDetector",
    "SupabaseJwtDetector",
)
MAX_SCAN_BYTES = 2_000_000
_LOCK = threading.Lock()  # detect-secrets keeps its settings in a process-wide global
DOC_SUFFIXES = frozenset({".md", ".mdx", ".txt", ".rst", ".adoc"})
_ENV_NAME = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![A-Za-z0-9_])")


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible tag for a secret (never the secret)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def classify_secret(value: str, detector_type: str) -> tuple[str, bool | None, str | None]:
    """(kind, is_live, role) of one detected value; is_live None when it cannot be told."""
    if value.startswith(("sk_", "rk_")):
        kind = "stripe-secret-key" if value.startswith("sk_") else "stripe-restricted-key"
        return kind, value[3:].startswith("live_"), None
    if value.startswith("whsec_"):
        return "stripe-webhook-secret", None, None
    if value.startswith("ptla_"):
        return "pterodactyl-application-key", None, None
    if value.startswith("ptlc_"):
        return "pterodactyl-client-key", None, None
    claims = jwt_claims(value) if value.startswith("eyJ") else None
    if claims is not None:
        role = claims.get("role")
        role = str(role) if role is not None else None
        is_supabase = claims.get("iss") == "supabase" or role in {
            "anon",
            "service_role",
            "authenticated",
        }
        return ("supabase-jwt" if is_supabase else "jwt"), None, role
    slug = re.sub(r"[^a-z0-9]+", "-", detector_type.lower().replace("(readiness)", "")).strip("-")
    return slug or "secret", None, None


def scan_secrets(root: Path, files: Iterable[dict]) -> list[dict]:
    """Rows for ``code_secrets``: every detected secret in the given text files."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    plugins = [{"name": n} for n in BUILTIN_PLUGINS] + [
        {"name": n, "path": f"file://{PLUGIN_FILE}"} for n in CUSTOM_PLUGINS
    ]
    rows: list[dict] = []
    seen: set[tuple[str, int, str]] = set()
    with _LOCK, transient_settings({"plugins_used": plugins}):
        for f in files:
            if f.get("lines") is None or (f.get("size_bytes") or 0) > MAX_SCAN_BYTES:
                continue  # binary, unreadable or generated-size files
            for found in scan_file(str(root / f["path"])):
                value = found.secret_value or ""
                key = (f["path"], found.line_number, value)
                if not value or key in seen:
                    continue
                seen.add(key)
                kind, is_live, role = classify_secret(value, found.type)
                rows.append(
                    {
                        "path": f["path"],
                        "line": found.line_number,
                        "kind": kind,
                        "detector": found.type,
                        "fingerprint": fingerprint(value),
                        "is_live": is_live,
                        "role": role,
                        "file_kind": f.get("kind"),
                    }
                )
    rows.sort(key=lambda r: (r["path"], r["line"], r["kind"]))
    return rows


def doc_env_mentions(root: Path, files: Iterable[dict]) -> list[dict]:
    """Rows for ``code_env_docs``: UPPER_SNAKE names mentioned in docs (README, *.md)."""
    rows: list[dict] = []
    for f in files:
        p = PurePosixPath(f["path"])
        is_doc = p.suffix.lower() in DOC_SUFFIXES or p.name.upper().startswith("README")
        if not is_doc or f.get("lines") is None:
            continue
        try:
            text = (root / f["path"]).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        seen: set[str] = set()
        for number, raw in enumerate(text.splitlines(), start=1):
            for name in _ENV_NAME.findall(raw):
                if name not in seen:
                    seen.add(name)
                    rows.append({"path": f["path"], "line": number, "name": name})
    return rows
