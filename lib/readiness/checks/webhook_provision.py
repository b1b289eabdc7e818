"""ERR-WEBHOOK-NON2XX, provisioning half (issue 16, broken retries): the webhook calls
provisioning and, when it fails, still answers 2xx, so Stripe never retries the event.

A hand-off whose retry lives elsewhere is accepted: when a scheduled job
(`cron.schedule` in a migration) calls the same provisioning function, an order left
unprovisioned is picked up again, so the webhook may answer 2xx. A queue table or job
runner the webhook writes to is no provisioning call at all and is never judged here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, failed, passed, warned
from readiness.findings import Location, Status

WHY = {
    "fire_and_forget": "the call is not awaited, so its failure is never seen",
    "unchecked": "its answer is never tested (fetch and functions.invoke do not throw on a 500)",
    "log_only": "a failed answer is only logged",
    "ignored": "a failed answer is ignored",
    "return_value": "a failed answer is returned as a plain value",
    "caught": "a catch around it neither rethrows nor answers an error",
}


def _judge(row: pd.Series, handler: pd.DataFrame) -> tuple[str, str] | None:
    """('bad' | 'unsure', why) for one provisioning call; None when its failure reaches a
    non-2xx answer (or the caller of a returned promise decides)."""
    if row.on_error in WHY:
        return "bad", WHY[row.on_error]
    if row.on_error == "respond":
        if pd.isna(row.status):
            return "unsure", "a failure answers a response whose status is unknown"
        return ("bad", f"a failure answers {row.status}") if int(row.status) < 400 else None
    if row.on_error in {"throw", "propagates"} and not handler.empty:
        first = handler.iloc[0]
        rethrows = first.get("catch_rethrows")
        if not bool(first["has_try"]) or (pd.notna(rethrows) and bool(rethrows)):
            return None  # the runtime answers 500
        if pd.isna(first["catch_status"]):
            return "unsure", "a failure is thrown to a catch whose answer is unknown"
        if int(first["catch_status"]) < 400:
            answer = int(first["catch_status"])
            return "bad", f"a failure is thrown to the handler's catch, which answers {answer}"
    return None


def provisioning_results(inp: CheckInput, slug: str) -> Iterator[Result]:
    """One result per webhook that calls provisioning; every swallowing call a location."""
    calls = inp.tables.get("code_provision_errors")
    if calls is None:
        return
    mine = calls[calls["function_slug"] == slug].sort_values(["path", "line"])
    if mine.empty:
        return
    handlers = inp["code_handlers"]
    handler = handlers[handlers["function_slug"] == slug]
    crons = inp.tables.get("code_scheduled_calls")
    crons = crons if crons is not None else pd.DataFrame(columns=["path", "line", "target"])
    res = f"provisioning:{slug}"
    bad, unsure, retried = [], [], []
    for row in mine.itertuples(index=False):
        verdict = _judge(pd.Series(row._asdict()), handler)
        if verdict is None:
            continue
        job = crons[crons["target"] == row.target]
        if not job.empty:
            retried.append((row, code_location(job.iloc[0]["path"], job.iloc[0]["line"])))
            continue
        (bad if verdict[0] == "bad" else unsure).append((row, verdict[1]))
    sites = bad + unsure
    locations = [
        Location(
            f"provision-call:{r.path}:{r.fail_line}",
            f"{r.target} ({r.kind} at line {r.line}): {why}.",
            Status.FAIL if (r, why) in bad else Status.WARN,
            location=code_location(r.path, r.fail_line),
            evidence={"target": r.target, "call_line": int(r.line), "on_error": r.on_error},
        )
        for r, why in sites
    ]
    if sites:
        row, why = sites[0]
        more = f" ({len(sites) - 1} more place(s) alike)" if len(sites) > 1 else ""
        verdict = failed if bad else warned
        yield verdict(
            res,
            f"When provisioning ({row.target}) fails in {slug}, {why}{more}: the webhook "
            "still answers 2xx, so Stripe never retries and the paid order stays without "
            "a server.",
            location=code_location(row.path, row.fail_line),
            locations=locations,
        )
    elif retried:
        row, job = retried[0]
        yield passed(
            res,
            f"{slug} may answer 2xx when {row.target} fails, but a scheduled job ({job}) "
            f"calls {row.target} again.",
            location=code_location(row.path, row.line),
        )
    else:
        yield passed(
            res,
            f"{slug} answers an error status when provisioning fails ({len(mine)} call(s)).",
            location=code_location(mine.iloc[0]["path"], mine.iloc[0]["line"]),
        )
