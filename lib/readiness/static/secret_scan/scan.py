"""Secret scanning over every file of the checkout (code, scripts, docs, env files, and
the printable strings of binaries), in whatever encoding it was written.

detect-secrets does the scanning, with a curated list of its precise (pattern-based)
plugins plus ours for Stripe, Pterodactyl and Supabase JWTs (see plugins.py for
the lengths accepted). The entropy and keyword plugins are left out on purpose: they
flag ids, hashes and words in any codebase, and a noisy check gets ignored. Decoding,
streaming and the filters turned off are in engine.py.

Rows never hold a secret: only its kind, location, a short fingerprint (a SHA-256
prefix, enough to tell two findings apart or to match a rotated key) and, for JWTs,
the decoded ``role`` claim. A file that could not be scanned (unreadable, over
MAX_SCAN_BYTES, or the scan failed on it) is a ``code_unscanned`` row, never a silent
skip. Facts only; the Area 7 / Area 4 checks judge them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from readiness.sources.base import SourceError

from ..textfiles import is_text, iter_lines, sniff_file
from .engine import DISABLED_FILTERS, Scanner
from .plugins import jwt_claims

PLUGIN_FILE = Path(__file__).with_name("plugins.py")
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
MAX_SCAN_BYTES = 50_000_000  # larger files are named in code_unscanned, never skipped silently
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


def _unscanned(f: dict, size: int | None, reason: str) -> dict:
    return {"path": f["path"], "size_bytes": size, "reason": reason, "file_kind": f.get("kind")}


def _codec_and_size(root: Path, f: dict) -> tuple[str, int]:
    """The file's codec (from the walk, else sniffed now) and size; OSError if unreadable."""
    codec = f.get("encoding")
    size = f.get("size_bytes")
    if not isinstance(codec, str):
        codec = sniff_file(root / f["path"])
    if not isinstance(size, int):
        size = (root / f["path"]).stat().st_size
    return codec, size


def scan_secrets(root: Path, files: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """Rows for ``code_secrets`` (every detected secret) and ``code_unscanned`` (every file
    that could not be scanned, with why: the check cannot pass while one is listed)."""
    from detect_secrets.settings import get_plugins, get_settings, transient_settings

    plugins = [{"name": n} for n in BUILTIN_PLUGINS] + [
        {"name": n, "path": f"file://{PLUGIN_FILE}"} for n in CUSTOM_PLUGINS
    ]
    rows: list[dict] = []
    unscanned: list[dict] = []
    with _LOCK, transient_settings({"plugins_used": plugins}):
        get_settings().disable_filters(*DISABLED_FILTERS)
        loaded = get_plugins()
        if len(loaded) != len(plugins):
            raise RuntimeError(f"{len(loaded)} of {len(plugins)} secret plugins loaded")
        scanner = Scanner(loaded, frozenset(CUSTOM_PLUGINS))
        for f in files:
            size = f.get("size_bytes") if isinstance(f.get("size_bytes"), int) else None
            try:
                codec, size = _codec_and_size(root, f)
                if size > MAX_SCAN_BYTES:
                    why = f"larger than the scan limit ({MAX_SCAN_BYTES:,} bytes)"
                    unscanned.append(_unscanned(f, size, why))
                    continue
                found = scanner.scan(root / f["path"], f["path"], codec)
            except OSError as exc:
                unscanned.append(_unscanned(f, size, f"unreadable: {exc.strerror or exc}"))
                continue
            except SourceError:
                raise  # the run is being stopped
            except Exception as exc:  # noqa: BLE001 — one odd file loses itself, named
                # the type only: a message could quote the line (and so the secret)
                unscanned.append(_unscanned(f, size, f"scan failed: {type(exc).__name__}"))
                continue
            for line, value, detector in found:
                kind, is_live, role = classify_secret(value, detector)
                rows.append(
                    {
                        "path": f["path"],
                        "line": line,
                        "kind": kind,
                        "detector": detector,
                        "fingerprint": fingerprint(value),
                        "is_live": is_live,
                        "role": role,
                        "file_kind": f.get("kind"),
                    }
                )
    rows.sort(key=lambda r: (r["path"], r["line"], r["kind"], r["fingerprint"]))
    return rows, unscanned


def doc_env_mentions(root: Path, files: Iterable[dict]) -> list[dict]:
    """Rows for ``code_env_docs``: UPPER_SNAKE names mentioned in docs (README, *.md)."""
    rows: list[dict] = []
    for f in files:
        p = PurePosixPath(f["path"])
        is_doc = p.suffix.lower() in DOC_SUFFIXES or p.name.upper().startswith("README")
        if not is_doc or not is_text(f.get("encoding")):
            continue
        if (f.get("size_bytes") or 0) > MAX_SCAN_BYTES:
            continue
        seen: set[str] = set()
        try:
            for number, raw in enumerate(iter_lines(root / f["path"], f["encoding"]), start=1):
                for name in _ENV_NAME.findall(raw):
                    if name not in seen:
                        seen.add(name)
                        rows.append({"path": f["path"], "line": number, "name": name})
        except OSError:
            continue
    return rows
