"""Area 8 — frontend integration: redirect URLs, routes, hooks that surface errors, the
dashboard's statuses, sign-up, Stripe keys, and the values the frontend sends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area05_schema import allowed_for
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    unverified,
    warned,
)
from readiness.findings import Severity

CHECKOUT_KEYS = ("success_url", "cancel_url", "return_url")


def _frontend(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["function_slug"].isna() & ~df["path"].str.contains("supabase/")]


@check(
    id="FE-REDIRECT-ORIGIN",
    area=8,
    severity=Severity.HIGH,
    title="Checkout success/cancel URLs are built from a trusted origin",
    sources=["codebase"],
    tables=["code_redirect_urls", "code_allow_lists"],
    rationale="A success_url built from the request's Origin header lets any site start a "
    "checkout that returns the customer to a look-alike page (open redirect, phishing).",
    remediation="Build redirect URLs from a SITE_URL secret (or a fixed allow-list), never "
    "from request headers.",
)
def redirect_origin(inp: CheckInput) -> Iterator[Result]:
    urls = inp["code_redirect_urls"]
    urls = urls[urls["function_slug"].notna() & urls["key"].isin(CHECKOUT_KEYS)]
    for row in urls.itertuples():
        res, loc = f"url:{row.function_slug}:{row.key}", code_location(row.path, row.line)
        if row.origin == "request" and pd.notna(row.validated):
            yield passed(
                res,
                f"{row.key} comes from the request but is checked first (`{row.validated}`).",
                location=loc,
            )
        elif row.origin in ("env", "literal"):
            yield passed(res, f"{row.key} comes from a fixed origin ({row.origin}).", location=loc)
        elif row.origin == "request" and not (lists := _lists(inp, row.function_slug)).empty:
            yield _ignored_allow_list(row, lists.iloc[0], res, loc)
        elif row.origin in ("request", "browser"):
            yield failed(
                res,
                f"{row.key} is built from the request ({row.expr}): open redirect.",
                location=loc,
                # success and cancel URLs of one session share the base: one fix
                problem=f"url:{row.function_slug}:request-origin",
            )
        else:
            yield warned(
                res,
                f"Could not tell where the origin of {row.key} comes from ({row.expr}).",
                location=loc,
            )
    if urls.empty:
        yield passed("redirects", "No checkout redirect URLs are built in the functions.")


def _lists(inp: CheckInput, slug: str) -> pd.DataFrame:
    lists = inp["code_allow_lists"]
    return lists[lists["function_slug"] == slug].sort_values(["path", "line"])


def _ignored_allow_list(row, allow: pd.Series, res: str, loc: str | None) -> Result:
    """A request URL next to an allow-list that is never applied to it: one chain."""
    used = " (used only for CORS)" if bool(allow["cors"]) else ""
    source = code_location(row.path, row.source_line) if pd.notna(row.source_line) else loc
    steps = [
        Step(f"{row.function_slug} takes the redirect URL from the request", source, res),
        Step(
            f"an allow-list {allow['name']} is defined{used}",
            code_location(allow["path"], allow["line"]),
            f"allow-list:{allow['path']}:{allow['name']}",
        ),
        Step(f"{row.key} is set to it unchecked ({row.expr})", loc, res),
    ]
    result = attack_path(
        res,
        f"{row.key} is built from the request ({row.expr}) and never checked against "
        f"{allow['name']}, the allow-list the function already has: open redirect.",
        steps,
        severity=Severity.HIGH,
    )
    result.problem = f"url:{row.function_slug}:request-origin"
    return result


def _route_matches(route: str, defined: list[str]) -> bool:
    for pattern in defined:
        if pattern in ("*", "/*", ""):
            continue  # a catch-all is the 404 page, not a route for this URL
        regex = (
            "^"
            + re.sub(r"/:[^/]+|/\[[^\]]+\]", "/[^/]+", pattern.rstrip("/")).replace("*", ".*")
            + "/?$"
        )
        if re.match(regex, route.rstrip("/") or "/") or (pattern == "/" and route == "/"):
            return True
    return False


@check(
    id="FE-REDIRECT-ROUTED",
    area=8,
    severity=Severity.MEDIUM,
    title="The pages checkout returns to exist in the frontend's routes",
    sources=["codebase"],
    tables=["code_redirect_urls", "code_frontend_routes"],
    rationale="After paying, the customer lands on the success URL: a route the app does not "
    "have shows a 404 right after taking their money.",
    remediation="Add the route (or point success_url/cancel_url at an existing page).",
)
def redirect_routed(inp: CheckInput) -> Iterator[Result]:
    urls = inp["code_redirect_urls"]
    urls = urls[
        urls["function_slug"].notna() & urls["key"].isin(CHECKOUT_KEYS) & urls["route"].notna()
    ]
    defined = [str(r) for r in inp["code_frontend_routes"]["route"].dropna()]
    if not defined:
        yield unverified("routes", "No frontend routes were found (no router or pages folder).")
        return
    for route, group in urls.groupby("route", sort=True):
        first = group.iloc[0]
        loc = code_location(first["path"], first["line"])
        if _route_matches(str(route), defined):
            yield passed(f"route:{route}", f"{route} is a frontend route.", location=loc)
        else:
            yield failed(
                f"route:{route}",
                f"Checkout returns to {route}, which no frontend route serves.",
                location=loc,
            )
    if urls.empty:
        yield passed("routes", "No checkout redirect paths to check.")


def _of_kinds(inp: CheckInput, df: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Rows of files the browser runs (or, with "server", pages rendered on the server)."""
    files = inp["code_files"]
    return df[df["path"].isin(set(files.loc[files["kind"].isin(kinds), "path"]))]


def _flag(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column].fillna(False).astype(bool)


@check(
    id="FE-HOOK-ERRORS",
    area=8,
    severity=Severity.HIGH,
    title="Checkout and purchase hooks surface errors to the user",
    sources=["codebase"],
    tables=["code_catches", "code_files"],
    rationale="A hook that only logs a failed checkout leaves the customer clicking a button "
    "that silently does nothing.",
    remediation="Set an error state the component renders (or rethrow to the caller).",
)
def hook_errors(inp: CheckInput) -> Iterator[Result]:
    catches = _of_kinds(inp, _frontend(inp["code_catches"]), ("frontend",))
    catches = catches.drop_duplicates(["path", "line"])
    on_path = catches[catches["checkout_via"].notna()]
    # anything besides console.* handles it: a toast, state, a rethrow, a returned value,
    # navigation — or the checkout helper it guards already showed the error
    handled = (
        _flag(on_path, "sets_state")
        | _flag(on_path, "rethrows")
        | (_flag(on_path, "returns") & ~_flag(on_path, "only_logs"))  # not `.catch(console.error)`
        | _flag(on_path, "callee_surfaced")
        | ~on_path["only_logs"].fillna(False).astype(bool)
    )
    for row in on_path[~handled].itertuples():
        yield failed(
            f"catch:{row.path}:{row.line}",
            f"This catch around a checkout/payment call ({row.checkout_via}) "
            + ("is empty" if row.empty else "only logs")
            + ": the user never sees the error.",
            location=code_location(row.path, row.line),
            evidence={"checkout_call": row.checkout_via},
            problem=f"hook-errors:{row.path}",  # one hook, one error state to add
        )
    if handled.all():
        yield passed(
            "frontend-catches",
            f"All {len(on_path)} catch blocks on the checkout path surface the error "
            f"({len(catches)} frontend catches in all).",
        )


@check(
    id="FE-DASHBOARD-STATUSES",
    area=8,
    severity=Severity.MEDIUM,
    title="The dashboard filters on statuses that exist",
    sources=["codebase", "schema"],
    tables=["code_query_filters", "schema_check_constraints", "code_files"],
    optional_tables=["schema_columns", "code_status_writes"],
    rationale="A status the database never holds makes those servers invisible (or the filter "
    "a no-op); a typo hides every paid server from its owner.",
    remediation="Use the statuses of the CHECK constraint (ideally from one shared type).",
)
def dashboard_statuses(inp: CheckInput) -> Iterator[Result]:
    f = _frontend(inp["code_query_filters"]).dropna(subset=["value", "table"])
    f = _of_kinds(inp, f, ("frontend", "server"))
    f = f[f["column"].str.fullmatch(r"status|.*_status")]
    types, defaults = _column_types(inp)
    writes = inp.tables.get("code_status_writes")
    for row in f.itertuples():
        allowed = allowed_for(inp["schema_check_constraints"], str(row.table), str(row.column))
        res, loc = f"status:{row.value}", code_location(row.path, row.line)
        dtype = types.get((str(row.table), str(row.column)))
        if allowed is None and dtype is not None and not TEXT_TYPE.match(dtype):
            yield informed(
                res,
                f"{row.table}.{row.column} is of type {dtype}: Postgres itself rejects a value "
                f"outside it ('{row.value}' not compared).",
                location=loc,
            )
        elif allowed is None and (
            _written(writes, row) or defaults.get((str(row.table), str(row.column))) == row.value
        ):
            yield passed(
                res,
                f"'{row.value}' is a status the code (or the column default) writes to "
                f"{row.table}.",
                location=loc,
            )
        elif allowed is None:
            yield warned(
                res,
                f"{row.table}.{row.column} has no CHECK to compare '{row.value}' with, and no "
                "code writes that value.",
                location=loc,
            )
        elif row.value in allowed:
            yield passed(res, f"'{row.value}' is a status of {row.table}.", location=loc)
        else:
            yield failed(
                res,
                f"The frontend filters {row.table} by '{row.value}', which the CHECK never allows.",
                location=loc,
            )
    if f.empty:
        yield passed("dashboard", "The frontend filters no status column by literal values.")


TEXT_TYPE = re.compile(r"^(text|character varying|varchar|character|char|citext|name)\b")


def _column_types(
    inp: CheckInput,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """(type, literal default) of each public column: `'pending'::text` → pending."""
    cols = inp.tables.get("schema_columns")
    if cols is None or cols.empty:
        return {}, {}
    cols = cols[cols["schema"] == "public"]
    types = {(str(r.table), str(r.column)): str(r.data_type) for r in cols.itertuples()}
    defaults = {}
    for r in cols.itertuples():
        match = re.match(
            r"^'((?:[^']|'')*)'(?:::[\w .\"]+)?$", str(r.default) if pd.notna(r.default) else ""
        )
        if match:
            defaults[(str(r.table), str(r.column))] = match.group(1).replace("''", "'")
    return types, defaults


def _written(writes: pd.DataFrame | None, row: object) -> bool:
    """The code writes this status to this table somewhere (an insert/update/upsert)."""
    if writes is None or writes.empty:
        return False
    same = writes[
        (writes["table"] == row.table)  # type: ignore[attr-defined]
        & (writes["column"] == row.column)  # type: ignore[attr-defined]
        & (writes["value"] == row.value)  # type: ignore[attr-defined]
    ]
    return not same.empty


@check(
    id="FE-SIGNUP-NONBLOCKING",
    area=8,
    severity=Severity.MEDIUM,
    title="Sign-up does not wait on panel account creation",
    sources=["codebase"],
    tables=["code_signup_flows"],
    rationale="If the panel is slow or down, an awaited panel call makes sign-up fail or hang: "
    "no customers while the panel is unhealthy.",
    remediation="Create the panel account in the background (on first sign-in or at "
    "provisioning) and retry on failure.",
)
def signup_nonblocking(inp: CheckInput) -> Iterator[Result]:
    flows = inp["code_signup_flows"]
    for row in flows.itertuples():
        res = f"signup:{row.path}:{row.function}"
        if bool(row.awaits_panel):
            yield failed(
                res,
                f"{row.function} awaits panel account creation (line {row.panel_line}).",
                location=code_location(row.path, row.panel_line),
            )
        else:
            yield passed(
                res,
                f"{row.function} does not wait on the panel.",
                location=code_location(row.path, row.line),
            )
    if flows.empty:
        yield passed("signup", "No auth.signUp call in the frontend.")


@check(
    id="FE-STRIPE-KEYS",
    area=8,
    severity=Severity.HIGH,
    title="The frontend holds only publishable Stripe keys, live ones for production",
    sources=["codebase"],
    tables=["code_frontend_keys"],
    rationale="A secret key in the bundle gives anyone full access to the Stripe account; a "
    "test publishable key in production takes no real payments.",
    remediation="Ship only pk_live_ keys in the production frontend; keep sk_/rk_ keys in "
    "function secrets.",
)
def stripe_keys(inp: CheckInput) -> Iterator[Result]:
    keys = inp["code_frontend_keys"]
    prod = inp.config.environment in ("production", "demo")
    for row in keys.itertuples():
        res, loc = f"key:{row.path}:{row.line}", code_location(row.path, row.line)
        if not str(row.kind).startswith("pk_"):
            yield failed(
                res,
                f"A Stripe {row.kind} secret key is in frontend code.",
                location=loc,
                severity=Severity.CRITICAL,
            )
        elif row.kind == "pk_test" and prod:
            yield failed(
                res, "A test publishable key (pk_test_) in the production frontend.", location=loc
            )
        else:
            yield passed(res, f"Publishable key ({row.kind}).", location=loc)
    if keys.empty:
        yield passed("keys", "No Stripe key literal in frontend code or env files.")


@check(
    id="FE-VALUES-ACCEPTED",
    area=8,
    severity=Severity.HIGH,
    title="Values the frontend sends are values the database accepts",
    sources=["codebase"],
    tables=["code_frontend_values"],
    optional_tables=[
        "db_ptero_nodes",
        "db_plans",
        "schema_check_constraints",
        "code_migration_inserts",
    ],
    rationale="A region no enabled node serves, or a plan that does not exist, fails after the "
    "customer chose it — at checkout or, worse, after payment.",
    remediation="Load plans and regions from the database instead of hard-coding them, or fix "
    "the literal.",
)
def values_accepted(inp: CheckInput) -> Iterator[Result]:
    vals = inp["code_frontend_values"].drop_duplicates(["field", "value"])
    known = _reference_sets(inp)
    for row in vals.itertuples():
        res, loc = f"{row.field.removesuffix('_id')}:{row.value}", code_location(row.path, row.line)
        ref = known.get(str(row.field))
        if ref is None:
            yield (informed if row.field in ("modpack",) else unverified)(
                res,
                f"Nothing collected to compare the {row.field} '{row.value}' with.",
                location=loc,
            )
        elif row.value in ref[1]:
            yield passed(res, f"{row.field} '{row.value}' is accepted ({ref[0]}).", location=loc)
        else:
            yield failed(
                res, f"The frontend sends {row.field} '{row.value}', not in {ref[0]}.", location=loc
            )
    if vals.empty:
        yield passed("frontend-values", "The frontend hard-codes no plan, region, term or modpack.")


def _reference_sets(inp: CheckInput) -> dict[str, tuple[str, set[str]]]:
    out: dict[str, tuple[str, set[str]]] = {}
    nodes = inp.tables.get("db_ptero_nodes")
    if nodes is not None and "region" in nodes:
        on = nodes[nodes["enabled"].fillna(False).astype(bool)] if "enabled" in nodes else nodes
        out["region"] = ("regions of enabled nodes", set(on["region"].dropna().astype(str)))
    plans = inp.tables.get("db_plans")
    if plans is not None and "id" in plans:
        out["plan_id"] = ("the plans table", set(plans["id"].dropna().astype(str)))
        if "game" in plans:
            out["game"] = ("games of the plans table", set(plans["game"].dropna().astype(str)))
    else:
        ins = inp.tables.get("code_migration_inserts")
        if ins is not None and not ins.empty:
            seeded = [
                json.loads(v)
                for v in ins.loc[ins["table"].isin(["public.plans", "plans"]), "values"]
            ]
            if seeded:  # the frontend may send a plan's id, slug, code or name
                keys = ("id", "slug", "code", "key", "name")
                out["plan_id"] = (
                    "plans seeded by the migrations",
                    {str(s[k]) for s in seeded for k in keys if s.get(k) is not None},
                )
    checks = inp.tables.get("schema_check_constraints")
    if checks is not None:
        terms = allowed_for(checks, "orders", "term") or allowed_for(checks, "plans", "term")
        if terms is not None:
            out["term"] = ("the term CHECK constraint", set(terms))
    return out
