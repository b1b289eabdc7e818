"""Area 2 — the purchase flow as the code writes it: the webhook records the order and
starts provisioning on a paid checkout, and provisioning never leaves an order in an
in-progress status (static facts from the codebase source)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area01_webhooks import webhook_slugs
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    records,
    unverified,
    warned,
)
from readiness.findings import Severity

PAID_EVENT = "checkout.session.completed"


def provisioning_slugs(inp: CheckInput) -> set[str]:
    """Functions that build servers: they move orders to 'provisioning' (or 'installing')."""
    writes = inp["code_flow_status_writes"]
    claims = writes[writes["value"].isin(["provisioning", "installing"])]
    return {str(s) for s in claims["function_slug"].dropna()}


def _actions(inp: CheckInput, slug: str, action: str) -> pd.DataFrame:
    df = inp["code_flow_webhook_actions"]
    return df[(df["function_slug"] == slug) & (df["action"] == action)]


@check(
    id="FLOW-WEBHOOK-ORDER",
    area=2,
    severity=Severity.CRITICAL,
    title="The webhook records the order on checkout.session.completed",
    sources=["codebase"],
    tables=["code_functions", "code_flow_webhook_actions"],
    rationale="The paid checkout is the only moment the platform learns about a purchase; "
    "if the webhook does not insert the order then, nothing is ever delivered.",
    remediation="On checkout.session.completed insert (or upsert by subscription) the order "
    "from the session's metadata before answering 2xx.",
)
def webhook_order(inp: CheckInput) -> Iterator[Result]:
    for slug in webhook_slugs(inp):
        inserts = pd.concat(
            [_actions(inp, slug, "order_insert"), _actions(inp, slug, "order_record")]
        ).sort_values("line", kind="stable")
        on_paid = inserts[inserts["event_type"] == PAID_EVENT]
        res = f"function:{slug}"
        if not on_paid.empty:
            row = on_paid.iloc[0]
            verb = "inserts into" if row["action"] == "order_insert" else "records the payment in"
            yield passed(
                res,
                f"{slug} {verb} {row['target']} on {PAID_EVENT}.",
                location=code_location(row["path"], row["line"]),
            )
        elif not inserts.empty:
            row = inserts.iloc[0]
            yield warned(
                res,
                f"{slug} writes to {row['target']}, but not visibly under {PAID_EVENT}.",
                location=code_location(row["path"], row["line"]),
                evidence={"inserts": records(inserts)},
            )
        else:
            yield failed(
                res,
                f"{slug} never records an order (no insert, paid-status update or rpc on an "
                "orders, bookings or purchases table).",
            )


@check(
    id="FLOW-WEBHOOK-PROVISION",
    area=2,
    severity=Severity.CRITICAL,
    title="The webhook triggers provisioning for a paid checkout",
    sources=["codebase"],
    tables=["code_functions", "code_flow_webhook_actions", "code_flow_status_writes"],
    rationale="Without a trigger from the webhook, paid orders wait in 'paid' until someone "
    "starts provisioning by hand.",
    remediation="After recording the order, call the provisioning function (fetch "
    "/functions/v1/<slug> or supabase.functions.invoke) for it.",
)
def webhook_provision(inp: CheckInput) -> Iterator[Result]:
    targets = provisioning_slugs(inp)
    for slug in webhook_slugs(inp):
        triggers = _actions(inp, slug, "provision_trigger")
        # only calls of a function that provisions count: an email or sync function
        # the webhook calls is not provisioning (with none in the code, nothing counts)
        triggers = triggers[triggers["target"].isin(targets)]
        on_paid = triggers[triggers["event_type"] == PAID_EVENT]
        res = f"function:{slug}"
        if not on_paid.empty:
            row = on_paid.iloc[0]
            yield passed(
                res,
                f"{slug} calls {row['target']} on {PAID_EVENT}.",
                location=code_location(row["path"], row["line"]),
            )
        elif not triggers.empty:
            row = triggers.iloc[0]
            yield failed(
                res,
                f"{slug} can call {row['target']} (line {row['line']}) but not on "
                f"{PAID_EVENT}: the code that calls it is never reached from that "
                "event.",
                location=code_location(row["path"], row["line"]),
            )
        else:
            wanted = ", ".join(sorted(targets)) or "a provisioning function"
            yield failed(res, f"{slug} never calls {wanted}: paid orders are not provisioned.")


@check(
    id="FLOW-PROVISION-FINAL-STATUS",
    area=2,
    severity=Severity.HIGH,
    title="Provisioning ends every path with 'provisioned' or 'error'",
    sources=["codebase"],
    tables=["code_flow_status_exits", "code_flow_status_writes"],
    rationale="A return or throw after the order was moved to 'provisioning' that does not "
    "set a final status leaves the order stuck for ever, and nothing retries it.",
    remediation="Mark the order 'error' (with the reason) before every early return, and in "
    "a catch/finally around everything after the claim.",
)
def provision_final_status(inp: CheckInput) -> Iterator[Result]:
    exits = inp["code_flow_status_exits"]
    slugs = sorted(provisioning_slugs(inp) | {str(s) for s in exits["function_slug"].dropna()})
    if not slugs:
        yield unverified(
            "code:provisioning", "No function moves an order to 'provisioning' or 'installing'."
        )
        return
    for slug in slugs:
        mine = exits[exits["function_slug"] == slug].sort_values("line")
        res = f"function:{slug}"
        if mine.empty:
            yield warned(
                res,
                f"{slug} moves orders to an in-progress status outside a request "
                "handler the audit can follow.",
            )
            continue
        bad = mine[~mine["final_status_set"].fillna(False).astype(bool)]
        if bad.empty:
            yield passed(
                res,
                f"All {len(mine)} exits of {slug} after the claim (line "
                f"{int(mine['claim_line'].iloc[0])}) set a final status.",
                location=code_location(mine["path"].iloc[0], mine["claim_line"].iloc[0]),
            )
            continue
        lines = ", ".join(
            f"{int(r.line)} ({'uncaught errors' if r.kind == 'uncaught' else r.kind})"
            for r in bad.itertuples()
        )
        first = bad.iloc[0]
        yield failed(
            res,
            f"{slug} can leave an order in its in-progress status: no final status "
            f"on the path to line(s) {lines}.",
            location=code_location(first["path"], first["line"]),
            evidence={"exits": records(bad[["line", "kind", "how"]])},
        )
