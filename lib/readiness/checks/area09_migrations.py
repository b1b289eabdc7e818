"""Area 9 — migrations that `supabase db reset` cannot replay on an empty database (found by
replaying them as the CLI does on the scratch database of the schema source).

The CLI stops at the first failing statement, so that statement is the one finding; what
fails after it in the best-effort continuation is its evidence. Files the CLI skips, two
files sharing a version, statements that need a platform object the scratch server lacks
and versions that sort unexpectedly are reported on their own, once each."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

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

LISTED = 20  # evidence rows per finding


def _flag(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(False, index=df.index)
    return df[col].fillna(False).astype(bool)


def _where(rows: pd.DataFrame) -> list[str]:
    out = []
    for r in rows.head(LISTED).to_dict("records"):
        why = r.get("platform")
        out.append(f"{r['file']}:{r['line']}: {r['error']}" + (f" ({why})" if _set(why) else ""))
    return out


def _set(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _first_failure(m: pd.DataFrame, bad: pd.DataFrame, files: pd.DataFrame | None) -> Result:
    first = bad.iloc[0]
    later = bad.iloc[1:]
    # listed first: syntax errors, then what no object an earlier failure left out explains
    syntax = later["error"].fillna("").str.startswith("syntax error")
    own = later[~_flag(later, "caused") & ~syntax]
    blocked = (
        int((files["status"] == "not_applied").sum())
        if files is not None and "status" in files
        else len(set(m.loc[m.index > first.name, "file"]) - {first["file"]})
    )
    reason = (
        f"Statement {first['statement_no']} of {first['file']} fails on an empty database: "
        f"{first['error']}. `supabase db reset` stops here"
        + (f": {blocked} later migration file(s) are never applied." if blocked else ".")
    )
    if len(later):
        reason += (
            f" {len(later)} later statement(s) also fail in a best-effort continuation"
            f" ({int(syntax.sum())} syntax error(s), {len(own)} other(s) not explained by an"
            " object an earlier failure left out)."
        )
    return failed(
        f"migration:{first['file']}#{first['statement_no']}",
        reason,
        location=f"{first['file']}:{first['line']}",
        evidence={
            "statement": str(first["statement"])[:300],
            "files_not_applied": blocked,
            "later_failures": len(later),
            "later": _where(
                pd.concat([later[syntax], own, later[_flag(later, "caused") & ~syntax]])
            ),
        },
    )


def _file_findings(files: pd.DataFrame) -> Iterator[Result]:
    skipped = files[files["status"] == "skipped"]
    if len(skipped):
        names = list(skipped["file"])
        yield warned(
            "migrations:skipped",
            f"{len(names)} .sql file(s) in the migrations folder are never applied by the "
            "Supabase CLI: their names do not match <timestamp>_name.sql, so `supabase db "
            "reset` skips them and nothing they create exists.",
            location=f"{names[0]}:1",
            evidence={"files": names},
        )
    notes = files[files["note"].notna()]
    if len(notes):
        yield informed(
            "migrations:order",
            "Some versions sort somewhere their author may not expect: "
            + "; ".join(f"{r.file}: {r.note}" for r in notes.head(5).itertuples()),
            location=f"{notes.iloc[0]['file']}:1",
            evidence={"files": [f"{r.file}: {r.note}" for r in notes.head(LISTED).itertuples()]},
        )


@check(
    id="CODE-MIGRATIONS-REPLAY",
    area=9,
    severity=Severity.HIGH,
    title="Migrations replay in order on an empty database",
    sources=["schema"],
    tables=["schema_info", "schema_migrations"],
    optional_tables=["schema_migration_files"],
    rationale="A migration that fails on a fresh database means a new environment (or a "
    "disaster recovery) cannot be built from the repo, and production has drifted from it.",
    remediation="Fix the statement (or the order of the files) so `supabase db reset` works.",
)
def migrations_replay(inp: CheckInput) -> Iterator[Result]:
    info = inp["schema_info"]
    if info.empty or info.iloc[0]["mode"] != "migrations":
        yield informed("migrations", "The schema was read live: migrations were not replayed.")
        return
    m = inp["schema_migrations"].reset_index(drop=True)
    files = inp.tables.get("schema_migration_files")
    if files is not None:
        yield from _file_findings(files)
    failing = m[~m["ok"].fillna(True).astype(bool)]
    compat = failing[_flag(failing, "compat") & ~_flag(failing, "cascade")]
    bad = failing[~_flag(failing, "compat") | _flag(failing, "cascade")]
    if len(compat):
        first = compat.iloc[0]
        yield unverified(
            "migrations:platform",
            f"{len(compat)} statement(s) could not be verified: they need what hosted Supabase "
            f"has and the scratch database lacks (first: {first['file']}:{first['line']}: "
            f"{first['error']}).",
            location=f"{first['file']}:{first['line']}",
            evidence={"statements": _where(compat)},
        )
    if len(bad):
        yield _first_failure(m, bad, files)
    else:
        yield passed(
            "migrations",
            f"All {len(m)} statements of {info.iloc[0]['migration_files']} files apply"
            + (f" ({len(compat)} not verifiable here)." if len(compat) else "."),
        )
