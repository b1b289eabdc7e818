"""Area 1 — the Stripe account, its webhook, and the code that talks to Stripe.

Several checks here cross what the code does (static facts from the codebase source)
with what Stripe is configured to do (live facts), which no code review alone can do.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pandas as pd

from readiness.checks.common import code_location, function_path
from readiness.checks.registry import (
    CheckInput,
    DataProblem,
    Result,
    check,
    failed,
    passed,
    records,
    unverified,
    warned,
)
from readiness.findings import Severity

CODE_WEBHOOK_TABLES = ["code_functions", "code_webhook_events"]


def webhook_slugs(inp: CheckInput) -> list[str]:
    """The function(s) that receive Stripe events: from params, else from the code."""
    if inp.config.supabase.webhook_function:
        return [inp.config.supabase.webhook_function]
    funcs = inp.tables.get("code_functions")
    if funcs is None or "is_stripe_webhook" not in funcs:
        raise DataProblem(
            "cannot tell which function is the Stripe webhook: set "
            "supabase.webhook_function in params or audit the codebase"
        )
    slugs = sorted(funcs.loc[funcs["is_stripe_webhook"].fillna(False).astype(bool), "slug"])
    if not slugs:
        raise DataProblem("no edge function in the codebase looks like a Stripe webhook")
    return slugs


def endpoint_targets(url: str, slugs: list[str], project_url: str | None) -> bool:
    """Does a webhook endpoint URL deliver to one of the webhook functions?"""
    parts = urlsplit(url)
    if not any(parts.path.rstrip("/") == f"/functions/v1/{slug}" for slug in slugs):
        return False
    if project_url:
        return parts.scheme == "https" and parts.netloc == urlsplit(project_url).netloc
    return parts.scheme == "https"


def matching_endpoints(inp: CheckInput) -> pd.DataFrame:
    endpoints = inp["stripe_webhook_endpoints"]
    slugs = webhook_slugs(inp)
    project = inp.config.supabase.project_url
    mask = endpoints["url"].map(lambda u: endpoint_targets(str(u), slugs, project))
    live = endpoints["livemode"].fillna(False).astype(bool)
    return endpoints[mask.astype(bool) & live]


@check(
    id="STRIPE-ACCOUNT-LIVE",
    area=1,
    severity=Severity.CRITICAL,
    title="Stripe account can take and pay out live money",
    sources=["stripe"],
    tables=["stripe_account"],
    rationale="Until Stripe enables charges and payouts and the account details are "
    "submitted, live payments fail or the money cannot reach the business.",
    remediation="Finish account activation in the Stripe dashboard (Settings → Account).",
)
def account_live(inp: CheckInput) -> Iterator[Result]:
    acct = inp["stripe_account"].iloc[0]
    flags = ["charges_enabled", "payouts_enabled", "details_submitted"]
    off = [f for f in flags if not bool(acct.get(f)) or pd.isna(acct.get(f))]
    evidence = {f: None if pd.isna(acct.get(f)) else bool(acct.get(f)) for f in flags}
    if off:
        yield failed(
            "stripe:account",
            f"Account {acct['id']} has {', '.join(off)} = false.",
            evidence=evidence,
        )
    else:
        yield passed(
            "stripe:account", f"Account {acct['id']} can charge and pay out.", evidence=evidence
        )


@check(
    id="STRIPE-KEY-LIVE",
    area=1,
    severity=Severity.CRITICAL,
    title="The audit looked at live mode",
    sources=["stripe"],
    tables=["stripe_key"],
    rationale="A test key sees only test objects: nothing it finds proves anything about "
    "the live account.",
    remediation="Run the audit with a live restricted key (rk_live_...) with read access.",
)
def key_live(inp: CheckInput) -> Iterator[Result]:
    mode = inp["stripe_key"].iloc[0]["mode"]
    if mode == "live":
        yield passed("stripe:key", "The audit key is a live-mode key.")
    else:
        yield failed(
            "stripe:key",
            f"The audit key is a {mode}-mode key, so live prices and "
            "the live account were not checked.",
        )


@check(
    id="STRIPE-KEY-RESTRICTED",
    area=1,
    severity=Severity.MEDIUM,
    title="The audit key is a restricted (read-only) key",
    sources=["stripe"],
    tables=["stripe_key"],
    rationale="An audit needs only read access; a full secret key given to a tool can move "
    "money if it leaks.",
    remediation="Create a restricted key with read permissions only and use it for audits.",
)
def key_restricted(inp: CheckInput) -> Iterator[Result]:
    kind = inp["stripe_key"].iloc[0]["kind"]
    if kind == "restricted":
        yield passed("stripe:key", "The audit key is a restricted key.")
    else:
        yield warned("stripe:key", f"The audit key is a full {kind} key, not a restricted one.")


@check(
    id="STRIPE-WEBHOOK-ENDPOINT",
    area=1,
    severity=Severity.CRITICAL,
    title="A live webhook endpoint delivers to the webhook function",
    sources=["stripe"],
    tables=["stripe_webhook_endpoints"],
    optional_tables=["code_functions"],
    rationale="Without an enabled live endpoint pointing at the deployed webhook function, "
    "paid checkouts never create orders.",
    remediation="In the live dashboard add an endpoint https://<ref>.supabase.co/functions/"
    "v1/<webhook> and put its signing secret in STRIPE_WEBHOOK_SECRET.",
)
def webhook_endpoint(inp: CheckInput) -> Iterator[Result]:
    matching = matching_endpoints(inp)
    enabled = matching[matching["status"] == "enabled"]
    all_eps = inp["stripe_webhook_endpoints"]
    evidence = {"endpoints": records(all_eps[["id", "url", "status", "livemode"]])}
    if not enabled.empty:
        for ep in enabled.itertuples():
            yield passed(f"webhook_endpoint:{ep.id}", f"Endpoint {ep.id} delivers to {ep.url}.")
    elif not matching.empty:
        yield failed(
            "stripe:webhook_endpoint",
            "The live endpoint for the webhook function is disabled.",
            evidence=evidence,
        )
    else:
        yield failed(
            "stripe:webhook_endpoint",
            f"None of the {len(all_eps)} live endpoints "
            f"points at the webhook function ({', '.join(webhook_slugs(inp))}).",
            evidence=evidence,
        )


@check(
    id="STRIPE-WEBHOOK-EVENTS",
    area=1,
    severity=Severity.CRITICAL,
    title="The endpoint subscribes to every event the webhook code handles",
    sources=["stripe", "codebase"],
    tables=["stripe_webhook_endpoints", *CODE_WEBHOOK_TABLES],
    rationale="Code that handles an event Stripe never sends is dead: e.g. cancellations "
    "never reach the database and canceled servers keep running.",
    remediation="Add the missing event types to the live endpoint (Developers → Webhooks).",
)
def webhook_events(inp: CheckInput) -> Iterator[Result]:
    slugs = webhook_slugs(inp)
    code = inp["code_webhook_events"]
    code = code[code["function_slug"].isin(slugs)]
    handled = sorted(set(code["event_type"]))
    endpoints = matching_endpoints(inp)
    endpoints = endpoints[endpoints["status"] == "enabled"]
    if endpoints.empty:
        yield unverified(
            "stripe:webhook_endpoint",
            "No enabled live endpoint for the webhook function (see STRIPE-WEBHOOK-ENDPOINT).",
        )
        return
    first_line = code.groupby("event_type")[["path", "line"]].first()
    for ep in endpoints.itertuples():
        subscribed = set(ep.enabled_events)
        missing = [] if "*" in subscribed else [e for e in handled if e not in subscribed]
        res = f"webhook_endpoint:{ep.id}"
        if missing:
            where = first_line.loc[missing[0]]
            yield failed(
                res,
                f"Endpoint {ep.id} does not send {', '.join(missing)}, which the "
                "webhook code handles.",
                location=code_location(where["path"], where["line"]),
                evidence={"handled_in_code": handled, "subscribed": sorted(subscribed)},
            )
        else:
            yield passed(
                res,
                f"Endpoint {ep.id} sends all {len(handled)} handled event types.",
                evidence={"handled_in_code": handled},
            )


@check(
    id="STRIPE-EVENTS-UNDELIVERED",
    area=1,
    severity=Severity.HIGH,
    title="No event waits for webhook delivery",
    sources=["stripe"],
    tables=["stripe_events"],
    rationale="pending_webhooks > 0 long after an event means the webhook keeps failing: "
    "orders or cancellations are not being recorded.",
    remediation="Open the endpoint's delivery log in Stripe, fix the failing function, then "
    "resend the events.",
)
def events_undelivered(inp: CheckInput) -> Iterator[Result]:
    events = inp["stripe_events"]
    minutes = inp.config.thresholds.undelivered_event_minutes
    cutoff = pd.Timestamp(inp.now) - pd.Timedelta(minutes=minutes)
    pending = events[(events["pending_webhooks"].fillna(0) > 0)]
    stuck = pending[pd.to_datetime(pending["created"], utc=True) < cutoff]
    if stuck.empty:
        yield passed(
            "stripe:events:undelivered",
            f"No event has waited more than {minutes} min for delivery "
            f"({len(events)} events checked, {len(pending)} recent pending).",
        )
    else:
        by_type = stuck.groupby("type").size().to_dict()
        yield failed(
            "stripe:events:undelivered",
            f"{len(stuck)} events are still undelivered after {minutes} min: "
            + ", ".join(f"{n}× {t}" for t, n in by_type.items())
            + ".",
            evidence={"events": records(stuck[["id", "type", "created", "pending_webhooks"]])},
        )


def _webhook_rows(inp: CheckInput, table: str) -> pd.DataFrame:
    df = inp[table]
    return df[df["function_slug"].isin(webhook_slugs(inp))]


@check(
    id="STRIPE-WEBHOOK-SIGNATURE",
    area=1,
    severity=Severity.CRITICAL,
    title="The webhook verifies Stripe's signature before acting",
    sources=["codebase"],
    tables=["code_functions", "code_signature_checks"],
    rationale="The webhook runs with verify_jwt off; without a signature check anyone can "
    "post a fake checkout.session.completed and get a free server.",
    remediation="Call stripe.webhooks.constructEventAsync(rawBody, signature, "
    "Deno.env.get('STRIPE_WEBHOOK_SECRET')) first and answer 400 when it throws.",
)
def webhook_signature(inp: CheckInput) -> Iterator[Result]:
    checks = _webhook_rows(inp, "code_signature_checks")
    for slug in webhook_slugs(inp):
        rows = checks[checks["function_slug"] == slug]
        res = f"function:{slug}"
        if rows.empty:
            yield failed(
                res,
                f"{slug} never calls constructEvent(Async): events are not verified.",
                location=code_location(function_path(inp, slug), 1),
            )
            continue
        row = rows.iloc[0]
        loc = code_location(row["path"], row["line"])
        if pd.isna(row["secret_env"]):
            yield failed(
                res,
                f"{slug} verifies with '{row['secret_expr']}', not a secret read "
                "from the environment.",
                location=loc,
            )
        elif not bool(row["before_side_effects"]):
            yield failed(
                res,
                f"{slug} touches the database or network before verifying the signature.",
                location=loc,
            )
        else:
            yield passed(
                res, f"{slug} verifies the signature with {row['secret_env']} first.", location=loc
            )


@check(
    id="STRIPE-WEBHOOK-HANDLES-CHECKOUT",
    area=1,
    severity=Severity.CRITICAL,
    title="The webhook handles checkout.session.completed",
    sources=["codebase"],
    tables=CODE_WEBHOOK_TABLES,
    rationale="checkout.session.completed is the event that turns a payment into an order.",
    remediation="Handle checkout.session.completed: create the order from the session's "
    "metadata and start provisioning.",
)
def webhook_handles_checkout(inp: CheckInput) -> Iterator[Result]:
    rows = _webhook_rows(inp, "code_webhook_events")
    for slug in webhook_slugs(inp):
        hit = rows[
            (rows["function_slug"] == slug) & (rows["event_type"] == "checkout.session.completed")
        ]
        if hit.empty:
            yield failed(
                f"function:{slug}",
                f"{slug} does not handle checkout.session.completed.",
                location=code_location(function_path(inp, slug), 1),
            )
        else:
            yield passed(
                f"function:{slug}",
                f"{slug} handles checkout.session.completed.",
                location=code_location(hit.iloc[0]["path"], hit.iloc[0]["line"]),
            )


@check(
    id="STRIPE-WEBHOOK-FAILED-PAYMENT",
    area=1,
    severity=Severity.MEDIUM,
    title="The webhook handles failed payments and cancellations",
    sources=["codebase"],
    tables=CODE_WEBHOOK_TABLES,
    rationale="Without invoice.payment_failed and customer.subscription.deleted, unpaid or "
    "canceled customers keep their servers.",
    remediation="Handle invoice.payment_failed and customer.subscription.deleted (suspend "
    "or cancel the order).",
)
def webhook_failed_payment(inp: CheckInput) -> Iterator[Result]:
    rows = _webhook_rows(inp, "code_webhook_events")
    wanted = ["invoice.payment_failed", "customer.subscription.deleted"]
    for slug in webhook_slugs(inp):
        handled = set(rows.loc[rows["function_slug"] == slug, "event_type"])
        missing = [e for e in wanted if e not in handled]
        if missing:
            yield warned(
                f"function:{slug}",
                f"{slug} does not handle {', '.join(missing)}.",
                location=code_location(function_path(inp, slug), 1),
            )
        else:
            yield passed(f"function:{slug}", f"{slug} handles failed payments and cancellations.")
