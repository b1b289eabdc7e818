"""Area 1 — the checkout function: where the price comes from, and the metadata contract
between checkout and webhook (static facts from the codebase source)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from readiness.checks.area01_webhooks import webhook_slugs
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    unverified,
    warned,
)
from readiness.findings import Severity

ENTRY_FILE = re.compile(
    r"(^|/)(app|pages|routes?|api|server|functions|src/server)/|(^|/)(route|server|main|index|"
    r"middleware|worker)\.[cm]?[jt]sx?$"
)


def reachable_files(inp: CheckInput) -> Callable[[str], bool]:
    """Is a file run at all: an edge function's own file, a file some other file imports,
    or an entry point by its place (Next.js app/pages routes, server.ts, index.ts)?

    Without the file tables every file counts as reachable."""
    files, imports = inp.tables.get("code_files"), inp.tables.get("code_imports")
    if files is None or imports is None:
        return lambda _path: True
    own = set(files.loc[files["kind"] == "function", "path"].dropna())
    imported = set(imports["resolved_path"].dropna())
    return lambda path: path in own or path in imported or bool(ENTRY_FILE.search(path))


@check(
    id="STRIPE-CHECKOUT-PRICE-SOURCE",
    area=1,
    severity=Severity.CRITICAL,
    title="Checkout takes the price from the database, not the client",
    sources=["codebase"],
    tables=["code_checkout_prices"],
    optional_tables=["code_files", "code_imports"],
    rationale="A price id taken from the request lets a customer buy a 16 GB server at the "
    "1 GB price; a hard-coded one bills every plan the same.",
    remediation="Look the plan up by id in the plans table and pass plan.stripe_price_id "
    "to line_items; ignore any price sent by the client.",
)
def checkout_price_source(inp: CheckInput) -> Iterator[Result]:
    prices = inp["code_checkout_prices"]
    reachable = reachable_files(inp)
    if prices.empty:
        yield unverified(
            "code:checkout",
            "No checkout.sessions.create call with line_items was found in the code.",
        )
        return
    for row in prices.itertuples():
        res, loc = f"function:{row.function_slug}:{row.line}", code_location(row.path, row.line)
        if not reachable(row.path):
            yield passed(
                res,
                f"{row.path} is imported by no entry point: this checkout is never run.",
                location=loc,
            )
        elif row.source == "database":
            yield passed(res, f"Price comes from the database ({row.price_expr}).", location=loc)
        elif row.source == "constant_map":
            yield passed(
                res,
                f"Price is chosen server-side among constants in the code ({row.price_expr}).",
                location=loc,
            )
        elif row.source == "env":
            yield passed(
                res,
                f"Price comes from server-side configuration ({row.price_expr}, an env var).",
                location=loc,
            )
        elif row.source in ("request", "literal"):
            yield failed(
                res,
                f"Price comes from the {row.source} ({row.price_expr}), not from the plans table.",
                location=loc,
            )
        else:
            yield warned(res, f"Could not trace where {row.price_expr} comes from.", location=loc)


# Stripe copies metadata onto the object it was written on (a session's subscription_data /
# payment_intent_data onto the subscription / payment intent): which writes an event sees
EVENT_OBJECTS = [
    ("checkout.session.", {"session"}),
    ("payment_intent.", {"payment_intent_data", "payment_intent"}),
    ("charge.", {"payment_intent_data", "payment_intent"}),
    ("invoice.", {"subscription_data", "subscription", "invoice"}),
    ("customer.subscription.", {"subscription_data", "subscription"}),
    ("setup_intent.", {"setup_intent"}),
]
OBJECT_HINTS = [
    ("session", {"session"}),
    ("subscription", {"subscription_data", "subscription"}),
    ("invoice", {"invoice", "subscription_data", "subscription"}),
    ("intent", {"payment_intent_data", "payment_intent", "setup_intent"}),
]


def _readable_from(row: dict) -> set[str] | None:
    """Containers whose metadata a read can see (None: any), from the events it runs under
    and the object it reads (`subscription.metadata` retrieved inside an invoice event)."""
    events = row.get("event_types")
    events = events if isinstance(events, str) else ""
    found: set[str] = set()
    for event in filter(None, events.split(",")):
        matched = [objs for prefix, objs in EVENT_OBJECTS if event.startswith(prefix)]
        if not matched:
            return None  # an event we do not map: any write may reach it
        found |= matched[0]
    if not found:
        return None
    owner = row.get("object_expr")
    owner = owner.lower().replace("_", "") if isinstance(owner, str) else ""
    for hint, objs in OBJECT_HINTS:
        if hint in owner:
            found |= objs
    return found


def _can_reach(row: dict, containers: set[str]) -> bool:
    readable = _readable_from(row)
    return bool(containers) and (readable is None or bool(readable & containers))


def _under(row: dict) -> str:
    events = row.get("event_types")
    return f" on {events}" if isinstance(events, str) and events else ""


@check(
    id="STRIPE-CHECKOUT-METADATA",
    area=1,
    severity=Severity.HIGH,
    title="Checkout writes every metadata key the webhook reads",
    sources=["codebase"],
    tables=["code_functions", "code_metadata_writes", "code_metadata_reads"],
    optional_tables=["code_checkout_sessions"],
    rationale="A key the webhook reads but checkout never writes arrives empty: the order is "
    "created without it (or the insert fails and the customer paid for nothing).",
    remediation="Write the key in the Checkout Session's metadata (and subscription_data."
    "metadata) in create-checkout-session.",
)
def checkout_metadata(inp: CheckInput) -> Iterator[Result]:
    """Fails a key no checkout writes where the webhook can see it; not verified only when
    some write cannot be followed (a helper, an unknown spread) or no checkout is found."""
    writes = inp["code_metadata_writes"]
    reads = inp["code_metadata_reads"]
    reads = reads[reads["function_slug"].isin(webhook_slugs(inp))]
    sessions = inp.tables.get("code_checkout_sessions")
    checkouts = set(sessions["path"].dropna()) if sessions is not None else set()
    if writes.empty and not checkouts:
        yield unverified(
            "code:checkout", "No Checkout Session metadata is written anywhere in the code."
        )
        return
    dynamic = writes[writes["key"].isin(["*spread*", "*dynamic*"])]
    for key, group in reads.groupby("key", sort=True):
        group = group.sort_values(["path", "line"])
        containers = set(writes.loc[writes["key"] == key, "container"].dropna())
        unmet = group[[not _can_reach(r, containers) for r in group.to_dict("records")]]
        first = (unmet if not unmet.empty else group).iloc[0]
        loc = code_location(first["path"], first["line"])
        opaque = dynamic[[_can_reach(first, {c}) for c in dynamic["container"]]]
        if unmet.empty:
            yield passed(
                f"metadata:{key}",
                f"metadata.{key} is written by checkout and read by the webhook.",
                location=loc,
            )
        elif not opaque.empty:
            # metadata built by a helper or from a spread may hold any key: cannot tell
            where = opaque.sort_values(["path", "line"]).iloc[0]
            yield unverified(
                f"metadata:{key}",
                f"metadata.{key} is read by the webhook{_under(first)}; checkout builds "
                f"metadata it cannot follow ({where['path']}:{where['line']}), so it may "
                "be written.",
                location=loc,
            )
        else:
            writers = ", ".join(sorted(set(writes["path"]) | checkouts))
            why = (
                f"it is written only on the {', '.join(sorted(containers))} object"
                if containers
                else f"checkout ({writers}) never writes it"
            )
            yield failed(
                f"metadata:{key}",
                f"The webhook reads metadata.{key}{_under(first)} but {why}.",
                location=loc,
                evidence={"written": sorted(set(writes["key"]))},
            )
    if reads.empty:
        yield passed("metadata", "The webhook reads no metadata keys.")
