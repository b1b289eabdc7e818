"""Concurrent, complete paging of long Stripe lists by `created` ranges.

Stripe lists are cursor-paged newest first, so one cursor means one request at a time.
Instead every long list is a set of `created` ranges, and all lists share one pool of
workers (under the client-side rate limit), so one list's tail overlaps another's work.

A range is split only when a worker would otherwise sit idle, because every range ends
in a partly filled page, i.e. costs a request. After a page of range [lo, hi) that ends
at cursor X (X.created = t) and says `has_more`, the rest is [lo, t] after X; split into
k parts by time it becomes

    [c0, c1) ... [c(k-2), c(k-1)) fresh   and   [c(k-1), hi) after X

with lo = c0 < c1 < ... < c(k-1) <= t. Every object still to come is either older than
c(k-1) (exactly one fresh slice) or in [c(k-1), t] after X, so nothing is skipped or
fetched twice at a boundary, whatever the timestamps (many objects may share a second).
A repeated id still stops the pull (a server whose pagination does not advance).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from readiness.sources._http_common import MAX_PAGES, WAIT_SLICE_S
from readiness.sources.base import SourceError, check_cancelled

PAGE_LIMIT = 100
MIN_PAGES_PER_PART = 2  # a split part is expected to hold at least this many pages
Lister = Callable[[str, dict[str, Any]], dict[str, Any]]  # (path, query) -> list object
Row = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Range:
    lo: int  # created >= lo
    hi: int  # created < hi
    after: str | None = None  # starting_after cursor within the range


@dataclass
class ListJob:
    """One long list: its path, filters, the ranges that tile it, and the row builder
    (run in the worker thread, so building rows overlaps other requests' latency)."""

    path: str
    params: dict[str, Any]
    ranges: list[Range]
    row: Row = lambda obj: obj  # noqa: E731
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> row
    pages: int = 0


def estimated_pages_left(r: Range, page: list[dict[str, Any]]) -> float:
    """Pages still to come in `r` after `page`, guessed from how much time the page
    spanned (the objects' density); a page within one second counts as dense."""
    if not page:
        return 0.0
    t = int(page[-1]["created"])
    span = max(1, int(page[0]["created"]) - t)
    return (t - r.lo) * len(page) / span / PAGE_LIMIT


def split_rest(r: Range, page: list[dict[str, Any]], has_more: bool, parts: int) -> list[Range]:
    """The work left after one page of range `r`, as at most `parts` ranges (pure: the
    splitting rule above; parts=1 continues the cursor). Each fresh slice spans at least
    one second, so a range whose rest lies in one second is never split."""
    if not has_more or not page:
        return []
    last = page[-1]
    t = int(last["created"])
    width = t - r.lo + 1  # seconds in [lo, t]
    k = max(1, min(parts, width))
    cuts = [r.lo + (i * width) // k for i in range(k)]
    fresh = [Range(a, b) for a, b in zip(cuts, cuts[1:], strict=False)]
    return [*fresh, Range(cuts[-1], r.hi, str(last["id"]))]


def pull_lists(lister: Lister, jobs: list[ListJob], *, workers: int) -> None:
    """Fill every job's `rows` with every object of its list in its ranges."""
    lock = threading.Lock()
    open_ranges = sum(len(j.ranges) for j in jobs)  # in flight or queued

    def fetch(job: ListJob, r: Range) -> list[Range]:
        nonlocal open_ranges
        query: dict[str, Any] = {
            **job.params,
            "limit": PAGE_LIMIT,
            "created": {"gte": r.lo, "lt": r.hi},
        }
        if r.after:
            query["starting_after"] = r.after
        page = lister(job.path, query)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise SourceError(f"stripe: unexpected response from {job.path}: not a list object")
        data = page["data"]
        built = [(str(item.get("id")), job.row(item)) for item in data]
        more = bool(page.get("has_more"))
        with lock:
            job.pages += 1
            if job.pages > MAX_PAGES:
                raise SourceError(f"stripe: {job.path} has more than {MAX_PAGES} pages — stopped")
            for oid, row in built:
                if oid in job.rows:
                    raise SourceError(
                        f"stripe: pagination of {job.path} does not advance "
                        f"({oid} returned twice) — stopped"
                    )
                job.rows[oid] = row
            idle = workers - open_ranges
            parts = 1
            if idle > 0:
                parts = min(idle + 1, int(estimated_pages_left(r, data) // MIN_PAGES_PER_PART))
            children = split_rest(r, data, more, parts)
            open_ranges += len(children) - 1
        return children

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: dict[Future[list[Range]], ListJob] = {
            pool.submit(fetch, job, r): job for job in jobs for r in job.ranges
        }
        try:
            while pending:
                done, _ = wait(pending, timeout=WAIT_SLICE_S, return_when=FIRST_COMPLETED)
                check_cancelled("stripe")
                for fut in done:
                    job = pending.pop(fut)
                    for child in fut.result():
                        pending[pool.submit(fetch, job, child)] = job
        finally:
            for fut in pending:
                fut.cancel()


def newest_first(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the order a single cursor returns them."""
    return sorted(rows.values(), key=lambda o: (-int(o.get("created") or 0), str(o["id"])))
