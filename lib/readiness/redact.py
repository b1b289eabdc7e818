"""Secrets never leave: what is sensitive in a run's settings, and scrubbing it from text.

Besides the credential variables, the configured endpoints can carry credentials of
their own: `http://admin:PASSWORD@panel`, `?token=…` in an API base, a DSN's password or
`password=` option. Library messages (requests, psycopg2) repeat those URLs, so every
reason, note and progress line goes through `scrub`, and the publish-time scan looks for
`sensitive_values` in the outputs.

Length rules: a known value shorter than `SCRUB_MIN` (4) characters is not replaced in
text (it would mangle every message and protects nothing); the publish scan ignores
values shorter than `SCAN_MIN` (8) (a short password would match ordinary evidence and
block every publish) but scans for `user:password` and its base64 (a Basic auth
header), and the generic URL rules below remove a short password from messages anyway.
A user name alone (`postgresql://auditor@host`) is not treated as a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus, urlsplit

from readiness.config import AuditConfig, Secrets, secret_env_names

MASK = "***"
SCRUB_MIN = 4
SCAN_MIN = 8

# a query parameter or DSN option whose value is a credential (matched in its name)
_SENSITIVE_NAME = re.compile(
    r"token|key|secret|pass|pwd|sig|auth|credential|session|jwt", re.IGNORECASE
)
# scheme://user:password@ — the password runs to the last '@' before the host
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@'\"<>]*):(?P<pw>[^\s/?#'\"<>]*)@"
)
# ?name=value / &name=value / ;name=value anywhere (also in "with url: /api?token=…")
_QUERY = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z0-9_.\-\[\]]+)=)(?P<value>[^&;#\s'\"<>]*)")
# libpq keyword/value options: password=… sslpassword='…'
_KEYWORD = re.compile(
    r"(?P<head>\b(?:ssl)?(?:password|passwd|pwd)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;'\"]+)",
    re.IGNORECASE,
)


def url_secrets(url: str | None) -> list[str]:
    """The sensitive parts of one URL or DSN: the userinfo password (as written and
    decoded), `user:password`, values of sensitive query parameters and password options."""
    if not url:
        return []
    found: list[str] = []
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:
        netloc = ""
    userinfo, at, _ = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, password = userinfo.partition(":")
        found += [password, unquote(password), userinfo, f"{unquote(user)}:{unquote(password)}"]
    for m in _QUERY.finditer(url):
        if _SENSITIVE_NAME.search(m["name"]):
            found += [m["value"], unquote_plus(m["value"])]
    for m in _KEYWORD.finditer(url):
        value = m["value"]
        found += [value, value[1:-1] if value[:1] in "'\"" else value]
    return [v for v in found if v]


def endpoint_urls(config: AuditConfig, secrets: Secrets) -> list[str]:
    """Every configured URL that may carry credentials, from params or the environment."""
    s = config.sources
    candidates = [
        s.pterodactyl.url,
        secrets.get(s.pterodactyl.url_env),
        s.stripe.api_base,
        secrets.get(s.stripe.api_base_env),
        s.supabase_api.url,
        secrets.get(s.supabase_api.url_env),
        config.supabase.project_url,
        secrets.get(s.database.dsn_env),
    ]
    return [u for u in candidates if u]


def sensitive_values(config: AuditConfig, secrets: Secrets | None = None) -> list[str]:
    """Known secret values plus the credentials inside the configured endpoints, longest
    first (so `user:password` is replaced before `password`)."""
    secrets = secrets or config.secrets()
    values = secrets.values(secret_env_names(config))
    for url in endpoint_urls(config, secrets):
        values += url_secrets(url)
    return sorted(set(values), key=lambda v: (-len(v), v))


def _query_value(m: re.Match[str]) -> str:
    return m["head"] + MASK if _SENSITIVE_NAME.search(m["name"]) and m["value"] else m[0]


def scrub(text: str, needles: Iterable[str | None] = ()) -> str:
    """`text` without credentials: any URL password and sensitive query value or password
    option (generic, so also short or unknown ones), then every known value in `needles`."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _QUERY.sub(_query_value, text)
    text = _KEYWORD.sub(lambda m: m["head"] + MASK, text)
    for needle in sorted({n for n in needles if n and len(n) >= SCRUB_MIN}, key=len, reverse=True):
        text = text.replace(needle, MASK)
    return text
