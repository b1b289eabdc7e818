"""Area 2 — subscription lifecycle (issue 16): when a subscription ends (deleted, or
updated to canceled/unpaid, or its invoice fails) the game server must stop. A webhook
that only marks the order cancelled, with nothing anywhere that suspends cancelled
orders on the panel, leaves the server running for free.

Facts: `code_flow_subscription_ends` and `code_panel_suspends`
(static/rules/subscription_end.py), `code_function_calls` (a call to a function that
suspends, or a pg_cron job that runs one) and `code_query_filters` (a suspender that
reads the status the webhook writes).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area01_webhooks import webhook_slugs
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location, function_path
from readiness.checks.registry import CheckInput, Result, check, failed, passed, warned
from readiness.findings import Severity

END_EVENTS = ("customer.subscription.deleted", "customer.subscription.updated")
PAYMENT_FAILED = "invoice.payment_failed"
STOPS = ("suspend", "delete")


def _suspenders(inp: CheckInput) -> pd.DataFrame:
    rows = inp["code_panel_suspends"]
    return rows[rows["kind"].isin(STOPS)]


def _reaches(inp: CheckInput, targets: set[str], depth: int = 3) -> set[str]:
    """The slugs `targets` call, transitively (a webhook -> lifecycle -> panel-suspend)."""
    calls = inp["code_function_calls"]
    seen = set(targets)
    frontier = set(targets)
    for _ in range(depth):
        nxt = set(calls[calls["caller"].isin(frontier)]["target"].dropna()) - seen
        seen |= nxt
        frontier = nxt
    return seen


def _linked(inp: CheckInput, slugs: set[str], values: set[str]) -> tuple[str, str] | None:
    """(slug, why) of a suspending function that a cron runs or that reads orders by a
    status the webhook writes; None when no suspender is tied to the ended orders."""
    calls = inp["code_function_calls"]
    scheduled = set(calls[calls["scheduled"].fillna(False).astype(bool)]["target"].dropna())
    filters = inp["code_query_filters"]
    for slug in sorted(slugs):
        if slug in scheduled:
            return slug, "a scheduled job (pg_cron) runs it"
        mine = filters[(filters["function_slug"] == slug) & (filters["column"] == "status")]
        read = {v.strip("'\" ") for f in mine["value"].dropna() for v in str(f).split(",")}
        hit = sorted(read & values)
        if hit:
            return slug, f"it reads orders in '{hit[0]}'"
    return None


def _branch(inp: CheckInput, slug: str, event: str) -> pd.Series | None:
    events = inp["code_webhook_events"]
    rows = events[(events["function_slug"] == slug) & (events["event_type"] == event)]
    return None if rows.empty else rows.sort_values("line").iloc[0]


@check(
    id="FLOW-SUBSCRIPTION-END-SUSPEND",
    area=2,
    severity=Severity.CRITICAL,
    title="A cancelled or unpaid subscription suspends its server",
    sources=["codebase"],
    tables=[
        "code_functions",
        "code_webhook_events",
        "code_flow_subscription_ends",
        "code_panel_suspends",
        "code_function_calls",
        "code_query_filters",
    ],
    rationale="When Stripe ends a subscription the order must stop its server; marking "
    "the row 'canceled' changes nothing on the panel, so the customer keeps a server "
    "nobody pays for.",
    remediation="On customer.subscription.deleted (and updated to canceled/unpaid) call "
    "the panel's POST /api/application/servers/{id}/suspend (or delete the server), or "
    "run a scheduled job that suspends every order the webhook marks cancelled.",
)
def subscription_end_suspend(inp: CheckInput) -> Iterator[Result]:
    ends = inp["code_flow_subscription_ends"]
    stops = _suspenders(inp)
    for slug in webhook_slugs(inp):
        yield _judge(inp, slug, ends[ends["function_slug"] == slug].sort_values("line"), stops)


def _judge(inp: CheckInput, slug: str, mine: pd.DataFrame, stops: pd.DataFrame) -> Result:
    res = f"function:{slug}"
    direct = mine[mine["action"] == "suspend"]
    if not direct.empty:
        row = direct.iloc[0]
        how = f" through {row['helper']}()" if pd.notna(row["helper"]) else ""
        return passed(
            res,
            f"On {row['event']}, {slug} {row['value']}s the panel server{how}.",
            location=code_location(row["path"], row["line"]),
        )
    called = mine[mine["action"] == "call"]
    reached = _reaches(inp, set(called["value"].dropna()))
    by_call = stops[stops["function_slug"].isin(reached)]
    if not by_call.empty:
        row = called.iloc[0]
        return passed(
            res,
            f"On {row['event']}, {slug} calls {row['value']}, which reaches a panel "
            f"{by_call.iloc[0]['kind']} ({by_call.iloc[0]['function_slug']}).",
            location=code_location(row["path"], row["line"]),
        )
    writes = mine[mine["action"] == "write"]
    if writes.empty:
        return _unhandled(inp, slug, mine)
    values = {str(v) for v in writes["value"].dropna()}
    linked = _linked(inp, set(stops["function_slug"].dropna()), values)
    write = writes.iloc[0]
    shown = ", ".join(f"'{v}'" for v in sorted(values)) or "a status"
    if linked is not None:
        return passed(
            res,
            f"On {write['event']}, {slug} marks {write['table']} {shown}; {linked[0]} "
            f"suspends servers ({linked[1]}).",
            location=code_location(write["path"], write["line"]),
        )
    if not stops.empty:
        other = stops.iloc[0]
        return warned(
            res,
            f"On {write['event']}, {slug} marks {write['table']} {shown} without suspending "
            f"the server; {other['function_slug']} suspends servers, but nothing shows it "
            "runs for the orders the webhook ended (no schedule, no read of that status).",
            location=code_location(write["path"], write["line"]),
        )
    branch = _branch(inp, slug, str(write["event"]))
    how = f" through {write['helper']}()" if pd.notna(write["helper"]) else ""
    steps = [
        Step(
            f"{slug} handles {write['event']}",
            code_location(branch["path"], branch["line"]) if branch is not None else None,
            res,
        ),
        Step(
            f"it only sets {write['table']}.status to {shown}{how}; no function, job or "
            "trigger ever suspends or deletes the panel server",
            code_location(write["path"], write["line"]),
            f"status-write:{write['path']}:{int(write['line'])}",
        ),
    ]
    reason = (
        f"When a subscription ends ({write['event']}), {slug} marks the order {shown} but "
        "nothing ever suspends the server on the panel: it keeps running for free."
    )
    if branch is None:
        return failed(res, reason, location=steps[1].location)
    return attack_path(res, reason, steps, evidence={"values": sorted(values)})


def _unhandled(inp: CheckInput, slug: str, mine: pd.DataFrame) -> Result:
    """No end action: the events are not handled at all, or handled with nothing done."""
    res = f"function:{slug}"
    events = inp["code_webhook_events"]
    handled = events[
        (events["function_slug"] == slug)
        & events["event_type"].isin(["customer.subscription.deleted", PAYMENT_FAILED])
    ].sort_values("line")
    if handled.empty:
        return failed(
            res,
            f"{slug} handles neither customer.subscription.deleted nor "
            f"{PAYMENT_FAILED}: a cancelled or unpaid subscription never stops its server.",
            location=code_location(function_path(inp, slug), 1),
            cause=("STRIPE-WEBHOOK-FAILED-PAYMENT", res),
        )
    row = handled.iloc[0]
    return failed(
        res,
        f"{slug} handles {row['event_type']} but neither suspends the server nor marks the "
        "order: the server keeps running after the subscription ends.",
        location=code_location(row["path"], row["line"]),
    )
