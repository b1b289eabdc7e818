"""Area 1 — Stripe pricing: every plan the platform sells, joined with the live price.

Stripe is the proof: a price is live only if the live-mode API returns it with
`livemode` and `active`. The id-prefix rule from the original audit is only a heuristic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    records,
    require_columns,
    warned,
)
from readiness.findings import Severity

PLAN_COLUMNS = ["id", "stripe_price_id"]
STRIPE_PRICE_ID = re.compile(r"^price_[A-Za-z0-9]{14,}$")
PLACEHOLDER_WORDS = (
    "placeholder",
    "example",
    "todo",
    "dummy",
    "xxxx",
    "monthly",
    "yearly",
    "weekly",
    "annual",
    "quarterly",
    "replace",
    "changeme",
    "test",
)


def sold_plans(plans: pd.DataFrame) -> pd.DataFrame:
    """Active game plans: what a customer can buy (the seed's `item_type = 'game'`)."""
    require_columns(plans, "db_plans", PLAN_COLUMNS)
    mask = pd.Series(True, index=plans.index)
    if "item_type" in plans.columns:
        mask &= plans["item_type"].fillna("game") == "game"
    if "active" in plans.columns:
        mask &= plans["active"].fillna(False).astype(bool)
    return plans[mask].sort_values("id")


def placeholder_reason(price_id: object, words: set[str]) -> str | None:
    """Why an id cannot be a real Stripe price id, or None when it is shaped like one."""
    if price_id is None or pd.isna(price_id) or not str(price_id).strip():
        return "has no stripe_price_id"
    pid = str(price_id)
    if not pid.startswith("price_"):
        return f"'{pid}' does not start with price_"
    if "_" in pid[len("price_") :]:
        return f"'{pid}' is built from words (real Stripe ids have no further underscores)"
    lowered = pid.lower()
    for word in sorted(words | set(PLACEHOLDER_WORDS), key=len, reverse=True):
        if len(word) >= 4 and word in lowered:
            return f"'{pid}' contains the word '{word}'"
    if re.search(r"\d+gb", lowered):
        return f"'{pid}' names a RAM size"
    if not STRIPE_PRICE_ID.match(pid):
        return f"'{pid}' is too short or has characters Stripe ids never contain"
    return None


def shared_price_ids(inp: CheckInput) -> set[str]:
    """Price ids more than one sold plan uses (STRIPE-PRICE-SHARED's problems)."""
    ids = sold_plans(inp["db_plans"])["stripe_price_id"].dropna().astype(str)
    return set(ids[ids.duplicated(keep=False)])


def plans_with_prices(inp: CheckInput) -> pd.DataFrame:
    """Sold plans left-joined with the live prices (one row per plan)."""
    plans = sold_plans(inp["db_plans"])
    prices = inp["stripe_prices"].add_prefix("price_")
    return plans.merge(prices, how="left", left_on="stripe_price_id", right_on="price_id")


@check(
    id="STRIPE-PRICE-PLACEHOLDER",
    area=1,
    severity=Severity.CRITICAL,
    title="No placeholder price ids",
    sources=["database"],
    tables=["db_plans"],
    rationale="A placeholder id such as price_terraria_1gb_monthly makes checkout fail "
    "for that plan: the customer cannot pay.",
    remediation="Create the price in the live Stripe dashboard and store its id "
    "(price_...) in plans.stripe_price_id via a migration.",
)
def price_placeholder(inp: CheckInput) -> Iterator[Result]:
    plans = sold_plans(inp["db_plans"])
    words = {str(g).lower() for g in plans.get("game", pd.Series(dtype=str)).dropna()}
    for plan in plans.itertuples():
        why = placeholder_reason(plan.stripe_price_id, words)
        if why:
            # the migrations left it there: that problem is where it gets fixed
            yield failed(
                f"plan:{plan.id}",
                f"Plan {plan.id} {why}.",
                cause=("STRIPE-SEED-PLACEHOLDER", f"price:{plan.stripe_price_id}"),
            )
        else:
            yield passed(f"plan:{plan.id}", f"Plan {plan.id} has a Stripe-shaped price id.")


@check(
    id="STRIPE-PRICE-PREFIX",
    area=1,
    severity=Severity.LOW,
    title="Price ids follow the expected prefix (heuristic)",
    sources=["database"],
    tables=["db_plans"],
    rationale="The original audit expected live ids to start with given prefixes. Ids are "
    "opaque, so this is a hint for a human look, never proof of liveness.",
    remediation="Confirm in Stripe that the price is the intended live price; update the "
    "prefix list in the expected catalogue if your account uses another prefix.",
)
def price_prefix(inp: CheckInput) -> Iterator[Result]:
    prefixes = inp.config.catalog.price_id_prefixes if inp.config.catalog else []
    plans = sold_plans(inp["db_plans"])
    if not prefixes:
        yield informed("catalog:price_id_prefixes", "No price id prefixes are configured.")
        return
    for plan in plans.itertuples():
        pid = plan.stripe_price_id
        if pd.isna(pid) or placeholder_reason(pid, set()):
            continue
        if any(str(pid).startswith(p) for p in prefixes):
            yield passed(f"plan:{plan.id}", f"{pid} starts with an expected prefix.")
        else:
            yield warned(
                f"plan:{plan.id}",
                f"{pid} does not start with {' or '.join(prefixes)} (heuristic only; "
                "see STRIPE-PRICE-LIVE for what Stripe says).",
            )


@check(
    id="STRIPE-PRICE-LIVE",
    area=1,
    severity=Severity.CRITICAL,
    title="Every plan's price exists in live mode",
    sources=["database", "stripe"],
    tables=["db_plans", "stripe_prices"],
    optional_tables=["stripe_test_prices"],
    rationale="Only a price returned by the live-mode API can be charged in production; "
    "a test-mode price makes live checkout fail with 'No such price'.",
    remediation="Create the price in live mode (or copy it from test mode) and update "
    "plans.stripe_price_id.",
)
def price_live(inp: CheckInput) -> Iterator[Result]:
    joined = plans_with_prices(inp)
    test = inp.tables.get("stripe_test_prices")
    test_ids = set(test["id"]) if test is not None else set()
    shared = shared_price_ids(inp)
    for row in joined.itertuples():
        res, pid = f"plan:{row.id}", row.stripe_price_id
        if pd.isna(row.price_id):
            why = "test mode only" if pid in test_ids else "not in live Stripe"
            where = (
                "exists only in Stripe test mode"
                if pid in test_ids
                else "was not found in the live Stripe account"
            )
            placeholder = not pd.isna(pid) and placeholder_reason(pid, set()) is not None
            yield failed(
                res,
                f"Price {pid} of plan {row.id} {where}.",
                evidence={"price_id": None if pd.isna(pid) else pid, "why": why},
                # plans on one missing price: one price to create
                problem=f"price:{pid}" if str(pid) in shared else None,
                # a placeholder id is never in Stripe: STRIPE-PRICE-PLACEHOLDER's problem
                cause=("STRIPE-PRICE-PLACEHOLDER", res) if placeholder else None,
            )
        elif not bool(row.price_livemode):
            yield failed(
                res,
                f"Price {pid} of plan {row.id} is not a live-mode price.",
                evidence={"price_id": pid, "why": "not live mode"},
            )
        else:
            yield passed(res, f"Price {pid} of plan {row.id} is live.")


@check(
    id="STRIPE-PRICE-ACTIVE",
    area=1,
    severity=Severity.CRITICAL,
    title="Every plan's live price is active",
    sources=["database", "stripe"],
    tables=["db_plans", "stripe_prices"],
    rationale="An archived price cannot be used in a new Checkout Session.",
    remediation="Reactivate the price in Stripe or point the plan at the active price.",
)
def price_active(inp: CheckInput) -> Iterator[Result]:
    shared = shared_price_ids(inp)
    for row in plans_with_prices(inp).dropna(subset=["price_id"]).itertuples():
        res = f"plan:{row.id}"
        if bool(row.price_active):
            yield passed(res, f"Price {row.price_id} is active.")
        else:
            # plans on one archived price: one price to reactivate (or replace)
            yield failed(
                res,
                f"Price {row.price_id} of plan {row.id} is archived (active=false).",
                problem=f"price:{row.price_id}" if row.price_id in shared else None,
            )


@check(
    id="STRIPE-PRODUCT-ACTIVE",
    area=1,
    severity=Severity.HIGH,
    title="Every plan's product is active",
    sources=["database", "stripe"],
    tables=["db_plans", "stripe_prices"],
    rationale="A price whose product is archived cannot be sold.",
    remediation="Reactivate the product in Stripe, or move the price to an active product.",
)
def product_active(inp: CheckInput) -> Iterator[Result]:
    """One problem per product: archiving a product stops every plan sold under it, and
    reactivating it is one fix."""
    for row in plans_with_prices(inp).dropna(subset=["price_id"]).itertuples():
        res, product = f"plan:{row.id}", f"product:{row.price_product_id}"
        if pd.isna(row.price_product_active):
            yield warned(
                res,
                f"Product {row.price_product_id} of {row.price_id} was not returned.",
                problem=product,
            )
        elif bool(row.price_product_active):
            yield passed(res, f"Product {row.price_product_id} is active.")
        else:
            yield failed(
                res,
                f"Product {row.price_product_id} ({row.price_product_name}) of plan "
                f"{row.id} is archived.",
                problem=product,
            )


def term_mismatches(row: pd.Series, inp: CheckInput) -> list[tuple[str, str]]:
    """What differs between the plan (and the catalogue) and its live Stripe price, as
    (kind, description); kind is type, term, currency or amount (the counts in the price
    confirmation sentence group by it)."""
    catalog = inp.config.catalog
    problems: list[tuple[str, str]] = []
    term = str(row.get("term", "monthly") if not pd.isna(row.get("term")) else "monthly")
    spec = catalog.terms.get(term) if catalog else None
    if row["price_type"] != "recurring":
        problems.append(("type", f"price type is {row['price_type']}, expected recurring"))
    elif spec is None:
        problems.append(("term", f"plan term '{term}' is not in the catalogue's terms"))
    elif (row["price_recurring_interval"], int(row["price_recurring_interval_count"] or 1)) != (
        spec.interval,
        spec.interval_count,
    ):
        problems.append(
            (
                "term",
                f"bills every {row['price_recurring_interval_count']} "
                f"{row['price_recurring_interval']}, plan term '{term}' expects "
                f"{spec.interval_count} {spec.interval}",
            )
        )
    currency = str(row["price_currency"]).lower()
    if (
        "currency" in row
        and not pd.isna(row["currency"])
        and currency != str(row["currency"]).lower()
    ):
        problems.append(("currency", f"currency {currency} but plan says {row['currency']}"))
    elif catalog and currency != catalog.currency.lower():
        problems.append(("currency", f"currency {currency}, catalogue expects {catalog.currency}"))
    amount = row["price_unit_amount"]
    if "price_cents" in row and not pd.isna(row["price_cents"]) and amount != row["price_cents"]:
        problems.append(
            ("amount", f"charges {amount} cents but plans.price_cents is {row['price_cents']}")
        )
    if catalog and not pd.isna(row.get("game")) and row["game"] in catalog.games:
        expected = catalog.games[row["game"]].amount_cents.get(int(row["ram_gb"]))
        if expected is not None and amount != expected:
            problems.append(("amount", f"charges {amount} cents, catalogue expects {expected}"))
    return problems


@check(
    id="STRIPE-PRICE-TERMS",
    area=1,
    severity=Severity.HIGH,
    title="Price interval, currency and amount match the plan",
    sources=["database", "stripe"],
    tables=["db_plans", "stripe_prices"],
    rationale="A monthly plan billed yearly, or an amount that differs from the one shown "
    "on the site, charges customers something they did not agree to.",
    remediation="Create a price with the plan's interval, currency and amount and point the "
    "plan at it (Stripe prices are immutable).",
)
def price_terms(inp: CheckInput) -> Iterator[Result]:
    shared = shared_price_ids(inp)
    for _, row in plans_with_prices(inp).dropna(subset=["price_id"]).iterrows():
        res = f"plan:{row['id']}"
        problems = term_mismatches(row, inp)
        if problems:
            pid = row["price_id"]
            kinds = list(dict.fromkeys(kind for kind, _ in problems))
            yield failed(
                res,
                f"Price {pid} of plan {row['id']}: "
                + "; ".join(text for _, text in problems)
                + ".",
                evidence={"mismatches": kinds},
                # one price cannot match two plans' amounts: STRIPE-PRICE-SHARED's problem
                cause=("STRIPE-PRICE-SHARED", f"price:{pid}") if pid in shared else None,
            )
        else:
            yield passed(res, f"Price {row['price_id']} matches the plan's term and amount.")


@check(
    id="STRIPE-PRICE-SHARED",
    area=1,
    severity=Severity.HIGH,
    title="No Stripe price is shared by two plans",
    sources=["database"],
    tables=["db_plans"],
    rationale="Two plans on one price means one of them charges the other's amount and the "
    "webhook cannot tell from the price which plan was bought.",
    remediation="Give every plan its own price.",
)
def price_shared(inp: CheckInput) -> Iterator[Result]:
    plans = sold_plans(inp["db_plans"]).dropna(subset=["stripe_price_id"])
    groups = plans.groupby("stripe_price_id")["id"].apply(sorted)
    shared = groups[groups.map(len) > 1]
    for price_id, plan_ids in shared.items():
        yield failed(
            f"price:{price_id}",
            f"Price {price_id} is used by {len(plan_ids)} plans: {', '.join(plan_ids)}.",
            evidence={"plans": plan_ids},
        )
    if shared.empty:
        yield passed("plans", f"All {len(plans)} plans have their own price.")


__all__ = ["plans_with_prices", "records", "sold_plans"]
