"""Which parts the audited platform has, so checks that presuppose one can say so.

A check about Pterodactyl eggs, node capacity or server provisioning means nothing on a
shop or a booking site: there it is `not_applicable`, not a failure and not a pass, and
it is left out of the score. A part is *present* when the auditor's params declare it
(the panel source is enabled, the webhook function is named) or the code or schema show
it; it is *absent* only when the code was read and shows none of it. When the code was
not collected nothing is concluded, so a check never becomes not applicable on data
that is not there (fail closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from readiness.static.rules.platform import PANEL_PACKAGE

if TYPE_CHECKING:
    from readiness.config import AuditConfig
    from readiness.snapshot import Snapshot

PANEL_SCHEMA_NAME = re.compile(r"ptero|pterodactyl|pelican|egg_id|panel_server", re.IGNORECASE)

# What each part is, in the words of the not_applicable reason.
PARTS = {
    "panel": "a Pterodactyl panel (game servers provisioned through its API)",
    "provisioning": "server provisioning (a panel, or a function moving orders to "
    "'provisioning'/'installing')",
    "stripe_webhook": "a Stripe webhook",
    "edge_functions": "Supabase Edge Functions (supabase/functions/<name>/)",
    "subscriptions": "Stripe subscriptions (subscription-mode checkouts or "
    "customer.subscription.* events)",
}


# The checks each part is presupposed by: one table, so "what does a shop skip" reads at
# a glance. Ids ending in "*" are prefixes.
PRESUPPOSES: dict[str, tuple[str, ...]] = {
    # game hosting: the panel, its eggs and nodes, provisioning and the game x RAM catalogue
    "PANEL-*": ("panel",),
    "FLOW-SERVER-*": ("panel",),
    "FLOW-WEBHOOK-PROVISION": ("provisioning",),
    "FLOW-PROVISION-FINAL-STATUS": ("provisioning",),
    "ERR-PROVISION-ERROR-STATUS": ("provisioning",),
    "DB-NODES-REGIONS": ("panel",),
    "STRIPE-CATALOG-COVERAGE": ("panel",),
    "STRIPE-PLAN-COUNT": ("panel",),
    "FE-SIGNUP-NONBLOCKING": ("panel",),  # sign-up must not wait on panel account creation
    # about how a webhook does its job (a missing webhook is STRIPE-WEBHOOK-HANDLES-CHECKOUT's)
    "STRIPE-WEBHOOK-SIGNATURE": ("stripe_webhook",),
    "STRIPE-WEBHOOK-FAILED-PAYMENT": ("stripe_webhook",),
    "STRIPE-CHECKOUT-METADATA": ("stripe_webhook",),
    "ERR-WEBHOOK-NON2XX": ("stripe_webhook",),
    "FLOW-SUBSCRIPTION-UPDATED-STATUS": ("stripe_webhook",),
    "FLOW-SUBSCRIPTION-END-SUSPEND": ("stripe_webhook", "subscriptions", "panel"),
    # rules that read edge functions only (a Next.js API route is not one)
    "AUTH-NOJWT-SERVICE-ROLE": ("edge_functions",),
    "AUTH-INTERNAL-CALL-EXACT": ("edge_functions",),
    "AUTH-PRIVILEGED-CALLER": ("edge_functions",),
    "AUTH-OWNERSHIP": ("edge_functions",),
    "AUTH-BODY-IDENTITY": ("edge_functions",),
    "CONFIG-CORS-PRIVILEGED": ("edge_functions",),
}


def presupposed_by(check_id: str) -> tuple[str, ...]:
    for pattern, parts in PRESUPPOSES.items():
        if check_id == pattern or (pattern.endswith("*") and check_id.startswith(pattern[:-1])):
            return parts
    return ()


@dataclass
class Part:
    name: str
    known: bool  # False: the code was not read, so presence cannot be denied
    present: bool
    evidence: list[str] = field(default_factory=list)

    @property
    def absent(self) -> bool:
        return self.known and not self.present

    def describe(self) -> str:
        if self.present:
            return f"{PARTS[self.name]}: present ({'; '.join(self.evidence[:3])})"
        if not self.known:
            return f"{PARTS[self.name]}: unknown (the codebase was not read)"
        return f"{PARTS[self.name]}: none found ({'; '.join(self.evidence)})"


def _rows(snapshot: Snapshot, table: str) -> pd.DataFrame:
    df = snapshot.table(table)
    return df if df is not None else pd.DataFrame()


def _where(df: pd.DataFrame, mask: pd.Series, what: str) -> list[str]:
    hits = df[mask]
    if hits.empty:
        return []
    first = hits.iloc[0]
    at = f" at {first['path']}:{first['line']}" if "path" in hits and "line" in hits else ""
    return [f"{what}{at}" + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else "")]


def _names(df: pd.DataFrame, column: str, pattern: re.Pattern[str]) -> pd.Series:
    if df.empty or column not in df:
        return pd.Series(False, index=df.index, dtype=bool)
    return df[column].astype("string").fillna("").str.contains(pattern).astype(bool)


def panel_part(snapshot: Snapshot, config: AuditConfig) -> Part:
    evidence = []
    if config.sources.pterodactyl.enabled:
        evidence.append("the pterodactyl source is enabled in params")
    code_read = snapshot.source_state("codebase").ok
    if code_read:
        platform = _rows(snapshot, "code_platform")
        if not platform.empty and bool(platform.iloc[0]["has_panel_integration"]):
            where = platform.iloc[0]["panel_evidence"]
            evidence.append(f"the code calls or configures a panel ({where})")
        imports = _rows(snapshot, "code_imports")
        found = _names(imports, "specifier", PANEL_PACKAGE)
        evidence += _where(imports, found, "a panel client package")
        eggs = _rows(snapshot, "code_flow_egg_map")
        if not eggs.empty:
            evidence += _where(eggs, pd.Series(True, index=eggs.index), "an egg map")
    if snapshot.source_state("schema").ok:
        for table, column in (("schema_tables", "table"), ("schema_columns", "column")):
            rows = _rows(snapshot, table)
            hits = rows[_names(rows, column, PANEL_SCHEMA_NAME)] if not rows.empty else rows
            if not hits.empty:
                evidence.append(f"panel-named {column}(s) in the schema: {hits.iloc[0][column]}")
    if evidence:
        return Part("panel", True, True, evidence)
    if not code_read:
        return Part("panel", False, False)
    looked = [
        "pterodactyl source disabled",
        "no /api/application or /api/client path, panel env variable or server payload in the code",
    ]
    return Part("panel", True, False, looked)


def provisioning_part(snapshot: Snapshot, config: AuditConfig) -> Part:
    """A panel provisions; so does a function that moves orders to 'provisioning' or
    'installing' (a hosting business whose panel calls are mocked or elsewhere)."""
    panel = panel_part(snapshot, config)
    if panel.present or not panel.known:
        return Part("provisioning", panel.known, panel.present, panel.evidence)
    platform = _rows(snapshot, "code_platform")
    slugs = platform.iloc[0]["provisioning_functions"] if not platform.empty else None
    if isinstance(slugs, str) and slugs:
        return Part("provisioning", True, True, [f"provisioning function(s): {slugs}"])
    return Part("provisioning", True, False, [*panel.evidence, "no function sets 'provisioning'"])


def stripe_webhook_part(snapshot: Snapshot, config: AuditConfig) -> Part:
    if config.supabase.webhook_function:
        return Part("stripe_webhook", True, True, ["supabase.webhook_function in params"])
    if not snapshot.source_state("codebase").ok:
        return Part("stripe_webhook", False, False)
    evidence = []
    funcs = _rows(snapshot, "code_functions")
    if not funcs.empty:
        hooks = funcs[funcs["is_stripe_webhook"].fillna(False).astype(bool)]
        evidence += [f"edge function {slug}" for slug in hooks["slug"]]
    checks = _rows(snapshot, "code_signature_checks")
    evidence += _where(checks, pd.Series(True, index=checks.index), "a signature check")
    if evidence:
        return Part("stripe_webhook", True, True, evidence)
    return Part("stripe_webhook", True, False, ["no function verifies or handles Stripe events"])


def edge_functions_part(snapshot: Snapshot, config: AuditConfig) -> Part:
    if not snapshot.source_state("codebase").ok:
        return Part("edge_functions", False, False)
    funcs = _rows(snapshot, "code_functions")
    paths = funcs["path"].dropna() if "path" in funcs else pd.Series(dtype="string")
    if not paths.empty:
        return Part("edge_functions", True, True, [f"{len(paths)} function(s)"])
    return Part("edge_functions", True, False, ["no supabase/functions/<name>/index.ts"])


def subscriptions_part(snapshot: Snapshot, config: AuditConfig) -> Part:
    """Recurring billing: a checkout in subscription mode, or a webhook that reads
    subscription events (a one-off shop has nothing to suspend when a plan ends)."""
    if not snapshot.source_state("codebase").ok:
        return Part("subscriptions", False, False)
    sessions = _rows(snapshot, "code_checkout_sessions")
    evidence = _where(
        sessions, _names(sessions, "mode", re.compile("^subscription$")), "a subscription checkout"
    )
    events = _rows(snapshot, "code_webhook_events")
    evidence += _where(
        events,
        _names(events, "event_type", re.compile(r"^customer\.subscription\.")),
        "a customer.subscription.* handler",
    )
    if evidence:
        return Part("subscriptions", True, True, evidence)
    return Part("subscriptions", True, False, ["no subscription checkout or subscription event"])


DETECTORS = {
    "panel": panel_part,
    "provisioning": provisioning_part,
    "stripe_webhook": stripe_webhook_part,
    "edge_functions": edge_functions_part,
    "subscriptions": subscriptions_part,
}


def platform_parts(snapshot: Snapshot, config: AuditConfig) -> dict[str, Part]:
    """Every known part of the platform, present, absent or unknown, with evidence."""
    return {name: detect(snapshot, config) for name, detect in DETECTORS.items()}
