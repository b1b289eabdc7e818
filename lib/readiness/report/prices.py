"""The seed's deliverable 7 — "are all Stripe prices live and correct?" — in counts.

Pure over findings: the price checks judge one sold plan per finding (`plan:<id>`), so
the plans sold, the plans whose live price is correct and every way the others are not
can be counted from them, without reading the snapshot again (the same numbers as
`views.area01.plans_prices`, which shows the rows). Each plan that lacks a correct
price is counted once, under its first problem in `PLAN_PROBLEMS` order, so the counts
add up to the plans sold. A waived problem is still counted: a waiver accepts a risk, it
does not make a price correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from readiness.findings import Finding, Location, Status, as_found, locations_as_found

PLACEHOLDER = "STRIPE-PRICE-PLACEHOLDER"
LIVE = "STRIPE-PRICE-LIVE"
ACTIVE = "STRIPE-PRICE-ACTIVE"
PRODUCT = "STRIPE-PRODUCT-ACTIVE"
TERMS = "STRIPE-PRICE-TERMS"
SHARED = "STRIPE-PRICE-SHARED"
COUNT = "STRIPE-PLAN-COUNT"
COVERAGE = "STRIPE-CATALOG-COVERAGE"
SEED = "STRIPE-SEED-PLACEHOLDER"
DRIFT = "DB-PLAN-PRICES-MIGRATIONS"
# the checks that judge each sold plan's price, and the category a failure puts it in
PLAN_PROBLEMS = [
    (PLACEHOLDER, "placeholder"),
    (LIVE, "not live"),
    (ACTIVE, "archived"),
    (PRODUCT, "archived"),
    (TERMS, "mismatched"),
]
STRIPE_CHECKS = (LIVE, ACTIVE, PRODUCT, TERMS)
PROBLEMS = (Status.FAIL, Status.WARN)
SHOWN = 5


def _unread(findings: list[Finding], ids: tuple[str, ...]) -> str | None:
    """Why the checks could not judge (not verified, or no result at all), else None."""
    for check_id in ids:
        fs = [f for f in findings if f.check_id == check_id]
        if not fs:
            return f"{check_id} did not run"
        nv = [f for f in fs if f.status == Status.NOT_VERIFIED]
        if nv:
            return nv[0].reason.rstrip(".")
    return None


def _plan(resource: str) -> str:
    return resource.removeprefix("plan:")


@dataclass
class PriceCounts:
    """What the price checks found, counted per sold plan."""

    claimed: int | None = None  # the expected catalogue's claimed_plan_count
    sold: int | None = None  # None: the plans could not be read
    plans_unread: str | None = None
    stripe_unread: str | None = None  # why liveness could not be judged
    correct: int | None = None  # plans with an active live price of the right terms
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # category -> plan -> detail
    shared: list[list[str]] = field(default_factory=list)  # plans that share one price
    not_sold: list[str] = field(default_factory=list)  # expected plans without a row
    seed_placeholders: int | None = None  # None: the migrations could not be read
    seed_tables: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # live id differs from the migrations'

    @property
    def placeholders(self) -> int:
        return len(self.problems.get("placeholder", {}))

    @property
    def answer(self) -> bool | None:
        """Yes, no, or cannot say (None): a placeholder is never live, so it answers
        "no" even when Stripe could not be read."""
        if self.placeholders or self.seed_placeholders:
            return False
        if self.plans_unread or self.stripe_unread or not self.sold:
            return None
        return not (any(self.problems.values()) or self.shared)


def price_counts(findings: list[Finding], claimed: int | None = None) -> PriceCounts:
    """Count what the price checks found; `claimed` is the catalogue's claimed count."""
    out = PriceCounts(claimed=claimed)
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    out.plans_unread = _unread(findings, (PLACEHOLDER,))
    count = [f for f in by_check.get(COUNT, []) if "actual" in f.evidence]
    if count and not count[0].evidence["actual"]:
        out.plans_unread = None  # no plan sold: the placeholder check had nothing to say
    sold: set[str] = set()
    for f in by_check.get(PLACEHOLDER, []):
        sold |= {_plan(loc.resource) for loc in f.locations if loc.resource.startswith("plan:")}
    if count:
        out.sold = int(count[0].evidence["actual"])
    elif not out.plans_unread:
        out.sold = len(sold)
    out.stripe_unread = _unread(findings, STRIPE_CHECKS)
    bad: dict[str, tuple[str, str]] = {}  # plan -> (category, detail)
    for check_id, category in PLAN_PROBLEMS:
        for f in by_check.get(check_id, []):
            for loc, status in locations_as_found(f):
                plan = _plan(loc.resource)
                if status in PROBLEMS and loc.resource.startswith("plan:") and plan not in bad:
                    bad[plan] = (category, _detail(check_id, f, loc, status))
    for plan, (category, detail) in sorted(bad.items()):
        out.problems.setdefault(category, {})[plan] = detail
    if not out.stripe_unread and out.sold is not None:
        live = {
            _plan(loc.resource)
            for f in by_check.get(LIVE, [])
            for loc, status in locations_as_found(f)
            if status == Status.PASS
        }
        out.correct = len(live - set(bad))
    for f in by_check.get(SHARED, []):
        if as_found(f.status, f.waiver) in PROBLEMS:
            out.shared.append([str(p) for p in f.evidence.get("plans", [])])
    for f in by_check.get(COVERAGE, []):
        for loc, status in locations_as_found(f):
            if status == Status.FAIL and loc.resource.startswith("catalog:"):
                out.not_sold.append(loc.resource.removeprefix("catalog:"))
    for f in by_check.get(DRIFT, []):
        for loc, status in locations_as_found(f):
            if status in PROBLEMS and loc.resource.startswith("plan:"):
                out.drift.append(_plan(loc.resource))
    seed = by_check.get(SEED, [])
    if seed and not any(f.status == Status.NOT_VERIFIED for f in seed):
        flagged = [f for f in seed if as_found(f.status, f.waiver) in PROBLEMS]
        out.seed_placeholders = sum(len(f.evidence.get("placeholders") or [{}]) for f in flagged)
        out.seed_tables = [f.resource.removeprefix("seed:") for f in flagged]
    return out


def _detail(check_id: str, f: Finding, loc: Location, status: Status) -> str:
    evidence = loc.evidence or f.evidence
    if check_id == LIVE:
        return str(evidence.get("why") or "not live")
    if check_id == ACTIVE:
        return "price"
    if check_id == PRODUCT:
        return "product" if status == Status.FAIL else "product not returned"
    if check_id == TERMS:
        return ", ".join(evidence.get("mismatches") or ["terms"])
    return ""


def _names(items: list[str], sep: str = ", ") -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return sep.join(items[:SHOWN]) + more


def _listed(plans: dict[str, str]) -> str:
    return _names([f"{p}: {d}" if d else p for p, d in plans.items()], sep="; ")


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _placeholder_clause(c: PriceCounts) -> str:
    """Placeholders in the live rows and in what the migrations leave, in one clause."""
    live = c.problems.get("placeholder", {})
    unread = "the migrations could not be read"
    seed = (
        f"{c.seed_placeholders} in the migrations ({_names(c.seed_tables)})"
        if c.seed_placeholders
        else ""
    )
    if live:
        head = f"{_n(len(live), 'placeholder')} in the live data ({_names(list(live))})"
        if c.seed_placeholders is None:
            return f"{head}; {unread}"
        return f"{head} and {seed}" if seed else f"{head}, none in the migrations"
    if c.plans_unread:
        if c.seed_placeholders is None:
            return unread
        if not c.seed_placeholders:
            return "no placeholder in the migrations"
        return f"{_n(c.seed_placeholders, 'placeholder')} in the migrations" + (
            f" ({_names(c.seed_tables)})" if c.seed_tables else ""
        )
    if c.seed_placeholders is None:
        return f"no placeholder in the live data; {unread}"
    if seed:
        return f"no placeholder in the live data but {seed}"
    return "no placeholder in the live data or the migrations"


def summary(c: PriceCounts) -> str:
    """The counts as one clause list (no yes/no), e.g. "of 37 plans sold, 33 have a
    correct live price; 1 placeholder in the live data and 1 in the migrations; …"."""
    parts: list[str] = []
    if c.plans_unread:
        parts.append(f"the plans could not be read ({c.plans_unread})")
    else:
        claimed = []
        if c.claimed is not None and c.claimed != c.sold:
            claimed.append(f"{c.claimed} claimed")
        if c.not_sold:
            claimed.append(f"not sold: {_names(c.not_sold)}")
        note = f" ({'; '.join(claimed)})" if claimed else ""
        head = f"of {_n(c.sold or 0, 'plan')} sold{note}"
        if not c.sold:
            parts.append(f"no game plan is sold{note}")
        elif c.stripe_unread:
            parts.append(
                f"{head}, whether their prices are live cannot be checked ({c.stripe_unread})"
            )
        elif c.correct == c.sold:
            parts.append(
                f"{head}, all have a correct live price (active, live mode, "
                "matching amount and term)"
            )
        else:
            parts.append(
                f"{head}, {c.correct} {'has' if c.correct == 1 else 'have'} a correct live price"
            )
    parts.append(_placeholder_clause(c))
    for category in ("not live", "archived", "mismatched"):
        plans = c.problems.get(category, {})
        if plans:
            parts.append(f"{len(plans)} {category} ({_listed(plans)})")
    for plans in c.shared:
        parts.append(f"1 price shared by {len(plans)} plans ({_names(plans)})")
    if c.drift:
        parts.append(
            f"{_n(len(c.drift), 'live price id')} "
            f"{'differs' if len(c.drift) == 1 else 'differ'} from the migrations' "
            f"({_names(c.drift)})"
        )
    return "; ".join(parts)


def confirmation(c: PriceCounts) -> tuple[bool | None, str]:
    """Yes / No / Cannot confirm, and the counts in one sentence."""
    head = {True: "Yes", False: "No", None: "Cannot confirm"}[c.answer]
    return c.answer, f"{head}: {summary(c)}."
