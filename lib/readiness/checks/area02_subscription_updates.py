"""Area 2 — subscription lifecycle (issue 16): `customer.subscription.updated` fires for
every change of a subscription (past_due, unpaid, paused, a plan change), so a webhook
that marks the order paid or active there without looking at the subscription's status
re-activates servers whose payment is failing."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area01_webhooks import webhook_slugs
from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, failed, passed
from readiness.findings import Location, Severity, Status

EVENT = "customer.subscription.updated"
PAID_LIKE = frozenset({"paid", "active", "provisioned"})


def _handles(inp: CheckInput, slug: str) -> bool:
    events = inp["code_webhook_events"]
    return bool(((events["function_slug"] == slug) & (events["event_type"] == EVENT)).any())


@check(
    id="FLOW-SUBSCRIPTION-UPDATED-STATUS",
    area=2,
    severity=Severity.HIGH,
    title="customer.subscription.updated sets an order paid/active only when the subscription is",
    sources=["codebase"],
    tables=["code_functions", "code_webhook_events", "code_flow_subscription_updates"],
    rationale="Stripe sends customer.subscription.updated when a subscription becomes "
    "past_due, unpaid or paused too; writing 'paid'/'active' on every update keeps (or "
    "puts back) servers of customers who stopped paying.",
    remediation="Derive the order's status from the subscription's: `if (sub.status === "
    "'active' || sub.status === 'trialing')`, a switch on `sub.status`, or "
    "`status: mapStatus(sub.status)`; suspend on past_due/unpaid/canceled.",
)
def subscription_updated_status(inp: CheckInput) -> Iterator[Result]:
    writes = inp["code_flow_subscription_updates"]
    for slug in webhook_slugs(inp):
        res = f"function:{slug}"
        mine = writes[writes["function_slug"] == slug].sort_values(["path", "line"])
        bad = mine[mine["value"].isin(PAID_LIKE) & mine["guard"].isna()]
        if not bad.empty:
            locations = [
                Location(
                    f"status-write:{r.path}:{int(r.line)}",
                    f"sets {r.table} status '{r.value}'"
                    + (f" through {r.helper}()" if pd.notna(r.helper) else "")
                    + f" on {EVENT} whatever the subscription's status.",
                    Status.FAIL,
                    location=code_location(r.path, r.line),
                    evidence={"table": r.table, "value": r.value, "helper": r.helper},
                )
                for r in bad.itertuples(index=False)
            ]
            first = bad.iloc[0]
            more = f" ({len(bad) - 1} more write(s) alike)" if len(bad) > 1 else ""
            yield failed(
                res,
                f"On {EVENT}, {slug} sets {first['table']} to '{first['value']}' without "
                f"testing the subscription's status{more}: a past_due or unpaid "
                "subscription is marked paid again.",
                location=code_location(first["path"], first["line"]),
                locations=locations,
            )
        elif not mine.empty:
            guarded = mine[mine["guard"].notna()]
            mapped = mine[mine["value_kind"] == "mapped"]
            if not guarded.empty:
                row = guarded.iloc[0]
                why = f"its status writes are guarded by `{row['guard']}`"
            elif not mapped.empty:
                row = mapped.iloc[0]
                why = f"it derives the status from the subscription's (`{row['value_expr']}`)"
            else:
                row = mine.iloc[0]
                values = ", ".join(sorted({str(v) for v in mine["value"].dropna()})) or "none"
                why = f"it writes no paid/active status (writes: {values})"
            yield passed(
                res,
                f"On {EVENT}, {why}.",
                location=code_location(row["path"], row["line"]),
            )
        elif _handles(inp, slug):
            yield passed(res, f"{slug} handles {EVENT} without writing an order status.")
        else:
            yield passed(res, f"{slug} does not handle {EVENT}: nothing to judge.")
