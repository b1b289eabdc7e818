"""Area 1 views: plans next to their live Stripe prices, and catalogue coverage."""

from __future__ import annotations

import pandas as pd

from readiness.checks.registry import CheckInput
from readiness.workbook import Audit


def plans_prices(audit: Audit) -> pd.DataFrame:
    """Every sold plan next to what live Stripe says about its price."""
    from readiness.checks.area01_prices import plans_with_prices

    inp = audit.check_input("db_plans", "stripe_prices")
    if "db_plans" not in inp.tables:
        return pd.DataFrame({"note": ["plans were not collected"]})
    if "stripe_prices" not in inp.tables:
        inp = CheckInput({**inp.tables, "stripe_prices": _empty_prices()}, inp.config, inp.now)
    df = plans_with_prices(inp)
    keep = [
        "id",
        "game",
        "ram_gb",
        "term",
        "price_cents",
        "stripe_price_id",
        "price_livemode",
        "price_active",
        "price_product_active",
        "price_unit_amount",
        "price_currency",
        "price_recurring_interval",
    ]
    return df[[c for c in keep if c in df.columns]].reset_index(drop=True)


def _empty_prices() -> pd.DataFrame:
    cols = [
        "id",
        "livemode",
        "active",
        "currency",
        "unit_amount",
        "type",
        "recurring_interval",
        "recurring_interval_count",
        "product_id",
        "product_active",
        "product_name",
    ]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})


def coverage_grid(audit: Audit) -> pd.DataFrame:
    """Expected games × RAM tiers: live / not live / no price / missing."""
    catalog = audit.config.catalog
    pp = plans_prices(audit)
    state: dict[tuple[str, int], str] = {}
    if "price_livemode" in pp:
        for row in pp.itertuples():
            if pd.isna(row.price_livemode):
                label = "❌ no live price"
            elif bool(row.price_livemode) and bool(row.price_active):
                label = "✅ live"
            else:
                label = "❌ not active"
            state[(str(row.game), int(row.ram_gb))] = label
    tiers = sorted({r for g in catalog.games.values() for r in g.ram_gb} | {k[1] for k in state})
    games = list(catalog.games) + sorted({k[0] for k in state} - set(catalog.games))
    grid = pd.DataFrame("", index=games, columns=[f"{t} GB" for t in tiers])
    for game in games:
        expected = catalog.games[game].ram_gb if game in catalog.games else []
        for t in tiers:
            if (game, t) in state:
                grid.loc[game, f"{t} GB"] = state[(game, t)]
            elif t in expected:
                grid.loc[game, f"{t} GB"] = "❌ missing"
    return grid
