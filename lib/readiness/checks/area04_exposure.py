"""Area 4 — exposure outside the functions: secret keys in the browser bundle or public
env files, and the issues Supabase's own security advisor reports on the deployed project."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    informed,
    passed,
    require_columns,
    unverified,
    warned,
)
from readiness.findings import Severity

PUBLIC_ENV_PREFIXES = (
    "VITE_",
    "NEXT_PUBLIC_",
    "PUBLIC_",
    "REACT_APP_",
    "EXPO_PUBLIC_",
    "NUXT_PUBLIC_",
    "GATSBY_",
)
SECRET_ENV = re.compile(
    r"SERVICE_ROLE|SERVICE_KEY|SECRET|PRIVATE|STRIPE_(SK|RK)\b|"
    r"PANEL_KEY|PTERODACTYL_(API_)?KEY|WEBHOOK_SECRET",
    re.I,
)


def browser_secret(name: str) -> bool:
    """A secret-looking name the bundler inlines (a public prefix): a key the browser gets.
    Any other name reads as undefined in the browser, so nothing leaks from it."""
    return (
        bool(SECRET_ENV.search(name))
        and "PUBLISHABLE" not in name.upper()
        and name.startswith(PUBLIC_ENV_PREFIXES)
    )


@check(
    id="AUTH-FRONTEND-KEYS",
    area=4,
    severity=Severity.CRITICAL,
    title="No service-role or secret key in frontend code or public env files",
    sources=["codebase"],
    tables=[
        "code_files",
        "code_env_reads",
        "code_env_file_entries",
        "code_secrets",
        "code_unscanned",
    ],
    rationale="Everything the browser bundle or a VITE_/NEXT_PUBLIC_ variable holds is "
    "public; a service-role key there gives anyone full database access.",
    remediation="Remove the key from the frontend, rotate it, and do the privileged work in "
    "an Edge Function. Only the anon key and the Stripe publishable key belong in the browser.",
)
def frontend_keys(inp: CheckInput) -> Iterator[Result]:
    files = require_columns(inp["code_files"], "code_files", ["path", "kind"])
    frontend = set(files.loc[files["kind"] == "frontend", "path"])
    problems: dict[str, list[tuple[int, str]]] = {}
    reads = inp["code_env_reads"]
    for row in reads[reads["path"].isin(frontend)].itertuples():
        name = str(row.name)
        # the bundler inlines only public-prefixed names (VITE_, NEXT_PUBLIC_, …)
        if browser_secret(name):
            problems.setdefault(row.path, []).append((row.line, f"reads {name}"))
    for row in inp["code_env_file_entries"].itertuples():
        name = str(row.name)
        if browser_secret(name):
            problems.setdefault(row.path, []).append((row.line, f"exposes {name} to the browser"))
    secrets = inp["code_secrets"]
    public = frontend | set(files.loc[files["kind"] == "env", "path"])
    for row in secrets[secrets["path"].isin(public)].itertuples():
        if (not pd.isna(row.role) and row.role == "service_role") or str(row.kind).startswith(
            ("stripe-secret", "stripe-restricted", "pterodactyl")
        ):
            what = f"a {row.kind}" if pd.isna(row.role) else f"a {row.role} JWT"
            problems.setdefault(row.path, []).append((row.line, f"holds {what}"))
    for path in sorted(problems):
        items = sorted(problems[path])
        yield failed(
            f"file:{path}",
            f"{path} {'; '.join(w for _, w in items)}.",
            location=code_location(path, items[0][0]),
        )
    unscanned = require_columns(inp["code_unscanned"], "code_unscanned", ["path", "reason"])
    blind = unscanned[unscanned["path"].isin(public) & ~unscanned["path"].isin(problems)]
    for row in blind.sort_values("path").itertuples():
        yield unverified(
            f"file:{row.path}",
            f"{row.path} is served to the browser or an env file and was not scanned for "
            f"keys: {row.reason}.",
            location=str(row.path),
        )
    if not problems and blind.empty:
        yield passed(
            "frontend",
            f"{len(frontend)} frontend file(s) and the env files hold no "
            "service-role or secret key.",
        )


@check(
    id="AUTH-ADVISORS",
    area=4,
    severity=Severity.HIGH,
    title="Supabase security advisor reports no open issue",
    sources=["supabase_api"],
    tables=["supabase_advisors"],
    rationale="Supabase's own linter sees the deployed project (auth settings, exposed "
    "views, RLS) — things the repository may not show.",
    remediation="Follow each lint's remediation link in the Supabase dashboard (Advisors).",
)
def advisors(inp: CheckInput) -> Iterator[Result]:
    lints = require_columns(
        inp["supabase_advisors"], "supabase_advisors", ["name", "title", "level", "cache_key"]
    )
    for row in lints.itertuples():
        res = f"advisor:{row.cache_key if not pd.isna(row.cache_key) else row.name}"
        reason = f"{row.level}: {row.title} ({row.name})."
        level = str(row.level).upper()
        if level == "ERROR":
            yield failed(res, reason)
        elif level == "WARN":
            yield warned(res, reason)
        else:
            yield informed(res, reason)
    if lints.empty:
        yield passed("advisors", "The security advisor reports nothing.")
