"""Area 7 — configuration & environment: env vars set and documented, one name per
setting, no hard-coded secrets anywhere in the checkout, no risky fallbacks, no CORS `*`
on privileged functions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_auth import (
    function_facts,
    open_service_functions,
    own_facts,
    service_role_functions,
    strong_callers,
    weak_internal,
)
from readiness.checks.area04_exposure import browser_secret
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    require_columns,
    unverified,
    warned,
)
from readiness.findings import Location, Severity, Status

# Set by Supabase in every hosted project (and by `supabase start` locally).
PLATFORM_ENV = frozenset(
    {
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_DB_URL",
        "SB_REGION",
        "SB_EXECUTION_ID",
        "DENO_DEPLOYMENT_ID",
    }
)
# Set by the runtime, the bundler or the host, never by the project: nothing to document.
BUILTIN_ENV = frozenset(
    {"NODE_ENV", "CI", "DEV", "PROD", "MODE", "BASE_URL", "SSR", "VERCEL", "VERCEL_ENV"}
)
BUILTIN_PREFIXES = ("VERCEL_", "NEXT_PUBLIC_VERCEL_", "GITHUB_", "RUNNER_")
# Public by design (served to every browser): a fallback for them hides no secret.
PUBLIC_VALUE = re.compile(r"PUBLISHABLE|ANON_KEY|PUBLIC_KEY|\bPK\b|SITE_KEY", re.I)
# A URL default worth reporting: local, plain-http, or a placeholder host.
RISKY_URL = re.compile(r"localhost|127\.0\.0\.1|0\.0\.0\.0|^http://|example\.(com|org)|your-", re.I)
BACKEND_KINDS = {"function", "shared"}
SECRETISH = re.compile(r"SECRET|KEY|TOKEN|PASSWORD|SERVICE_ROLE|PRIVATE", re.I)
URLISH = re.compile(r"URL|HOST|ORIGIN|ENDPOINT|DOMAIN", re.I)
# tokens that name the same thing; noise tokens carry no meaning for the comparison
SYNONYMS = {
    "PTERODACTYL": "PANEL",
    "PTERO": "PANEL",
    "PTERO_PANEL": "PANEL",
    "TOKEN": "KEY",
    "APIKEY": "KEY",
    "WEBHOOK": "WEBHOOK",
    "SIGNING": "WEBHOOK",
    "ENDPOINT": "URL",
    "HOST": "URL",
    "BASE": "",
    "API": "",
    "APPLICATION": "",
    "APP": "",
}
LIVE_KINDS = {"pterodactyl-application-key", "pterodactyl-client-key"}


def backend_reads(inp: CheckInput) -> pd.DataFrame:
    """Env reads of Edge Function code (own and shared files)."""
    files = require_columns(inp["code_files"], "code_files", ["path", "kind"])
    reads = require_columns(
        inp["code_env_reads"],
        "code_env_reads",
        ["path", "line", "name", "fallback", "fallback_expr"],
    )
    backend = set(files.loc[files["kind"].isin(BACKEND_KINDS), "path"])
    return reads[reads["path"].isin(backend)].sort_values(["name", "path", "line"])


def concept(name: str) -> frozenset[str]:
    """What a variable names, ignoring prefixes and synonyms (PANEL_URL ~ PTERODACTYL_URL)."""
    tokens = [SYNONYMS.get(t, t) for t in name.upper().split("_") if t]
    return frozenset(t for t in tokens if t and t != "SUPABASE")


@check(
    id="CONFIG-ENV-SET",
    area=7,
    severity=Severity.HIGH,
    title="Every environment variable the functions read is set as a project secret",
    sources=["codebase", "supabase_api"],
    tables=["code_files", "code_env_reads", "supabase_secrets"],
    rationale="An unset variable reads as undefined: a URL becomes 'undefined/api/...', a "
    "key makes every panel or Stripe call fail, and `!` hides it from the type checker.",
    remediation="Set it with `supabase secrets set NAME=...` (names only are compared; the "
    "audit never reads secret values).",
)
def env_set(inp: CheckInput) -> Iterator[Result]:
    reads = backend_reads(inp)
    secrets = set(require_columns(inp["supabase_secrets"], "supabase_secrets", ["name"])["name"])
    for name, group in reads.groupby("name", sort=True):
        first = group.iloc[0]
        where = code_location(first["path"], first["line"])
        if name in secrets or name in PLATFORM_ENV:
            yield passed(f"env:{name}", f"{name} is set in the project.", location=where)
        else:
            yield failed(
                f"env:{name}",
                f"{name} is read by the functions but not set as a project secret.",
                location=where,
                evidence={"read_at": [code_location(r.path, r.line) for r in group.itertuples()]},
                # read under a second name for a setting that is set: the alias is the fix
                cause=("CONFIG-ENV-ALIASES", f"env:{name}"),
            )
    if reads.empty:
        yield passed("env", "The functions read no environment variables.")


@check(
    id="CONFIG-ENV-DOCUMENTED",
    area=7,
    severity=Severity.MEDIUM,
    title="Every environment variable the code reads is documented",
    sources=["codebase"],
    tables=["code_env_reads", "code_env_file_entries", "code_env_docs"],
    rationale="Without the management API the audit cannot see what is set; an undocumented "
    "variable is one a new deploy will miss.",
    remediation="Add the name (never the value) to the matching .env.example or README.",
)
def env_documented(inp: CheckInput) -> Iterator[Result]:
    reads = require_columns(inp["code_env_reads"], "code_env_reads", ["path", "line", "name"])
    documented = set(inp["code_env_file_entries"]["name"]) | set(inp["code_env_docs"]["name"])
    for name, group in reads.sort_values(["name", "path", "line"]).groupby("name", sort=True):
        first = group.iloc[0]
        where = code_location(first["path"], first["line"])
        if name in documented or name in PLATFORM_ENV:
            yield passed(f"env:{name}", f"{name} is documented.", location=where)
        elif name in BUILTIN_ENV or str(name).startswith(BUILTIN_PREFIXES):
            yield passed(f"env:{name}", f"{name} is set by the runtime or host.", location=where)
        else:
            yield failed(
                f"env:{name}",
                f"{name} is read by the code but documented in no .env example file or README.",
                location=where,
                cause=_undocumented_causes(str(name), group),
            )
    if reads.empty:
        yield passed("env", "The code reads no environment variables.")


def _undocumented_causes(name: str, reads: pd.DataFrame) -> list[tuple[str, str]]:
    """What an undocumented variable may follow from: an alias of a documented setting,
    a variable nobody set at all (one problem: configure it), or a secret the bundler
    inlines (AUTH-FRONTEND-KEYS on the file reading it: only a name that check flags, so
    an undocumented ADMIN_TOKEN never hides under another key that file leaks)."""
    causes = [("CONFIG-ENV-ALIASES", f"env:{name}"), ("CONFIG-ENV-SET", f"env:{name}")]
    if browser_secret(name):
        causes += [("AUTH-FRONTEND-KEYS", f"file:{p}") for p in sorted(set(reads["path"]))]
    return causes


@check(
    id="CONFIG-ENV-ALIASES",
    area=7,
    severity=Severity.MEDIUM,
    title="One name per setting",
    sources=["codebase"],
    tables=["code_files", "code_env_reads"],
    rationale="The same setting read under two names (PANEL_URL and PTERODACTYL_URL) means "
    "one of them is usually unset, and only some code paths break.",
    remediation="Pick one name, use it everywhere, and delete the other secret.",
)
def env_aliases(inp: CheckInput) -> Iterator[Result]:
    reads = backend_reads(inp)
    groups: dict[frozenset[str], set[str]] = {}
    # an injected variable (SUPABASE_URL) is its own setting, not an alias of APP_URL
    for name in sorted(set(reads["name"]) - PLATFORM_ENV):
        groups.setdefault(concept(name), set()).add(name)
    clashes = {k: v for k, v in groups.items() if len(v) > 1 and k}
    for names in sorted(sorted(v) for v in clashes.values()):
        rows = reads[reads["name"].isin(names)]
        first = rows.iloc[0]
        yield failed(
            f"setting:{','.join(names)}",
            f"One setting is read as {' and '.join(names)}.",
            location=code_location(first["path"], first["line"]),
            locations=[
                Location(
                    f"env:{n}",
                    f"{n} is read at {code_location(r.path, r.line)}.",
                    Status.FAIL,
                    code_location(r.path, r.line),
                )
                for n in names
                for r in rows[rows["name"] == n].head(1).itertuples()
            ],
            evidence={
                "read_at": {
                    n: [code_location(r.path, r.line) for r in rows[rows["name"] == n].itertuples()]
                    for n in names
                }
            },
        )
    if not clashes:
        yield passed("env", f"{len(groups)} setting(s), each read under one name.")


@check(
    id="CONFIG-HARDCODED-SECRET",
    area=7,
    severity=Severity.CRITICAL,
    title="No secret is hard-coded anywhere in the checkout",
    sources=["codebase"],
    tables=["code_secrets", "code_unscanned"],
    rationale="A key committed to code, scripts, docs or env files is readable by everyone "
    "with the repository (and its history): it must be treated as leaked. A file the scan "
    "could not read is not verified, never assumed clean.",
    remediation="Rotate the key now, remove it from the file (and history), and read it from "
    "a secret store / environment variable instead.",
)
def hardcoded_secret(inp: CheckInput) -> Iterator[Result]:
    found = require_columns(
        inp["code_secrets"],
        "code_secrets",
        ["path", "line", "kind", "fingerprint", "is_live", "role"],
    )
    # anon/authenticated Supabase keys are public by design
    found = found[~found["role"].fillna("").isin(["anon", "authenticated"])]
    # one key is one problem, wherever it was committed: every file is a location
    for (kind, fingerprint, path), group in found.groupby(
        ["kind", "fingerprint", "path"], sort=True
    ):
        first = group.sort_values("line").iloc[0]
        live = first["is_live"]
        service_role = not pd.isna(first["role"]) and first["role"] == "service_role"
        critical = (not pd.isna(live) and bool(live)) or kind in LIVE_KINDS or service_role
        label = "a service-role JWT" if service_role else f"a {kind}"
        reason = (
            f"{path} holds {label}"
            + (" (critical: treat it as a live credential)" if critical else "")
            + f" — fingerprint {fingerprint}; lines "
            + ", ".join(str(int(x)) for x in sorted(group["line"]))
            + "."
        )
        yield failed(
            f"secret:{kind}:{path}",
            reason,
            location=code_location(path, first["line"]),
            severity=None if critical else Severity.HIGH,
            evidence={"fingerprints": [fingerprint]},
            problem=f"secret:{kind}:{fingerprint}",
        )
    unscanned = require_columns(
        inp["code_unscanned"], "code_unscanned", ["path", "size_bytes", "reason"]
    )
    yield from unscanned_files(unscanned)
    if found.empty and unscanned.empty:
        yield passed("checkout", "No secret found in any file of the checkout.")


def unscanned_files(unscanned: pd.DataFrame) -> Iterator[Result]:
    """One not_verified finding per file the secret scan could not read."""
    for row in unscanned.sort_values("path").itertuples():
        size = "" if pd.isna(row.size_bytes) else f" ({int(row.size_bytes):,} bytes)"
        yield unverified(
            str(row.path),
            f"{row.path}{size} was not scanned for secrets: {row.reason}.",
            location=str(row.path),
        )


@check(
    id="CONFIG-ENV-FALLBACK",
    area=7,
    severity=Severity.HIGH,
    title="No risky literal fallbacks for environment variables",
    sources=["codebase"],
    tables=["code_files", "code_env_reads"],
    rationale="`Deno.env.get('KEY') ?? ''` turns a missing secret into an empty one (which "
    "checks like includes('') accept), and `|| 'http://localhost'` silently sends "
    "production traffic nowhere.",
    remediation="Fail loudly when a required variable is missing (throw at start-up); keep "
    "defaults only for harmless tuning values.",
)
def env_fallback(inp: CheckInput) -> Iterator[Result]:
    reads = require_columns(
        inp["code_env_reads"],
        "code_env_reads",
        ["path", "line", "name", "fallback", "fallback_expr"],
    )
    files = inp["code_files"]
    backend = set(files.loc[files["kind"].isin(BACKEND_KINDS), "path"]) if len(files) else set()
    guards = reads["fallback_guard"] if "fallback_guard" in reads else pd.Series(index=reads.index)
    risky = 0
    for row, guard in zip(
        reads[reads["fallback"].notna()].itertuples(),
        guards[reads["fallback"].notna()],
        strict=True,
    ):
        res, where = f"env-fallback:{row.path}:{row.name}", code_location(row.path, row.line)
        value, name = str(row.fallback), str(row.name)
        if name in PLATFORM_ENV and row.path in backend:
            continue  # injected by Supabase into every function: never unset there
        if PUBLIC_VALUE.search(name) or not pd.isna(guard):
            continue  # a public value, or an empty key createClient / an `if (!x)` refuses
        if SECRETISH.search(name):
            risky += 1
            yield failed(
                res,
                f"{name} falls back to a literal ({len(value)} chars) when "
                "unset: a missing secret is silently replaced.",
                location=where,
                problem=f"env-fallback:{name}",  # one variable, one fix, every file
            )
        elif URLISH.search(name) and value and RISKY_URL.search(value):
            risky += 1
            yield warned(
                res,
                f"{name} falls back to {value!r} when unset.",
                location=where,
                problem=f"env-fallback:{name}",
            )
    if not risky:
        yield passed("env", "No secret or URL falls back to a risky literal.")


@check(
    id="CONFIG-CORS-PRIVILEGED",
    area=7,
    severity=Severity.HIGH,
    title="No wildcard CORS on privileged functions",
    sources=["codebase"],
    tables=["code_functions", "code_function_files", "code_auth_facts", "code_env_reads"],
    rationale="`Access-Control-Allow-Origin: *` (or echoing any Origin) lets every web page "
    "drive a function from a visitor's browser with the credentials the browser adds by "
    "itself (cookies), and read what a service-role function answers without a caller "
    "check. A bearer token or a signature is never sent cross-site, so those functions are "
    "not at risk; a missing caller check is area 4's finding.",
    remediation="Answer only the site's own origin (from a SITE_URL secret), as "
    "_shared/cors.ts does in a clean setup.",
)
def cors_privileged(inp: CheckInput) -> Iterator[Result]:
    """`*` matters only where a browser adds credentials by itself (cookies) or where a
    service-role function answers without any caller check that area 4 does not already
    report. A bearer token, a signature or a shared secret is never sent by a cross-site
    page, so a wildcard on such a function lets no one do more than curl could."""
    facts = function_facts(inp)
    cors = facts[(facts["fact"] == "cors_origin") & facts["kind"].isin(["wildcard", "reflect"])]
    privileged = set(facts.loc[facts["fact"] == "privileged_op", "function_slug"])
    service = set(service_role_functions(inp))
    cookies = set(
        facts.loc[
            (facts["fact"] == "ambient_credentials") & (facts["kind"] == "cookie"),
            "function_slug",
        ]
    )
    callers = strong_callers(facts) | weak_internal(facts)
    callers |= set(facts.loc[facts["fact"] == "internal_check", "function_slug"])
    reported = open_service_functions(inp, facts)
    own = own_facts(inp, facts)
    answers_rows = set(own.loc[own["fact"] == "returns_rows", "function_slug"])
    for slug, group in cors.groupby("function_slug", sort=True):
        first = group.iloc[0]
        what = "*" if first["kind"] == "wildcard" else "any requesting origin"
        res, where = f"function:{slug}", code_location(first["path"], first["line"])
        if slug in cookies and (slug in privileged or slug in service):
            yield failed(
                res,
                f"{slug} reads cookies, acts with privilege and allows CORS from {what}: any "
                "web page can drive it with a visitor's session.",
                location=where,
            )
        elif slug in callers:
            yield passed(
                res,
                f"{slug} allows CORS from {what} but authenticates callers with a token, "
                "signature or secret that a cross-site page cannot send.",
                location=where,
            )
        elif slug in reported or slug in privileged:  # AUTH-NOJWT / AUTH-PRIVILEGED
            yield passed(
                res,
                f"{slug} allows CORS from {what}; its missing caller check is area 4's finding.",
                location=where,
            )
        elif slug in service and slug in answers_rows:
            yield warned(
                res,
                f"{slug} acts with the service role without checking the caller and allows "
                f"CORS from {what}: any web page can read what it answers.",
                location=where,
            )
        elif slug in service:
            yield passed(
                res,
                f"{slug} allows CORS from {what}; it answers no query rows (status, counts or "
                "timings only).",
                location=where,
            )
        else:
            yield passed(
                res, f"{slug} allows CORS from {what} but holds no privilege.", location=where
            )
    if cors.empty:
        yield passed("functions", "No function allows CORS from every origin.")
