"""Area 6 — error handling and logging in the Edge Functions (static facts)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

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
from readiness.checks.webhook_provision import provisioning_results
from readiness.findings import Location, Severity, Status

FAILURE_STATUSES = frozenset({"error", "failed", "provision_failed", "provisioning_failed"})


def server_side(df: pd.DataFrame) -> pd.DataFrame:
    """Rows from Edge Function code (a function's files, or `supabase/functions/_shared`)."""
    return df[df["function_slug"].notna() | df["path"].str.contains("supabase/functions/")]


@check(
    id="ERR-HANDLER-TRY",
    area=6,
    severity=Severity.HIGH,
    title="Each function's handler catches errors and answers JSON with a non-2xx status",
    sources=["codebase"],
    tables=["code_functions", "code_handlers"],
    optional_tables=["code_files"],
    rationale="An uncaught exception gives the caller an HTML 500 with no body it can show, and "
    "nothing the team can search in the logs.",
    remediation="Wrap the handler body in try/catch; in the catch, log the error and return "
    "JSON `{error}` with status 500 (or the right 4xx).",
)
def handler_try(inp: CheckInput) -> Iterator[Result]:
    handlers = inp["code_handlers"]
    files = inp.tables.get("code_files")
    unparsed = (
        set(files.loc[files["parse_ok"].fillna(True).eq(False), "path"])
        if files is not None and "parse_ok" in files
        else set()
    )
    for fn in inp["code_functions"].itertuples():
        if pd.isna(fn.path):
            continue  # a function named in config.toml without code: Areas 4/7 report it
        res = f"function:{fn.slug}"
        mine = handlers[(handlers["function_slug"] == fn.slug) & (handlers["path"] == fn.path)]
        if mine.empty and fn.path in unparsed:
            yield unverified(res, f"{fn.path} could not be parsed: its handler is unknown.")
            continue
        if mine.empty:
            yield warned(
                res, f"No request handler (Deno.serve/serve/export default) found in {fn.path}."
            )
            continue
        h = mine.iloc[0]
        loc = code_location(h["path"], h["line"])
        status = h["catch_status"]
        if not bool(h["has_try"]):
            yield failed(
                res, f"The {fn.slug} handler has no try/catch around its body.", location=loc
            )
        elif pd.isna(status) or int(status) < 400:
            yield failed(
                res,
                f"The {fn.slug} handler's catch answers "
                f"{'no response' if pd.isna(status) else status}"
                " instead of an error status.",
                location=code_location(h["path"], h["catch_line"]),
            )
        elif not bool(h["catch_json"]) if pd.notna(h["catch_json"]) else True:
            yield warned(
                res, f"The {fn.slug} catch answers {status} but not as JSON.", location=loc
            )
        else:
            yield passed(
                res,
                f"The {fn.slug} handler catches errors and answers JSON {status}.",
                location=loc,
            )


SHIPPED = ("function", "shared", "frontend", "server")


def _flag(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column].fillna(False).astype(bool) if column in df else pd.Series(False, df.index)


@check(
    id="ERR-EMPTY-CATCH",
    area=6,
    severity=Severity.HIGH,
    title="No empty catch blocks",
    sources=["codebase"],
    tables=["code_catches", "code_files"],
    rationale="An empty catch hides the failure: the code goes on as if it worked and nobody "
    "ever learns why an order stalled.",
    remediation="Log the error and either rethrow it or answer/return an error. A deliberate "
    "ignore says why in a comment inside the catch.",
)
def empty_catch(inp: CheckInput) -> Iterator[Result]:
    files = inp["code_files"]
    shipped = set(files.loc[files["kind"].isin(SHIPPED), "path"])
    catches = inp["code_catches"].drop_duplicates(["path", "line"])
    catches = catches[catches["path"].isin(shipped)]
    empty = catches[_flag(catches, "empty")]
    # the @supabase/ssr setAll cookie write is meant to throw in Server Components; a
    # comment inside says the ignore is deliberate: not a finding in the browser or around
    # local code, a low "review" where a function awaits a service that may fail for
    # another reason than the one the comment expects (a panel outage read as "no user")
    idiom = empty["idiom"].notna() | _flag(empty, "parse_fallback")
    noted = _flag(empty, "commented") & ~idiom
    in_function = empty.index.isin(server_side(empty).index)
    review = empty[noted & _flag(empty, "guards_async") & in_function]
    silent = empty[~noted & ~idiom]
    for path, group in silent.sort_values(["path", "line"]).groupby("path", sort=True):
        lines = [int(v) for v in group["line"]]
        yield failed(
            f"catch:{path}",
            f"{_count(lines, 'empty catch')} with no comment: the error is swallowed "
            f"({_lines(lines)}).",
            location=code_location(path, lines[0]),
            evidence={"lines": lines},
            locations=_catch_locations(path, lines, "Empty catch with no comment.", Status.FAIL),
        )
    for path, group in review.sort_values(["path", "line"]).groupby("path", sort=True):
        lines = [int(v) for v in group["line"]]
        yield warned(
            f"catch-commented:{path}",
            f"{_count(lines, 'commented empty catch')} around a service call ({_lines(lines)}): "
            "check the ignore covers only the failure the comment expects.",
            location=code_location(path, lines[0]),
            evidence={"lines": lines},
            severity=Severity.LOW,
            locations=_catch_locations(
                path, lines, "Commented empty catch around a service call.", Status.WARN
            ),
        )
    if silent.empty and review.empty:
        yield passed(
            "catches",
            f"None of {len(catches)} catch blocks is silently empty "
            f"({int(noted.sum() + idiom.sum())} deliberate ignore(s) say why).",
        )


def _catch_locations(path: str, lines: list[int], why: str, status: Status) -> list[Location]:
    """Each catch by its own `catch:path:line`, the resource ERR-CATCH-LOGS names it by."""
    return [Location(f"catch:{path}:{n}", why, status, code_location(path, n)) for n in lines]


def _count(lines: list[int], what: str) -> str:
    return f"{len(lines)} {what}{'es' if len(lines) > 1 else ''}"


def _lines(lines: list[int]) -> str:
    return f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"


@check(
    id="ERR-CATCH-LOGS",
    area=6,
    severity=Severity.MEDIUM,
    title="Catch blocks in functions log the error (or rethrow it)",
    sources=["codebase"],
    tables=["code_catches"],
    rationale="Edge Function logs are the only trace of a failed payment or provisioning; a "
    "catch that neither logs nor rethrows leaves none.",
    remediation="console.error(...) the error (with the order or event id) in the catch.",
)
def catch_logs(inp: CheckInput) -> Iterator[Result]:
    catches = server_side(inp["code_catches"]).drop_duplicates(["path", "line"])
    traced = (
        _flag(catches, "logs")
        | _flag(catches, "rethrows")
        | _flag(catches, "logs_via_helper")  # e.g. buildErrorResponse() console.errors
    )
    # a body-parse fallback (`await req.json()` → default {}) or a commented ignore of
    # local code is not a failure anybody needs to trace;
    # a catch around synchronous local code (JSON.parse(atob(…)), a date format, new URL)
    # that falls back to a value is not the trace of a failed payment either
    local = ~_flag(catches, "guards_async") & catches["status"].isna()
    deliberate = _flag(catches, "parse_fallback") | (
        local & (_flag(catches, "commented") | _flag(catches, "returns"))
    )
    silent = catches[~traced & ~deliberate]
    # the empty catches ERR-EMPTY-CATCH fails (no comment, no known idiom); a commented
    # one it only asks to review needs logging like the file's other silent catches
    idiom = silent["idiom"].notna() if "idiom" in silent else _flag(silent, "idiom")
    empty = _flag(silent, "empty") & ~_flag(silent, "commented") & ~idiom
    for row, is_empty in zip(silent.itertuples(), empty, strict=True):
        res = f"catch:{row.path}:{row.line}"
        yield failed(
            res,
            "This catch neither logs nor rethrows the error.",
            location=code_location(row.path, row.line),
            # an empty catch is ERR-EMPTY-CATCH's problem; the other silent catches of a
            # file are one problem: add logging there
            problem=res if is_empty else f"catch-logs:{row.path}",
            cause=("ERR-EMPTY-CATCH", res) if is_empty else None,
        )
    if silent.empty:
        yield passed("catches", f"All {len(catches)} catch blocks in functions log or rethrow.")


def provisioning_slugs(inp: CheckInput) -> list[str]:
    writes = inp["code_status_writes"]
    slugs = set(
        writes.loc[writes["value"].isin(["provisioned", "provisioning"]), "function_slug"].dropna()
    )
    slugs |= {s for s in inp["code_functions"]["slug"] if "provision" in str(s)}
    return sorted(slugs)


@check(
    id="ERR-PROVISION-ERROR-STATUS",
    area=6,
    severity=Severity.HIGH,
    title="Provisioning failures move the order to 'error'",
    sources=["codebase"],
    tables=["code_functions", "code_handlers", "code_status_writes"],
    rationale="An order left in 'provisioning' after a crash looks in progress forever: the "
    "customer paid, support never hears of it, and nothing retries it.",
    remediation="In the provisioning handler's catch (and every failure branch), set the order's "
    "status to 'error' with the message before answering.",
)
def provision_error(inp: CheckInput) -> Iterator[Result]:
    handlers, writes = inp["code_handlers"], inp["code_status_writes"]
    slugs = provisioning_slugs(inp)
    for slug in slugs:
        mine = handlers[handlers["function_slug"] == slug]
        statuses = set(writes.loc[writes["function_slug"] == slug, "value"].dropna())
        caught = {v for s in mine["catch_writes_status"].dropna() for v in str(s).split(",")}
        loc = (
            code_location(mine.iloc[0]["path"], mine.iloc[0]["catch_line"])
            if not mine.empty
            else None
        )
        if not statuses & FAILURE_STATUSES:
            yield failed(
                f"function:{slug}", f"{slug} never sets a failure status on an order.", location=loc
            )
        elif mine.empty or not bool(mine.iloc[0]["has_try"]) or not caught & FAILURE_STATUSES:
            yield failed(
                f"function:{slug}",
                f"{slug}'s catch does not move the order to an error status: a crash leaves it "
                "stuck.",
                location=loc,
            )
        else:
            yield passed(
                f"function:{slug}",
                f"{slug} marks the order '{sorted(caught & FAILURE_STATUSES)[0]}' when it fails.",
                location=loc,
            )
    if not slugs:
        yield passed("provisioning", "No provisioning function found in the code.")


@check(
    id="ERR-WEBHOOK-NON2XX",
    area=6,
    severity=Severity.CRITICAL,
    title="The webhook answers non-2xx when it could not record or provision the order",
    sources=["codebase"],
    tables=["code_functions", "code_write_errors", "code_handlers"],
    optional_tables=["code_provision_errors", "code_scheduled_calls"],
    rationale="Stripe retries only non-2xx answers: a webhook that answers 200 after a failed "
    "insert, or after provisioning failed, loses the order for good — money taken, nothing "
    "delivered.",
    remediation="When the insert returns an error or provisioning answers non-ok, throw (and "
    "answer 500 from the catch) so Stripe retries the event; or hand the order to a "
    "scheduled job that provisions it again.",
)
def webhook_non2xx(inp: CheckInput) -> Iterator[Result]:
    fns = inp["code_functions"]
    hooks = fns[fns["is_stripe_webhook"].fillna(False).astype(bool)]["slug"]
    errors, handlers = inp["code_write_errors"], inp["code_handlers"]
    for slug in hooks:
        res = f"function:{slug}"
        mine = errors[
            (errors["function_slug"] == slug) & errors["method"].isin(["insert", "upsert"])
        ]
        handler = handlers[handlers["function_slug"] == slug]
        catch_status = handler.iloc[0]["catch_status"] if not handler.empty else pd.NA
        has_try = bool(handler.iloc[0]["has_try"]) if not handler.empty else False
        rethrows = handler.iloc[0].get("catch_rethrows") if not handler.empty else None
        if has_try and isinstance(rethrows, bool | np.bool_) and rethrows:
            has_try = False  # the catch throws on: the runtime or the wrapper answers 500
        bad, unsure = [], []
        for row in mine.sort_values("line").itertuples():
            if row.on_error == "throw":
                if has_try and pd.isna(catch_status):
                    unsure.append((row, "the error is thrown to a catch whose answer is unknown"))
                elif has_try and int(catch_status) < 400:
                    bad.append(
                        (row, f"the error is thrown but the handler's catch answers {catch_status}")
                    )
            elif row.on_error == "respond":
                if pd.isna(row.status):
                    unsure.append((row, "it answers with a response whose status is unknown"))
                elif int(row.status) < 400:
                    bad.append((row, f"it answers {row.status}"))
            elif row.on_error == "returned":
                continue  # the caller gets the { error } result and decides
            else:
                how = {"return_value": "swallowed (returned as a value)", "log_only": "only logged"}
                bad.append((row, f"the error is {how.get(row.on_error, row.on_error)}"))
        # one root (the webhook answers 2xx after a failed write): one finding, every site
        sites = [
            {"path": r.path, "line": int(r.line), "table": r.table, "method": r.method, "why": w}
            for r, w in bad + unsure
        ]
        if bad:
            row, why = bad[0]
            more = f" ({len(bad) - 1} more write(s) alike)" if len(bad) > 1 else ""
            yield failed(
                res,
                f"When the {row.table} {row.method} fails in {slug}, {why}{more}: Stripe gets "
                "2xx and never retries.",
                location=code_location(row.path, row.line),
                evidence={"writes": sites},
            )
        elif unsure:
            row, why = unsure[0]
            yield warned(
                res,
                f"When the {row.table} {row.method} fails in {slug}, {why}: check that Stripe "
                "gets a non-2xx answer.",
                location=code_location(row.path, row.line),
                evidence={"writes": sites},
            )
        else:
            yield passed(
                res,
                f"{slug} answers an error status when recording the order fails "
                f"({len(mine)} write(s)).",
            )
        yield from provisioning_results(inp, slug)
    if hooks.empty:
        yield passed("webhook", "No Stripe webhook function in the code.")
