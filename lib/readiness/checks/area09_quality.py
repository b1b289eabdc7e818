"""Area 9 — code quality: what would stop a build or mislead the next person to touch it.

Error-handling patterns are judged in Area 6; migrations that cannot replay come from
the schema source. Here: placeholders, missing imports, undefined names, duplicate and
dead functions, `any`-heavy files, and config.toml versus the function folders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    require_columns,
    warned,
)
from readiness.findings import Location, Severity, Status

ANY_WARN = 5  # `any` annotations in one file before it counts as any-heavy
MIN_DUPLICATE_CHARS = 80  # normalised body size below which copies are trivial


@check(
    id="QUALITY-PLACEHOLDERS",
    area=9,
    severity=Severity.HIGH,
    title="No placeholders or TODOs in shipped code and migrations",
    sources=["codebase"],
    tables=["code_placeholders"],
    rationale="A placeholder value ships as data (REPLACE_ME price ids, 'your-key'); a TODO "
    "in a payment or auth path marks work that was never finished.",
    remediation="Replace the placeholder with the real value (from config or the database); "
    "finish or ticket each TODO and remove it from shipped code.",
)
def placeholders(inp: CheckInput) -> Iterator[Result]:
    rows = require_columns(
        inp["code_placeholders"], "code_placeholders", ["path", "line", "kind", "text"]
    )
    for path, group in rows.sort_values(["path", "line"]).groupby("path", sort=True):
        first = group.iloc[0]
        values = group[group["kind"] == "placeholder"]
        todos = group[group["kind"] == "todo"]
        summary = "; ".join(f"{r.line}: {r.text}" for r in group.head(5).itertuples())
        if not values.empty:
            yield failed(
                f"file:{path}",
                f"{path} ships {len(values)} placeholder value(s) and "
                f"{len(todos)} TODO(s) — {summary}",
                location=code_location(path, values.iloc[0]["line"]),
            )
        else:
            yield warned(
                f"file:{path}",
                f"{path} has {len(todos)} TODO/FIXME comment(s) — {summary}",
                location=code_location(path, first["line"]),
                severity=Severity.MEDIUM,
            )
    if rows.empty:
        yield passed("code", "No placeholder or TODO in shipped code or migrations.")


@check(
    id="QUALITY-MISSING-IMPORTS",
    area=9,
    severity=Severity.HIGH,
    title="Every relative import points at a file that exists",
    sources=["codebase"],
    tables=["code_imports"],
    optional_tables=["code_files"],
    rationale="A relative import of a missing file fails the deploy (or the bundle): the "
    "function in the repository is not the one running.",
    remediation="Add the missing module or fix the path; run `deno check` in CI.",
)
def missing_imports(inp: CheckInput) -> Iterator[Result]:
    imports = require_columns(
        inp["code_imports"],
        "code_imports",
        ["path", "line", "specifier", "is_relative", "resolved"],
    )
    files = inp.tables.get("code_files")
    if files is not None and "kind" in files:
        # a file no entry of the app reaches is not bundled (see static/reach.py)
        unused = set(files.loc[files["kind"] == "unused", "path"])
        imports = imports[~imports["path"].isin(unused)]
    relative = imports[imports["is_relative"].fillna(False).astype(bool)]
    missing = relative[~relative["resolved"].fillna(False).astype(bool)]
    for path, group in missing.sort_values(["path", "line"]).groupby("path", sort=True):
        specs = [f"{r.specifier} (line {r.line})" for r in group.itertuples()]
        yield failed(
            f"imports:{path}",
            f"{path} imports {len(specs)} file(s) that do not exist: {', '.join(specs[:5])}"
            + (f" and {len(specs) - 5} more." if len(specs) > 5 else "."),
            location=code_location(path, group.iloc[0]["line"]),
            evidence={"missing": [str(s) for s in group["specifier"]]},
        )
    if missing.empty:
        yield passed("imports", f"All {len(relative)} relative import(s) resolve.")


@check(
    id="QUALITY-UNDEFINED-IDENTIFIERS",
    area=9,
    severity=Severity.HIGH,
    title="No variable is used without being defined",
    sources=["codebase"],
    tables=["code_undefined_identifiers"],
    rationale="A name nothing defines throws a ReferenceError at run time, usually on the "
    "path nobody tested (an error branch, a retry).",
    remediation="Define or import the name; enable `deno check` / `tsc --noEmit` in CI.",
)
def undefined_identifiers(inp: CheckInput) -> Iterator[Result]:
    rows = require_columns(
        inp["code_undefined_identifiers"], "code_undefined_identifiers", ["path", "line", "name"]
    )
    for row in rows.itertuples():
        yield failed(
            f"identifier:{row.path}:{row.name}",
            f"{row.name} is used in {row.path} but never defined or imported.",
            location=code_location(row.path, row.line),
        )
    if rows.empty:
        yield passed("code", "Every identifier used is defined, imported or a known global.")


@check(
    id="QUALITY-DUPLICATE-FUNCTIONS",
    area=9,
    severity=Severity.LOW,
    title="No duplicated functions",
    sources=["codebase"],
    tables=["code_function_defs"],
    rationale="Copies drift: a fix (a timeout, an auth header) lands in one and not the other.",
    remediation="Move the function to supabase/functions/_shared/ and import it.",
)
def duplicate_functions(inp: CheckInput) -> Iterator[Result]:
    defs = require_columns(
        inp["code_function_defs"],
        "code_function_defs",
        ["path", "line", "name", "body_hash", "body_size"],
    )
    big = defs[defs["body_size"] >= MIN_DUPLICATE_CHARS]
    dupes = big[big.duplicated("body_hash", keep=False)]
    for _, group in dupes.sort_values(["path", "line"]).groupby("body_hash", sort=False):
        first = group.iloc[0]
        places = [f"{r.path}:{r.line} ({r.name})" for r in group.itertuples()]
        yield warned(
            f"duplicate:{first['name']}@{first['path']}",
            f"The same function body appears {len(group)} times: {', '.join(places)}.",
            location=code_location(first["path"], first["line"]),
            problem="duplicates:code",  # one refactoring: share the copies
        )
    if dupes.empty:
        yield passed("code", f"No duplicated function among {len(big)} non-trivial ones.")


FUNCTION_FOLDER = re.compile(r"^supabase/functions/([^/_][^/]*)/")
# provisions (triggerProvisioning, provisionServer), not tears down (deprovision, unprovision)
PROVISION_NAME = re.compile(r"(?<!de)(?<!un)provision", re.IGNORECASE)


@check(
    id="QUALITY-DEAD-FUNCTIONS",
    area=9,
    severity=Severity.LOW,
    title="No dead functions",
    sources=["codebase"],
    tables=["code_function_defs"],
    rationale="A top-level function that nothing exports or calls is dead code that readers "
    "still have to understand (and often a sign the live path is elsewhere).",
    remediation="Delete it, or call it where it was meant to be used.",
)
def dead_functions(inp: CheckInput) -> Iterator[Result]:
    defs = require_columns(
        inp["code_function_defs"],
        "code_function_defs",
        ["path", "line", "name", "exported", "top_level", "referenced"],
    )
    dead = defs[
        defs["top_level"].fillna(False).astype(bool)
        & ~defs["exported"].fillna(False).astype(bool)
        & ~defs["referenced"].fillna(True).astype(bool)
    ]
    for row in dead.itertuples():
        folder = FUNCTION_FOLDER.match(str(row.path))
        # a provisioning helper the webhook no longer calls is why it never provisions
        cause = (
            ("FLOW-WEBHOOK-PROVISION", f"function:{folder[1]}")
            if folder and PROVISION_NAME.search(str(row.name))
            else None
        )
        yield warned(
            f"function-def:{row.path}:{row.name}",
            f"{row.name} in {row.path} is never called nor exported.",
            location=code_location(row.path, row.line),
            cause=cause,
        )
    if dead.empty:
        yield passed("code", "Every top-level function is used or exported.")


@check(
    id="QUALITY-ANY-TYPES",
    area=9,
    severity=Severity.LOW,
    title="Types are not `any`-heavy",
    sources=["codebase"],
    tables=["code_any_types"],
    rationale="`any` switches the type checker off: a renamed column or a missing field "
    "reaches production instead of failing the build.",
    remediation="Type the rows (`supabase gen types typescript`) and request bodies.",
)
def any_types(inp: CheckInput) -> Iterator[Result]:
    rows = require_columns(
        inp["code_any_types"], "code_any_types", ["path", "any_count", "first_line"]
    )
    heavy = rows[rows["any_count"] >= ANY_WARN]
    for row in heavy.sort_values("path").itertuples():
        yield warned(
            f"file:{row.path}",
            f"{row.path} has {int(row.any_count)} `any` annotations.",
            location=code_location(row.path, row.first_line),
            problem="any-types:code",  # one task: generate and use the types
        )
    if heavy.empty:
        total = int(rows["any_count"].sum()) if not rows.empty else 0
        yield passed("code", f"No file has {ANY_WARN}+ `any` annotations ({total} in total).")


@check(
    id="QUALITY-FUNCTION-FOLDERS",
    area=9,
    severity=Severity.MEDIUM,
    title="config.toml and the function folders list the same functions",
    sources=["codebase"],
    tables=["code_functions"],
    optional_tables=["code_files"],
    rationale="A function configured but without a folder fails `supabase functions deploy`; "
    "a folder missing from config.toml deploys with defaults (verify_jwt on) that nobody "
    "chose.",
    remediation="Add a [functions.<slug>] section for every folder, and remove sections of "
    "functions that no longer exist.",
)
def function_folders(inp: CheckInput) -> Iterator[Result]:
    """One finding per problem: every unconfigured folder in one, every section without
    code in another; a config.toml that does not parse is said once, never read as
    "no section" for each function."""
    fns = require_columns(inp["code_functions"], "code_functions", ["slug", "path", "in_config"])
    if fns.empty:
        yield passed("functions", "No functions to compare.")
        return
    files = inp.tables.get("code_files")
    broken = None
    if files is not None and "parse_ok" in files:
        is_config = files["path"].astype("string").str.endswith("supabase/config.toml")
        broken = files[is_config.fillna(False) & ~files["parse_ok"].fillna(True).astype(bool)]
    if fns["in_config"].isna().all():
        why = (
            f" ({broken.iloc[0]['parse_error']})" if broken is not None and not broken.empty else ""
        )
        yield warned(
            "config:supabase/config.toml",
            f"supabase/config.toml does not parse{why}: the Supabase CLI refuses it too, and "
            "which functions it configures is unknown.",
            location="supabase/config.toml",
        )
        return
    in_config = fns["in_config"].fillna(False).astype(bool)
    has_code = fns["path"].notna()
    orphans = fns[in_config & ~has_code]
    if not orphans.empty:
        slugs = ", ".join(orphans["slug"])
        yield failed(
            "config:sections-without-code",
            f"config.toml configures {len(orphans)} function(s) with no supabase/functions/"
            f"<slug>/ entry point: {slugs}.",
            location="supabase/config.toml",
            evidence={"functions": list(orphans["slug"])},
            locations=[
                Location(
                    f"function:{slug}",
                    f"[functions.{slug}] has no supabase/functions/{slug}/ entry point.",
                    Status.FAIL,
                    "supabase/config.toml",
                )
                for slug in orphans["slug"]
            ],
        )
    loose = fns[has_code & ~in_config]
    if not loose.empty:
        locations = [code_location(p, 1) for p in loose["path"]]
        shown = ", ".join(loose["slug"].head(10)) + (" …" if len(loose) > 10 else "")
        yield warned(
            "config:functions-without-section",
            f"{len(loose)} of {len(fns)} function(s) have no section in config.toml and deploy "
            f"with defaults: {shown}.",
            location=locations[0],
            evidence={"functions": list(loose["slug"]), "locations": locations},
            severity=Severity.LOW,
            locations=[
                Location(
                    f"function:{slug}",
                    f"{slug} has no [functions.{slug}] section.",
                    Status.WARN,
                    where,
                )
                for slug, where in zip(loose["slug"], locations, strict=True)
            ],
        )
    if orphans.empty and loose.empty:
        yield passed("functions", f"All {len(fns)} function(s) are configured and have code.")
