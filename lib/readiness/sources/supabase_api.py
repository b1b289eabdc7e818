"""Supabase management API source: deployed functions, secret names, security advisors.

Read-only GETs against ``/v1/projects/{ref}/...`` with a personal access token. What
is deployed can differ from the repository (a function deployed by hand with
``--no-verify-jwt``, a secret never set), so the checks compare the two. Secret
*values* (the API returns a digest) are dropped on arrival: only names are kept.
The security advisors endpoint is marked experimental; a 404 there is a note, not a
failure of the source.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from readiness.config import AuditConfig, Secrets
from readiness.sources._http_common import (
    BoundedSession,
    Deadline,
    Schema,
    failure_kind,
    frame,
    parse_retry_after,
    scrub,
)
from readiness.sources.base import SourceError, SourceResult

MAX_SECONDS = 60.0  # default time budget of the whole pull (three small lists)

SCHEMAS: dict[str, Schema] = {
    "supabase_functions": {
        "slug": "string",
        "name": "string",
        "status": "string",
        "version": "Int64",
        "verify_jwt": "boolean",
        "entrypoint_path": "string",
        "updated_at": "iso",
    },
    "supabase_secrets": {"name": "string"},
    "supabase_advisors": {
        "name": "string",
        "title": "string",
        "level": "string",
        "facing": "string",
        "categories": "string",
        "description": "string",
        "detail": "string",
        "remediation": "string",
        "cache_key": "string",
    },
}


class _NotFound(Exception):
    """A 404 the caller may tolerate (the experimental advisors endpoint)."""


class _Api:
    """One authenticated session: GET with timeout and bounded, backed-off retries."""

    def __init__(
        self,
        base: str,
        token: str,
        timeout_s: float,
        max_retries: int,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.count = 0
        self.deadline = Deadline("supabase_api", max_seconds)
        self.session = BoundedSession(self.deadline, timeout_s)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "readiness-audit (read-only)",
            }
        )

    def get(self, path: str) -> Any:
        attempt = 0
        while True:
            self.deadline.check(path)
            self.count += 1
            try:
                resp = self.session.get(self.base + path, allow_redirects=False)
            except requests.RequestException as exc:
                kind = failure_kind(exc)
                if kind != "other" and attempt < self.max_retries:
                    attempt += 1
                    self.deadline.wait(attempt, None, path)
                    continue
                if kind == "timeout":
                    self.deadline.check(path)  # the budget, not timeout_s, cut it: say so
                raise self._connection_error(kind, path, attempt, exc) from None
            status = resp.status_code
            retry_after = parse_retry_after(resp.headers)
            if (
                status == 429
                and retry_after is not None
                and retry_after > (self.deadline.remaining())
            ):
                raise SourceError(
                    f"supabase_api: rate limited (429) on {path}; Retry-After "
                    f"{retry_after:g}s exceeds the time budget — gave up"
                )
            if (status == 429 or status >= 500) and attempt < self.max_retries:
                attempt += 1
                self.deadline.wait(attempt, retry_after, path)
                continue
            if status == 404:
                raise _NotFound(path)
            if status != 200:
                raise self._status_error(status, path, attempt)
            try:
                return resp.json()
            except ValueError:
                raise SourceError(f"supabase_api: malformed JSON from {path}") from None

    def _connection_error(self, kind: str, path: str, attempt: int, exc: Exception) -> SourceError:
        if kind == "connect":
            return SourceError(f"supabase_api: could not connect to {self.base}")
        if kind == "timeout":
            return SourceError(
                f"supabase_api: timed out after {self.timeout_s}s on {path} after {attempt} retries"
            )
        if kind == "dropped":
            return SourceError(
                f"supabase_api: connection dropped on {path} after {attempt} retries"
            )
        detail = scrub(f"{type(exc).__name__}: {exc}", [self.token])
        return SourceError(f"supabase_api: request to {path} failed: {detail}")

    def _status_error(self, status: int, path: str, attempt: int) -> SourceError:
        if status == 401:
            return SourceError(
                "supabase_api: authentication failed (401) — check the access "
                "token named by supabase_api.token_env"
            )
        if status == 403:
            return SourceError(
                f"supabase_api: forbidden (403) on {path} — the token has no "
                "access to this project (check the project ref)"
            )
        if status == 429:
            return SourceError(
                f"supabase_api: rate limited (429) on {path} after {attempt} retries"
            )
        if 300 <= status < 400:
            return SourceError(
                f"supabase_api: redirected (HTTP {status}) from {path} — check supabase_api.url"
            )
        if status >= 500:
            return SourceError(f"supabase_api: HTTP {status} on {path} after {attempt} retries")
        return SourceError(f"supabase_api: unexpected HTTP {status} from {path}")


def _timestamp(value: Any) -> Any:
    """The API sends epoch milliseconds; older answers ISO strings. Both become ISO."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    return value


def _list(body: Any, path: str, key: str | None = None) -> list[dict[str, Any]]:
    items = body.get(key) if key and isinstance(body, dict) else body
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SourceError(
            f"supabase_api: unexpected response from {path}: expected a list of objects"
        )
    return items


def _function_row(f: dict[str, Any]) -> dict[str, Any]:
    return {
        **f,
        "name": f.get("name") or f.get("slug"),
        "updated_at": _timestamp(f.get("updated_at")),
    }


def _advisor_row(lint: dict[str, Any]) -> dict[str, Any]:
    categories = lint.get("categories")
    if isinstance(categories, list):
        categories = ",".join(str(c) for c in categories)
    return {**lint, "categories": categories}


def collect_supabase_api(
    config: AuditConfig, secrets: Secrets, progress: Callable[[str], None] | None = None
) -> SourceResult:
    """Pull the management API tables (see ``SCHEMAS``); raise SourceError when it cannot."""
    settings = config.sources.supabase_api
    say = progress or (lambda _m: None)
    base = (secrets.get(settings.url_env) if settings.url_env else None) or settings.url
    token = secrets.get(settings.token_env)
    ref = settings.project_ref or secrets.get(settings.project_ref_env)
    if not token:
        raise SourceError(
            "supabase_api: no access token — set the variable named by "
            f"supabase_api.token_env ({settings.token_env})"
        )
    if not ref:
        raise SourceError(
            "supabase_api: no project ref — set supabase_api.project_ref or "
            "supabase_api.project_ref_env"
        )
    budget = settings.max_seconds
    api = _Api(base, token, settings.timeout_s, settings.max_retries, budget)
    project = f"/v1/projects/{quote(ref, safe='')}"
    notes: list[str] = []
    try:
        try:
            functions = _list(api.get(f"{project}/functions"), f"{project}/functions")
            say(f"supabase_api: functions {len(functions)}")
            # only names are kept: the value (a digest) never leaves this function
            secret_rows = [
                {"name": s.get("name")}
                for s in _list(api.get(f"{project}/secrets"), f"{project}/secrets")
            ]
            say(f"supabase_api: secrets {len(secret_rows)}")
        except _NotFound as exc:
            raise SourceError(
                f"supabase_api: not found (404) on {exc} — check the project "
                "ref and supabase_api.url"
            ) from None
        try:
            path = f"{project}/advisors/security"
            advisors = [_advisor_row(a) for a in _list(api.get(path), path, "lints")]
            say(f"supabase_api: security advisors {len(advisors)}")
        except _NotFound:
            advisors = []
            notes.append(
                "security advisors endpoint answered 404 (experimental API): advisors not collected"
            )
        tables = {
            "supabase_functions": frame(
                [_function_row(f) for f in functions], SCHEMAS["supabase_functions"]
            ),
            "supabase_secrets": frame(secret_rows, SCHEMAS["supabase_secrets"]),
            "supabase_advisors": frame(advisors, SCHEMAS["supabase_advisors"]),
        }
    except (AttributeError, TypeError, ValueError) as exc:
        raise SourceError(
            f"supabase_api: unexpected response shape ({type(exc).__name__})"
        ) from None
    finally:
        api.session.close()
    return SourceResult(tables=tables, requests=api.count, notes=notes)
