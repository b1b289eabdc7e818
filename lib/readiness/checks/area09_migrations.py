"""Area 9 — migrations that cannot replay in order on an empty database (found by applying
them to the scratch database of the schema source)."""

from __future__ import annotations

from collections.abc import Iterator

from readiness.checks.registry import CheckInput, Result, check, failed, informed, passed
from readiness.findings import Severity


@check(
    id="CODE-MIGRATIONS-REPLAY",
    area=9,
    severity=Severity.HIGH,
    title="Migrations replay in order on an empty database",
    sources=["schema"],
    tables=["schema_info", "schema_migrations"],
    rationale="A migration that fails on a fresh database means a new environment (or a "
    "disaster recovery) cannot be built from the repo, and production has drifted from it.",
    remediation="Fix the statement (or the order of the files) so `supabase db reset` works.",
)
def migrations_replay(inp: CheckInput) -> Iterator[Result]:
    info = inp["schema_info"]
    if info.empty or info.iloc[0]["mode"] != "migrations":
        yield informed("migrations", "The schema was read live: migrations were not replayed.")
        return
    m = inp["schema_migrations"]
    bad = m[~m["ok"].fillna(True).astype(bool)]
    for row in bad.itertuples():
        res = f"migration:{row.file}#{row.statement_no}"
        loc = f"{row.file}:{row.line}"
        if bool(row.compat):
            yield informed(res, f"Skipped in the scratch database: {row.error}", location=loc)
        else:
            yield failed(
                res,
                f"Statement {row.statement_no} of {row.file} fails on an empty database: "
                f"{row.error}",
                location=loc,
                evidence={"statement": str(row.statement)[:300]},
            )
    if bad.empty:
        yield passed(
            "migrations",
            f"All {len(m)} statements of {info.iloc[0]['migration_files']} files apply.",
        )
