"""Area 4 — security & authentication of the Edge Functions (static facts × deployed state).

A function's view is its file closure (`code_function_files`): facts found in a shared
helper it imports count for it. `verify_jwt = true` alone is not a caller check: the
public anon key is a valid JWT, so anyone can call such a function. (RLS policies are
judged in area04_rls.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pandas as pd

from readiness.checks.common import code_location, first_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    require_columns,
    warned,
)
from readiness.findings import Severity

FACT_TABLES = ["code_functions", "code_function_files", "code_auth_facts"]
SERVICE_ROLE_ENV = re.compile(r"SERVICE_ROLE|SERVICE_KEY", re.I)
# get_user/jwt_verify: a session; signature: Stripe's or a hand-made HMAC; stored_token:
# a capability the caller presents (guest booking token, reset-link hash); guard/wrapper:
# an imported auth helper whose refusal ends the request (see static/rules/guards.py)
CALLER_CHECKS = {"get_user", "jwt_verify", "signature", "stored_token", "guard", "wrapper"}
# internal checks whose weakness is reported elsewhere or not at all
WEAK_INTERNAL = {"loose", "truthy"}
CATALOG_TABLES = {
    "plans",
    "products",
    "prices",
    "ptero_nodes",
    "nodes",
    "regions",
    "games",
    "eggs",
    "settings",
    "locations",
}


def function_facts(inp: CheckInput, table: str = "code_auth_facts") -> pd.DataFrame:
    """Facts of `table` per function, through each function's file closure."""
    files = require_columns(
        inp["code_function_files"], "code_function_files", ["function_slug", "path"]
    )
    facts = inp[table]
    merged = files[["function_slug", "path"]].merge(
        facts.drop(columns=["function_slug"], errors="ignore"), on="path"
    )
    return merged.sort_values(["function_slug", "path", "line"]).reset_index(drop=True)


def strong_callers(facts: pd.DataFrame) -> set[str]:
    """Functions whose code authenticates the caller (user JWT, signature, exact secret)."""
    caller = facts[(facts["fact"] == "caller_check") & facts["kind"].isin(CALLER_CHECKS)]
    exact = facts[
        (facts["fact"] == "internal_check")
        & (facts["kind"] == "exact")
        & facts["strict"].fillna(False).astype(bool)
    ]
    return set(caller["function_slug"]) | set(exact["function_slug"])


def weak_internal(facts: pd.DataFrame) -> set[str]:
    """Functions whose internal-call recognition AUTH-INTERNAL-CALL-EXACT fails or warns
    on: the one root cause the other caller checks then point to instead of repeating."""
    checks = facts[facts["fact"] == "internal_check"]
    weak = checks["kind"].isin(WEAK_INTERNAL) | (
        (checks["kind"] == "exact") & ~checks["strict"].fillna(False).astype(bool)
    )
    return set(checks.loc[weak, "function_slug"])


def empty_fallback_only(facts: pd.DataFrame) -> set[str]:
    """Functions whose secret check holds unless the secret is unset and read as `?? ''`:
    that fallback is reported once, by CONFIG-ENV-FALLBACK."""
    rows = facts[(facts["fact"] == "internal_check") & (facts["kind"] == "loose_empty")]
    return set(rows["function_slug"])


def own_facts(inp: CheckInput, facts: pd.DataFrame) -> pd.DataFrame:
    """Facts from a function's own folder, not from the shared files it imports (which
    answer and write for every function that imports them)."""
    fns = inp["code_functions"]
    folder = {r.slug: str(r.path).rsplit("/", 1)[0] + "/" for r in fns.itertuples()}
    own = [
        str(p).startswith(folder.get(s, "\0"))
        for s, p in zip(facts["function_slug"], facts["path"], strict=True)
    ]
    return facts[pd.Series(own, index=facts.index, dtype=bool)]


def status_only(inp: CheckInput, facts: pd.DataFrame) -> set[str]:
    """Functions that answer no query rows, change nothing and do nothing privileged: what
    reaches the caller is status, counts or timings (health checks)."""
    own = own_facts(inp, facts)
    loud = set(own.loc[own["fact"].isin(["returns_rows", "side_effect"]), "function_slug"])
    loud |= set(facts.loc[facts["fact"] == "privileged_op", "function_slug"])
    return set(facts["function_slug"]) - loud


def open_service_functions(inp: CheckInput, facts: pd.DataFrame) -> set[str]:
    """Functions AUTH-NOJWT-SERVICE-ROLE fails: verify_jwt off, service role, no caller check
    of any kind."""
    fns = inp["code_functions"]
    open_fns = set(fns.loc[fns["verify_jwt_effective"].fillna(True).astype(bool) == False, "slug"])  # noqa: E712
    covered = strong_callers(facts) | weak_internal(facts) | empty_fallback_only(facts)
    covered |= status_only(inp, facts)
    return (open_fns & set(service_role_functions(inp))) - covered


def service_role_functions(inp: CheckInput) -> dict[str, tuple[str, int]]:
    """slug -> (path, line) of its first service-role key read."""
    reads = function_facts(inp, "code_env_reads")
    reads = reads[reads["name"].fillna("").str.contains(SERVICE_ROLE_ENV)]
    return {
        slug: (g.iloc[0]["path"], g.iloc[0]["line"]) for slug, g in reads.groupby("function_slug")
    }


def _first(facts: pd.DataFrame, slug: str, fact: str) -> pd.Series | None:
    rows = facts[(facts["function_slug"] == slug) & (facts["fact"] == fact)]
    return rows.iloc[0] if not rows.empty else None


def per_function(
    found: pd.DataFrame, judge: Callable[[str, pd.DataFrame], Result], none: str
) -> Iterator[Result]:
    """One verdict per function with rows in `found` (`judge` gets its slug and rows, in
    slug order); one explicit pass saying `none` when no function has any."""
    for slug, group in found.groupby("function_slug", sort=True):
        yield judge(str(slug), group)
    if found.empty:
        yield passed("functions", none)


@check(
    id="AUTH-VERIFY-JWT-DRIFT",
    area=4,
    severity=Severity.CRITICAL,
    title="Deployed functions enforce the verify_jwt that config.toml declares",
    sources=["codebase", "supabase_api"],
    tables=["code_functions", "supabase_functions"],
    rationale="A function deployed by hand with --no-verify-jwt accepts calls with no "
    "session at all, whatever the repository says; the reverse breaks callers such as "
    "Stripe, which send no Supabase JWT.",
    remediation="Redeploy with `supabase functions deploy <slug>` from the repository (which "
    "applies config.toml), or fix config.toml to say what the function needs.",
)
def verify_jwt_drift(inp: CheckInput) -> Iterator[Result]:
    code = require_columns(
        inp["code_functions"], "code_functions", ["slug", "path", "verify_jwt_effective"]
    )
    deployed = require_columns(
        inp["supabase_functions"], "supabase_functions", ["slug", "verify_jwt", "status"]
    ).set_index("slug")
    for row in code.itertuples():
        res, where = f"function:{row.slug}", code_location(row.path, 1)
        declared = row.verify_jwt_effective
        if row.slug not in deployed.index:
            if pd.isna(row.path):  # a config.toml section without code
                yield warned(
                    res,
                    f"{row.slug} is configured in config.toml, has no code and is not deployed.",
                    location="supabase/config.toml",
                    cause=("QUALITY-FUNCTION-FOLDERS", res),
                )
            else:
                yield warned(
                    res, f"{row.slug} is in the repository but not deployed.", location=where
                )
            continue
        live = deployed.loc[row.slug, "verify_jwt"]
        if pd.isna(live) or pd.isna(declared):
            yield warned(
                res,
                f"verify_jwt of {row.slug} is unknown (config: {declared}, deployed: {live}).",
                location=where,
            )
        elif bool(live) == bool(declared):
            yield passed(
                res, f"{row.slug}: verify_jwt={bool(live)} deployed as declared.", location=where
            )
        elif not bool(live):
            yield failed(
                res,
                f"{row.slug} is deployed with verify_jwt=false but config.toml "
                "says true: it accepts calls without a session.",
                location=where,
                evidence={"config": True, "deployed": False},
            )
        else:
            yield failed(
                res,
                f"{row.slug} is deployed with verify_jwt=true but config.toml says "
                "false: callers without a Supabase JWT (e.g. Stripe) get 401.",
                location=where,
                severity=Severity.HIGH,
                evidence={"config": False, "deployed": True},
            )
    for slug in sorted(set(deployed.index) - set(code["slug"])):
        yield warned(f"function:{slug}", f"{slug} is deployed but not in the repository.")


@check(
    id="AUTH-NOJWT-SERVICE-ROLE",
    area=4,
    severity=Severity.CRITICAL,
    title="Functions without verify_jwt that use the service role authenticate the caller",
    sources=["codebase"],
    tables=[*FACT_TABLES, "code_env_reads"],
    rationale="With verify_jwt=false anyone on the internet can call the function; with the "
    "service-role key it bypasses every RLS policy. Only a signature or a shared-secret "
    "check stands between the internet and the database.",
    remediation="Verify the caller in code before any work: Stripe's constructEventAsync for "
    "webhooks, an exact, fail-closed shared-secret comparison for internal calls, or "
    "auth.getUser(jwt) for users — or turn verify_jwt back on.",
)
def nojwt_service_role(inp: CheckInput) -> Iterator[Result]:
    fns = require_columns(
        inp["code_functions"], "code_functions", ["slug", "path", "verify_jwt_effective"]
    )
    facts = function_facts(inp)
    strong = strong_callers(facts)
    weak, empty = weak_internal(facts), empty_fallback_only(facts)
    quiet = status_only(inp, facts)
    service = service_role_functions(inp)
    open_fns = fns[fns["verify_jwt_effective"].fillna(True).astype(bool) == False]  # noqa: E712
    for row in open_fns.itertuples():
        res = f"function:{row.slug}"
        if row.slug not in service:
            yield passed(
                res,
                f"{row.slug} has verify_jwt=false but does not use the service role.",
                location=code_location(row.path, 1),
            )
        elif row.slug in strong:
            yield passed(
                res,
                f"{row.slug} has verify_jwt=false and authenticates the caller in code.",
                location=code_location(row.path, 1),
            )
        elif row.slug in quiet:
            yield passed(
                res,
                f"{row.slug} has verify_jwt=false and no caller check, but only status, counts "
                "or timings reach the caller and it changes nothing (a health check).",
                location=code_location(row.path, 1),
            )
        elif row.slug in weak or row.slug in empty:
            other = "AUTH-INTERNAL-CALL-EXACT" if row.slug in weak else "CONFIG-ENV-FALLBACK"
            yield informed(
                res,
                f"{row.slug} has verify_jwt=false and recognises internal callers; how weak "
                f"that recognition is, is reported once, under {other}.",
                location=code_location(row.path, 1),
            )
        else:
            path, line = service[row.slug]
            yield failed(
                res,
                f"{row.slug} has verify_jwt=false, acts with the service role "
                "and never authenticates the caller: anyone can invoke it.",
                location=code_location(path, line),
            )
    if open_fns.empty:
        yield passed("functions", "Every function keeps verify_jwt on.")


@check(
    id="AUTH-INTERNAL-CALL-EXACT",
    area=4,
    severity=Severity.CRITICAL,
    title="Internal service-role calls are recognised by an exact, fail-closed comparison",
    sources=["codebase"],
    tables=FACT_TABLES,
    rationale="`header.includes(serviceKey)` is true for any header when the key is unset "
    "(includes('') is true), and 'service_role' substrings or a mere header's presence can "
    "be sent by anyone: the caller then skips every user check.",
    remediation="Compare the bearer token with `===` to the secret, after checking the secret "
    "is non-empty (`KEY.length > 0 && token === KEY`), or use a timing-safe comparison.",
)
def internal_call_exact(inp: CheckInput) -> Iterator[Result]:
    facts = function_facts(inp)

    def judge(slug: str, group: pd.DataFrame) -> Result:
        res = f"function:{slug}"
        weak = group[group["kind"] != "exact"]
        loose_exact = group[
            (group["kind"] == "exact") & ~group["strict"].fillna(False).astype(bool)
        ]
        if not weak.empty:
            first = weak.iloc[0]
            return failed(
                res,
                f"{slug} recognises internal calls with a {first['kind']} check "
                f"({first['detail']}): any caller can pass it.",
                location=first_location(weak),
            )
        if not loose_exact.empty:
            return warned(
                res,
                f"{slug} compares against a secret without checking it is set: "
                "an unset secret may let an empty token through.",
                location=first_location(loose_exact),
            )
        return passed(
            res,
            f"{slug} recognises internal calls by exact, fail-closed comparison.",
            location=first_location(group),
        )

    checks = facts[(facts["fact"] == "internal_check") & (facts["kind"] != "loose_empty")]
    return per_function(checks, judge, "No function has an internal-call bypass.")


@check(
    id="AUTH-OWNERSHIP",
    area=4,
    severity=Severity.HIGH,
    title="User-facing functions check that the caller owns the resource",
    sources=["codebase"],
    tables=FACT_TABLES,
    rationale="A function that loads an order or server by an id from the request and acts "
    "on it with the service role lets any signed-in customer act on anyone's server.",
    remediation="After loading the row, compare its user_id with the authenticated user's "
    "id (or filter the query by it) and answer 404 when they differ.",
)
def ownership(inp: CheckInput) -> Iterator[Result]:
    fns = require_columns(inp["code_functions"], "code_functions", ["slug", "is_stripe_webhook"])
    facts = function_facts(inp)
    webhooks = set(fns.loc[fns["is_stripe_webhook"].fillna(False).astype(bool), "slug"])
    lookups = facts[
        (facts["fact"] == "resource_lookup")
        & ~facts["detail"].fillna("").isin(CATALOG_TABLES)
        & ~facts["function_slug"].isin(webhooks)
    ]
    owners = set(facts.loc[facts["fact"] == "ownership_check", "function_slug"])

    def judge(slug: str, group: pd.DataFrame) -> Result:
        tables = ", ".join(sorted(set(group["detail"].dropna())))
        if slug in owners:
            return passed(
                f"function:{slug}",
                f"{slug} loads {tables} by a client-supplied id and checks the owner.",
                location=first_location(group),
            )
        res = f"function:{slug}"
        return failed(
            res,
            f"{slug} loads {tables} by an id from the request "
            "and never checks that the caller owns it.",
            location=first_location(group),
            # with no caller authenticated at all there is no owner to compare: that
            # missing check is the problem to fix first
            cause=[("AUTH-PRIVILEGED-CALLER", res), ("AUTH-NOJWT-SERVICE-ROLE", res)],
        )

    return per_function(
        lookups, judge, "No function loads user-owned rows by a client-supplied id."
    )


@check(
    id="AUTH-PRIVILEGED-CALLER",
    area=4,
    severity=Severity.CRITICAL,
    title="Privileged functions authenticate their caller",
    sources=["codebase"],
    tables=[*FACT_TABLES, "code_env_reads"],
    rationale="Functions that call the panel's application API, start/stop/reassign servers "
    "or change credentials are the keys to every customer's server.",
    remediation="Authenticate the caller first (auth.getUser(jwt), a signature, or an exact "
    "shared-secret check) and authorise the action for that caller.",
)
def privileged_caller(inp: CheckInput) -> Iterator[Result]:
    facts = function_facts(inp)
    strong = strong_callers(facts) | empty_fallback_only(facts)
    weak, unauthenticated = weak_internal(facts), open_service_functions(inp, facts)
    ops = facts[facts["fact"] == "privileged_op"]

    def judge(slug: str, group: pd.DataFrame) -> Result:
        kinds = ", ".join(sorted(set(group["kind"].dropna())))
        if slug in strong:
            return passed(
                f"function:{slug}",
                f"{slug} ({kinds}) authenticates its caller.",
                location=first_location(group),
            )
        if slug in weak or slug in unauthenticated:
            other = "AUTH-INTERNAL-CALL-EXACT" if slug in weak else "AUTH-NOJWT-SERVICE-ROLE"
            return informed(
                f"function:{slug}",
                f"{slug} performs privileged operations ({kinds}); its missing or weak "
                f"caller check is reported once, under {other}.",
                location=first_location(group),
            )
        return failed(
            f"function:{slug}",
            f"{slug} performs privileged operations ({kinds}) without authenticating the caller.",
            location=first_location(group),
        )

    return per_function(ops, judge, "No function performs privileged panel or credential work.")


@check(
    id="AUTH-BODY-IDENTITY",
    area=4,
    severity=Severity.HIGH,
    title="Functions take the user from the session, not from the request body",
    sources=["codebase"],
    tables=FACT_TABLES,
    rationale="A user_id or email read from the body lets a caller act as someone else "
    "(link their panel account, move their server, read their orders).",
    remediation="Use the id and email of auth.getUser(jwt); if the body must carry one, "
    "reject the request when it differs from the authenticated user.",
)
def body_identity(inp: CheckInput) -> Iterator[Result]:
    facts = function_facts(inp)
    # an email that only addresses mail or a payment (kind 'contact') picks no user
    found = facts[(facts["fact"] == "body_identity") & (facts["kind"].fillna("") != "contact")]
    owner_rows = facts[facts["fact"] == "ownership_check"]
    compares = set(owner_rows.loc[owner_rows["kind"] == "compare", "function_slug"])
    session = owner_rows[owner_rows["kind"] == "session"]
    checked = {(r.function_slug, r.detail) for r in session.itertuples()}
    admins = set(facts.loc[facts["fact"] == "admin_check", "function_slug"]) & strong_callers(facts)
    # called only by other servers that prove a shared secret: the body is theirs to fill
    internal = facts[facts["fact"] == "internal_gate"]
    sessions = facts[(facts["fact"] == "caller_check") & (facts["kind"] == "get_user")]
    servers = set(internal["function_slug"]) - set(sessions["function_slug"])
    servers -= weak_internal(facts)

    def judge(slug: str, group: pd.DataFrame) -> Result:
        keys = ", ".join(sorted(set(group["detail"].dropna())))
        if slug in admins:
            return passed(
                f"function:{slug}",
                f"{slug} takes {keys} from the request as the target of an action its "
                "authenticated admin caller may perform.",
                location=first_location(group),
            )
        if slug in servers:
            return passed(
                f"function:{slug}",
                f"{slug} takes {keys} from the request, but only callers proving the shared "
                "secret reach it.",
                location=first_location(group),
            )
        if all((slug, key) in checked for key in set(group["detail"].dropna())):
            return passed(
                f"function:{slug}",
                f"{slug} reads {keys} from the request and checks it against the session.",
                location=first_location(group),
            )
        if slug in compares:
            return warned(
                f"function:{slug}",
                f"{slug} reads {keys} from the request and compares "
                "an owner id; check it is the session's user.",
                location=first_location(group),
            )
        return failed(
            f"function:{slug}",
            f"{slug} trusts {keys} from the request body.",
            location=first_location(group),
        )

    return per_function(found, judge, "No function takes a user id or email from the request.")
