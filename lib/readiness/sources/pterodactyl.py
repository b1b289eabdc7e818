"""Pterodactyl source: read-only pulls from the panel's Application API.

Fetches locations, nodes (with allocated resources), allocations, eggs with their
variables, servers and users into typed tables; it never judges them. Only GETs are
sent. Pagination is followed by page number against the configured base URL — the
panel's ``links.next`` is trusted only as a "there is more" signal, because it is
built from the panel's APP_URL, which may name another host, and following it would
send the key there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from readiness.sources._http_common import (
    MAX_PAGES,
    Deadline,
    RateLimiter,
    Sessions,
    failure_kind,
    frame,
    gather,
    parse_retry_after,
    scrub,
)
from readiness.sources.base import SourceError, SourceResult
from readiness.sources.panel_tables import SCHEMAS

__all__ = ["SCHEMAS", "collect_pterodactyl"]

API = "/api/application"


Attrs = dict[str, Any]


def _bad(path: str, what: str) -> SourceError:
    return SourceError(f"pterodactyl: unexpected response from {path}: {what}")


class _Panel:
    """One authenticated session: GET with timeout, bounded retries and paged lists."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float,
        max_retries: int,
        per_page: int,
        deadline: Deadline,
        workers: int = 4,
    ) -> None:
        self.deadline = deadline
        self.limiter = RateLimiter(None)  # no pacing; shares a 429's Retry-After
        self.base = base_url.rstrip("/")
        self.key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.per_page = per_page
        self.count = 0
        self.throttled = 0
        self.workers = workers
        self._lock = threading.Lock()
        # one bounded session per thread (pages are fetched concurrently)
        self.sessions = Sessions(
            deadline,
            timeout_s,
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "readiness-audit (read-only)",
            },
        )

    def close(self) -> None:
        self.sessions.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` and return its JSON object; raise SourceError naming the fault."""
        attempt = 0
        while True:
            self.deadline.check(path)
            self.limiter.acquire(self.deadline, path)
            with self._lock:
                self.count += 1
            try:
                resp = self.sessions.get().get(
                    self.base + path, params=params, allow_redirects=False
                )
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
            if (status == 429 or status >= 500) and attempt < self.max_retries:
                attempt += 1
                retry_after = parse_retry_after(resp.headers)
                if status == 429:
                    self.limiter.hold(retry_after)
                    with self._lock:
                        self.throttled += 1
                self.deadline.wait(attempt, retry_after, path)
                continue
            if status != 200:
                raise self._status_error(status, path, attempt)
            try:
                body = resp.json()
            except ValueError:
                raise SourceError(f"pterodactyl: malformed JSON from {path}") from None
            if not isinstance(body, dict):
                raise _bad(path, f"expected a JSON object, got {type(body).__name__}")
            return body

    def _connection_error(self, kind: str, path: str, attempt: int, exc: Exception) -> SourceError:
        if kind == "connect":
            return SourceError(f"pterodactyl: could not connect to {self.base}")
        if kind == "timeout":
            return SourceError(
                f"pterodactyl: timed out after {self.timeout_s}s on {path} after {attempt} retries"
            )
        if kind == "dropped":
            return SourceError(f"pterodactyl: connection dropped on {path} after {attempt} retries")
        detail = scrub(f"{type(exc).__name__}: {exc}", [self.key])
        return SourceError(f"pterodactyl: request to {path} failed: {detail}")

    def _status_error(self, status: int, path: str, attempt: int) -> SourceError:
        if status in (401, 403):
            return SourceError(
                f"pterodactyl: authentication failed ({status}) — check the "
                "application key named by pterodactyl.api_key_env"
            )
        if status == 404:
            return SourceError(f"pterodactyl: not found (404) on {path} — check pterodactyl.url")
        if status == 429:
            return SourceError(f"pterodactyl: rate limited (429) on {path} after {attempt} retries")
        if 300 <= status < 400:
            return SourceError(
                f"pterodactyl: redirected (HTTP {status}) from {path} — check "
                "pterodactyl.url (scheme/host)"
            )
        if status >= 500:
            return SourceError(f"pterodactyl: HTTP {status} on {path} after {attempt} retries")
        return SourceError(f"pterodactyl: unexpected HTTP {status} from {path}")

    def paged(self, path: str, params: dict[str, Any] | None = None) -> list[Attrs]:
        """All items of a Laravel-paginated list. Page 1 tells how many pages there are;
        the rest are fetched concurrently. Guards: pages that do not advance, repeated
        ids, empty pages that claim more, and a page cap."""

        def fetch(page: int) -> tuple[list[Any], dict[str, Any]]:
            body = self.get(path, {**(params or {}), "page": page, "per_page": self.per_page})
            data, pagination = _envelope(body, path)
            more = _has_next(pagination, page, path)
            if more and not data:
                raise SourceError(
                    f"pterodactyl: pagination of {path} claims more pages but "
                    f"page {page} is empty — stopped"
                )
            return data, pagination

        data, pagination = fetch(1)
        pages = [data]
        total = pagination.get("total_pages")
        if _has_next(pagination, 1, path):
            if not isinstance(total, int) or total < 2:
                total = None
            elif total > MAX_PAGES:
                raise SourceError(f"pterodactyl: {path} has more than {MAX_PAGES} pages — stopped")
            if total is not None and self.workers > 1:
                with ThreadPoolExecutor(max_workers=self.workers) as pool:
                    done = gather(pool, fetch, range(2, total + 1), "pterodactyl")
                    pages += [d for d, _ in done]
            else:  # no page count given: follow one page at a time
                page = 1
                while True:
                    page += 1
                    if page > MAX_PAGES:
                        raise SourceError(
                            f"pterodactyl: {path} has more than {MAX_PAGES} pages — stopped"
                        )
                    data, pagination = fetch(page)
                    pages.append(data)
                    if not _has_next(pagination, page, path):
                        break
        out: list[Attrs] = []
        seen: set[Any] = set()
        for data in pages:
            for item in data:
                attrs = _attributes(item, path)
                if attrs.get("id") in seen:
                    raise SourceError(
                        f"pterodactyl: pagination of {path} does not advance "
                        f"(id {attrs.get('id')} returned twice) — stopped"
                    )
                seen.add(attrs.get("id"))
                out.append(attrs)
        return out


def _envelope(body: dict[str, Any], path: str) -> tuple[list[Any], dict[str, Any]]:
    if body.get("object") != "list" or not isinstance(body.get("data"), list):
        raise _bad(path, "not a list envelope (object/data missing)")
    pagination = (body.get("meta") or {}).get("pagination")
    if not isinstance(pagination, dict):
        raise _bad(path, "meta.pagination missing")
    return body["data"], pagination


def _attributes(item: Any, path: str) -> Attrs:
    if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
        raise _bad(path, "list item without attributes")
    return item["attributes"]


def _has_next(pagination: dict[str, Any], page: int, path: str) -> bool:
    """Whether another page exists; a next link that does not move forward is a loop."""
    current = pagination.get("current_page")
    if current is not None and current != page:
        raise SourceError(
            f"pterodactyl: pagination of {path} does not advance (asked page "
            f"{page}, got {current}) — stopped"
        )
    links = pagination.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    total_pages = pagination.get("total_pages")
    if nxt:
        target = parse_qs(urlsplit(str(nxt)).query).get("page", [None])[0]
        if target is not None and target.isdigit() and int(target) <= page:
            raise SourceError(
                f"pterodactyl: pagination of {path} does not advance (next link "
                f"points at page {target} from page {page}) — stopped"
            )
        return True
    return isinstance(total_pages, int) and page < total_pages


def _node_row(n: Attrs) -> dict[str, Any]:
    used = n.get("allocated_resources") or {}
    return {**n, "allocated_memory": used.get("memory"), "allocated_disk": used.get("disk")}


def _egg_rows(nest_id: Any, egg: Attrs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    images = egg.get("docker_images")
    image_list = list(images.values()) if isinstance(images, dict) else list(images or [])
    row = {**egg, "nest_id": nest_id, "docker_images": [str(i) for i in image_list]}
    rel = ((egg.get("relationships") or {}).get("variables") or {}).get("data") or []
    variables = []
    for item in rel:
        v = (item.get("attributes") or {}) if isinstance(item, dict) else {}
        rules = v.get("rules") or ""
        variables.append(
            {
                **v,
                "egg_id": egg.get("id"),
                "rules": rules,
                "required": "required" in str(rules).split("|"),
            }
        )
    return row, variables


def _server_row(s: Attrs) -> dict[str, Any]:
    limits = s.get("limits") or {}
    container = s.get("container") or {}
    return {
        **s,
        **{k: limits.get(k) for k in ("memory", "disk", "cpu", "swap")},
        "user_id": s.get("user"),
        "node_id": s.get("node"),
        "allocation_id": s.get("allocation"),
        "nest_id": s.get("nest"),
        "egg_id": s.get("egg"),
        "image": container.get("image"),
        "environment": json.dumps(container.get("environment") or {}, sort_keys=True, default=str),
    }


def collect_pterodactyl(
    base_url: str,
    api_key: str,
    *,
    timeout_s: float = 20.0,
    max_retries: int = 3,
    per_page: int = 100,
    progress: Callable[[str], None] | None = None,
    max_seconds: float = 600.0,
    concurrency: int = 4,
) -> SourceResult:
    """Pull the panel tables (see ``SCHEMAS``); raise SourceError when the panel cannot."""
    if not base_url:
        raise SourceError(
            "pterodactyl: no panel URL given — set pterodactyl.url or pterodactyl.url_env"
        )
    if not api_key:
        raise SourceError(
            "pterodactyl: no application key given — set the variable named "
            "by pterodactyl.api_key_env"
        )
    panel = _Panel(
        base_url,
        api_key,
        timeout_s,
        max_retries,
        per_page,
        Deadline("pterodactyl", max_seconds),
        concurrency,
    )

    def step(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if progress:
            progress(f"pterodactyl: {table.removeprefix('panel_')} {len(rows)}")
        return rows

    rows: dict[str, list[dict[str, Any]]] = {}
    try:
        rows["panel_locations"] = step("panel_locations", panel.paged(f"{API}/locations"))
        # allocations come with their nodes: one request per 100 nodes, not one per node
        nodes = panel.paged(f"{API}/nodes", {"include": "allocations"})
        rows["panel_nodes"] = step("panel_nodes", [_node_row(n) for n in nodes])
        rows["panel_allocations"] = step(
            "panel_allocations",
            [
                {**_attributes(a, f"{API}/nodes"), "node_id": n.get("id")}
                for n in nodes
                for a in ((n.get("relationships") or {}).get("allocations") or {}).get("data") or []
            ],
        )
        eggs, variables = [], []
        for nest in panel.paged(f"{API}/nests"):
            for egg in panel.paged(f"{API}/nests/{nest.get('id')}/eggs", {"include": "variables"}):
                row, egg_vars = _egg_rows(nest.get("id"), egg)
                eggs.append(row)
                variables.extend(egg_vars)
        rows["panel_eggs"] = step("panel_eggs", eggs)
        rows["panel_egg_variables"] = step("panel_egg_variables", variables)
        rows["panel_servers"] = step(
            "panel_servers", [_server_row(s) for s in panel.paged(f"{API}/servers")]
        )
        rows["panel_users"] = step("panel_users", panel.paged(f"{API}/users"))
        tables = {name: frame(rows[name], schema) for name, schema in SCHEMAS.items()}
    except (AttributeError, TypeError, ValueError) as exc:  # odd shapes inside items
        raise SourceError(
            f"pterodactyl: unexpected response shape ({type(exc).__name__}) — "
            "items do not look like panel 1.x objects"
        ) from None
    finally:
        panel.close()
    return SourceResult(tables=tables, requests=panel.count, throttled=panel.throttled, notes=[])
