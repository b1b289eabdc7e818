"""Matches that have a secret's shape but, read in their line, hold none.

detect-secrets' patterns look at the value; these look at where it stands, for the
three shapes that misfire on real checkouts: URL credentials of a local or documentation
host (`postgres://postgres:postgres@localhost:54322`, the Supabase CLI's well-known
local database), a PEM header with no key after it (`.replace('-----BEGIN PRIVATE
KEY-----', '')` around a key read from the environment), and a Telegram-token shape that
is the tail of a longer token (an ad-campaign id inside a scraped URL). Whatever the
shape, a key whose body is one character repeated (`sk_test_xxxx…`) is a placeholder.
"""

from __future__ import annotations

import re

# loopback and RFC 2606/6761 names: credentials for them reach no deployed system
LOCAL_HOST = re.compile(
    r"^(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[?::1\]?|host\.docker\.internal|"
    r"(?:[\w-]+\.)*(?:localhost|example|test|invalid|local)|"
    r"(?:[\w-]+\.)*example\.(?:com|org|net))$",
    re.IGNORECASE,
)
# a PEM header that closes its string literal at once: `'-----BEGIN PRIVATE KEY-----'`
# (a header on a line of its own, or followed by \n escapes and base64, may hold a key)
PEM_HEADER_ALONE = re.compile(r"-{5}\s*['\"`]")
TOKEN_CHAR = re.compile(r"[A-Za-z0-9_-]")


def _url_host(value: str, text: str) -> str | None:
    m = re.search(r"://[^\s:/@'\"]*:" + re.escape(value) + r"@([^\s/:?#'\"]+)", text)
    return m.group(1) if m else None


def _filler(value: str) -> bool:
    """`sk_test_xxxxxxxx…`, `whsec_0000…`: the key's body is one character repeated."""
    body = max(re.split(r"[^A-Za-z0-9]+", value), key=len)
    return len(body) >= 8 and len(set(body.lower())) == 1


def no_secret_here(kind: str, value: str, text: str) -> str | None:
    """Why the match holds no secret in this line, or None when it may."""
    if _filler(value):
        return "a placeholder: the key's body is one character repeated"
    if kind == "Basic Auth Credentials":
        host = _url_host(value, text)
        if host is not None and LOCAL_HOST.match(host):
            return f"credentials of a local or documentation host ({host})"
    elif kind == "Private Key":
        at = text.find(value)
        if at >= 0 and PEM_HEADER_ALONE.match(text, at + len(value)):
            return "a PEM header in a string literal with no key after it"
    elif kind == "Telegram Bot Token":
        at = text.find(value)
        before = text[at - 1] if at > 0 else ""
        if before and TOKEN_CHAR.match(before) and not text[:at].endswith("bot"):
            return "the tail of a longer token, not a bot token"
    return None
