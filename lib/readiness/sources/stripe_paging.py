"""Concurrent, complete paging of long Stripe lists by `created` ranges.

Stripe lists are cursor-paged newest first, so one cursor means one request at a time.
Instead a list is split into `created` ranges fetched concurrently (bounded workers,
under the client-side rate limit), adaptively: when a range's page says `has_more`, the
rest of it is split in two —

    [a, b) after cursor X (X.created = t)  →  [a, m) fresh   and   [m, b) after X

with a < m <= t. Every object still to come is either older than m (first half) or in
[m, t] after X (second half), so nothing is skipped or fetched twice at the boundary,
whatever the timestamps (many objects may share a second). A repeated id still stops the
pull (a server whose pagination does not advance).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from readiness.sources._http_common import MAX_PAGES
from readiness.sources.base import SourceError

PAGE_LIMIT = 100
PAGES_AHEAD = 8  # a split leaves about this many pages to the cursor half
Lister = Callable[[dict[str, Any]], dict[str, Any]]  # query -> a list object (JSON)


@dataclass(frozen=True)
class Range:
    lo: int  # created >= lo
    hi: int  # created < hi
    after: str | None = None  # starting_after cursor within the range


def next_ranges(r: Range, page: list[dict[str, Any]], has_more: bool) -> list[Range]:
    """The work left after one page of range `r` (pure: the splitting rule above)."""
    if not has_more or not page:
        return []
    last, first = page[-1], page[0]
    t = int(last["created"])
    # guess where the next PAGES_AHEAD pages end, from how much time this page spanned:
    # the cursor half pages on sequentially, the older half is fetched in parallel
    span = max(1, int(first["created"]) - t)
    m = max(r.lo + 1, t - PAGES_AHEAD * span)
    if r.lo < m <= t:
        return [Range(r.lo, m), Range(m, r.hi, str(last["id"]))]
    return [Range(r.lo, r.hi, str(last["id"]))]


def fan_out(r: Range, page: list[dict[str, Any]], has_more: bool, parts: int) -> list[Range]:
    """After the first page of a bounded window that has more: the rest, [lo, t] after X,
    as `parts` equal slices (the newest one continues after X), so every worker is busy
    from the second request. A window that fits one page costs one request."""
    if not has_more or not page or r.lo <= 0 or parts <= 2:
        return next_ranges(r, page, has_more)
    last = page[-1]
    t = int(last["created"])
    step = (t - r.lo) // (parts - 1)
    if step < 1:
        return next_ranges(r, page, has_more)
    cuts = [r.lo + i * step for i in range(parts - 1)] + [t]
    older = [Range(a, b) for a, b in zip(cuts, cuts[1:], strict=False)]
    return [*older, Range(t, r.hi, str(last["id"]))]


def pull_ranges(
    lister: Lister,
    params: dict[str, Any],
    lo: int,
    hi: int,
    *,
    workers: int,
    label: str,
) -> list[dict[str, Any]]:
    """Every object of a list created in [lo, hi), newest first, fetched concurrently."""
    found: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    pages = 0
    open_ranges = 1  # ranges not finished yet (in flight or queued)

    def fetch(r: Range, parts: int = 2) -> list[Range]:
        nonlocal pages
        query: dict[str, Any] = {
            **params,
            "limit": PAGE_LIMIT,
            "created": {"gte": r.lo, "lt": r.hi},
        }
        if r.after:
            query["starting_after"] = r.after
        page = lister(query)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise SourceError(f"stripe: unexpected response from {label}: not a list object")
        data = page["data"]
        with lock:
            pages += 1
            if pages > MAX_PAGES:
                raise SourceError(f"stripe: {label} has more than {MAX_PAGES} pages — stopped")
            for item in data:
                oid = str(item.get("id"))
                if oid in found:
                    raise SourceError(
                        f"stripe: pagination of {label} does not advance "
                        f"({oid} returned twice) — stopped"
                    )
                found[oid] = item
        nonlocal open_ranges
        more = bool(page.get("has_more"))
        with lock:
            # split only while some worker would otherwise idle: every extra range ends
            # in a partly filled page, i.e. costs a request
            busy = open_ranges >= workers
        if workers <= 1 or busy:  # one cursor, page after page
            children = [Range(r.lo, r.hi, str(data[-1]["id"]))] if more and data else []
        else:
            children = fan_out(r, data, more, parts)
        with lock:
            open_ranges += len(children) - 1
        return children

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: set[Future[list[Range]]] = {pool.submit(fetch, Range(lo, hi), workers)}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    for child in fut.result():
                        pending.add(pool.submit(fetch, child))
        finally:
            for fut in pending:
                fut.cancel()
    return sorted(found.values(), key=lambda o: (-int(o.get("created") or 0), str(o["id"])))
