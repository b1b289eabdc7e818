"""Area 6 — a call between functions that can never succeed: the caller's body lacks a
key the called function requires, so every call is answered 4xx (issue 16, attack paths
across functions: a retry job that sends `order_id` to a function that requires
`orderId` retries nothing, and the orders it should rescue stay unprovisioned).

Facts: `code_function_calls` (rules/function_calls.py, rules/sql_calls.py: code, pg_cron
and `net.http_post` callers with the keys of a literal body) and `code_function_body_keys`
(the keys each function reads and the 4xx it answers when one is missing). A body the
rules cannot follow (a variable, a spread, `to_jsonb(new)`) and a key read with a
fallback (`body.orderId ?? body.order_id`, a default) are never a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, informed, passed
from readiness.findings import Severity

# what a failed call leaves undone for good: a server not built, a payment not recorded
MONEY_TARGET = re.compile(
    r"provision|fulfil|deploy|install|server|instance|checkout|payment|pay|stripe|invoice|"
    r"refund|order|subscription|billing",
    re.I,
)
RETRY_CALLER = re.compile(r"retry|retries|requeue|reprocess|recover|rescue|stuck|sweep", re.I)


def _keys(value: object) -> set[str]:
    return {k for k in str(value).split(",") if k} if isinstance(value, str) else set()


def _missing(sent: set[str], required: pd.DataFrame) -> list[pd.Series]:
    """The required reads none of whose accepted keys the caller sends."""
    out = []
    for _, row in required.iterrows():
        if not ({str(row["key"])} | _keys(row["alternatives"])) & sent:
            out.append(row)
    return out


def _critical(call: pd.Series) -> bool:
    """A scheduled or retry caller of provisioning or payment: the only second chance a
    failed purchase gets is the one that always fails."""
    retry = bool(call["scheduled"]) if pd.notna(call["scheduled"]) else False
    retry = retry or bool(RETRY_CALLER.search(str(call["caller"])))
    return retry and bool(MONEY_TARGET.search(str(call["target"])))


def _answer(row: pd.Series) -> str:
    if row["answer"] == "throw":
        return "throws (the runtime answers 500)"
    return f"answers {int(row['status'])}" if pd.notna(row["status"]) else "answers an error"


@check(
    id="ERR-PATH-CALL-BODY-KEYS",
    area=6,
    severity=Severity.CRITICAL,
    title="Function-to-function calls send every body key the called function requires",
    sources=["codebase"],
    tables=["code_function_calls", "code_function_body_keys"],
    rationale="A caller that names a key differently from the function it calls "
    "(`order_id` against `orderId`) is answered 400 on every call. When that caller is the "
    "retry or the scheduler of provisioning or payment, the second chance of every failed "
    "purchase fails too, quietly: the job runs, the orders it should rescue stay stuck.",
    remediation="Send the key the function reads (or make the function accept both names, "
    "`body.orderId ?? body.order_id`), and test the job against the function it calls.",
)
def call_body_keys(inp: CheckInput) -> Iterator[Result]:
    calls = inp["code_function_calls"]
    reads = inp["code_function_body_keys"]
    required = reads[reads["required"].fillna(False).astype(bool)]
    known = calls[calls["body_keys"].notna()]
    if known.empty:
        # nothing to compare: no call whose body the rules could read is no evidence
        yield informed(
            "calls:body-keys",
            f"No function call with a body the rules can follow was found "
            f"({len(calls)} call(s) in all), so no call was compared with what its target "
            "requires.",
        )
        return
    found = 0
    for _, call in known.sort_values(["path", "line"]).iterrows():
        target = str(call["target"])
        needs = required[required["function_slug"] == target]
        if needs.empty:
            continue
        sent = _keys(call["body_keys"])
        missing = _missing(sent, needs)
        if not missing:
            continue
        found += 1
        keys = sorted({str(r["key"]) for r in missing})
        first = missing[0]
        body = ", ".join(sorted(sent)) if sent else "no body"
        caller = str(call["caller"])
        steps = [
            Step(
                f"{caller} calls {target} ({call['via']}) sending {{{body}}}",
                code_location(call["path"], call["line"]),
                f"call:{caller}->{target}",
            ),
            Step(
                f"{target} reads {first['key']} from the request body"
                + (f" (or {first['alternatives']})" if pd.notna(first["alternatives"]) else ""),
                code_location(first["path"], first["line"]),
                f"body-key:{target}.{first['key']}",
            ),
            Step(
                f"and when it is missing {_answer(first)}",
                code_location(first["path"], first["fail_line"]),
                f"function:{target}",
            ),
        ]
        critical = _critical(call)
        why = (
            "this is the retry of a purchase, so the orders it should rescue stay stuck"
            if critical
            else "so this call never succeeds"
        )
        yield attack_path(
            f"call:{call['path']}:{int(call['line'])}->{target}",
            f"{caller} calls {target} without {', '.join(keys)}, which {target} requires: "
            f"every call is refused ({_answer(first)}); {why}.",
            steps,
            severity=Severity.CRITICAL if critical else Severity.HIGH,
            evidence={
                "sent": sorted(sent),
                "missing": keys,
                "accepted": {str(r["key"]): sorted(_keys(r["alternatives"])) for r in missing},
                "scheduled": bool(call["scheduled"]) if pd.notna(call["scheduled"]) else False,
            },
        )
    if not found:
        yield passed(
            "calls:body-keys",
            f"{len(known)} function call(s) with a followable body send every key the called "
            "function requires.",
        )
