"""Area 1: the catalogue the migrations and seed.sql leave, answered without a database.

The seed's first question — are placeholder Stripe price ids left? — has a static
answer: replay every write to a plan-like table in the order `supabase db reset`
applies them (`static/rules/catalog_seed.py` extracts them) and look at the rows that
remain. ON CONFLICT DO NOTHING keeps the earlier row, DO UPDATE replaces what it sets,
an UPDATE changes the rows its equality filter matches (and is worth saying when it
matches none), DELETE/TRUNCATE/DROP empty. With the database on, STRIPE-PRICE-PLACEHOLDER
judges the live rows; this says what a fresh environment built from the repo would sell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from readiness.checks.area01_prices import placeholder_reason
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
from readiness.findings import Location, Severity, Status
from readiness.static.rules.catalog_seed import price_columns

KEY_COLUMNS = ("id", "slug", "code", "sku", "lookup_key", "key", "name")
LABEL_COLUMNS = ("name", "slug", "title", "code", "sku", "lookup_key", "id")
# names that are a catalogue or order table whatever their columns; any other table is
# one only when it has a price-id column
CATALOG_NAMES = frozenset(
    {
        "plans",
        "prices",
        "pricing",
        "products",
        "addons",
        "add_ons",
        "bundles",
        "packages",
        "tiers",
        "orders",
        "subscriptions",
        "purchases",
        "payments",
    }
)
COLUMNS = ["path", "line", "seq", "op", "table", "kind", "values", "where", "where_known"]


@dataclass
class SeededRow:
    values: dict[str, Any]
    where: dict[str, str]  # column -> path:line that last set it


@dataclass
class Replay:
    """What the writes leave per table, and what is worth telling along the way."""

    rows: dict[str, dict[Any, SeededRow]] = field(default_factory=dict)
    created_in: dict[str, str] = field(default_factory=dict)  # table -> file that made it
    columns: dict[str, set[str]] = field(default_factory=dict)
    unmatched_updates: list[dict] = field(default_factory=list)
    repriced: list[dict] = field(default_factory=list)
    destructive: list[dict] = field(default_factory=list)
    unknown: list[dict] = field(default_factory=list)


def _key(values: dict, conflict_cols: list[str], seq: int) -> Any:
    cols = conflict_cols or [c for c in KEY_COLUMNS if values.get(c) is not None][:1]
    if cols and all(values.get(c) is not None for c in cols):
        return tuple((c, values[c]) for c in cols)
    return ("#row", seq)  # no identity: every insert is its own row


def _matches(row: SeededRow, where: dict[str, list[str]] | None) -> bool:
    return where is None or all(
        str(row.values.get(col)) in {str(v) for v in vals} for col, vals in where.items()
    )


def _set(
    out: Replay, table: str, row: SeededRow, values: dict[str, Any], loc: str, key: Any
) -> None:
    for col, value in values.items():
        old = row.values.get(col)
        if price_columns([col]) and old not in (None, value) and value is not None:
            out.repriced.append(
                {
                    "table": table,
                    "row": _label(key, row),
                    "column": col,
                    "from": old,
                    "to": value,
                    "from_at": row.where.get(col),
                    "at": loc,
                }
            )
        row.values[col] = value
        row.where[col] = loc


def _label(key: Any, row: SeededRow | None = None) -> str:
    """What a reader calls the row: its name or slug when it has one, else its key."""
    if row is not None:
        for col in LABEL_COLUMNS:
            if row.values.get(col) not in (None, ""):
                return f"{col}={row.values[col]}"
    if isinstance(key, tuple) and key and key[0] == "#row":
        return f"row {key[1]}"
    return ", ".join(f"{c}={v}" for c, v in key)


def is_catalog_table(table: str, columns: set[str]) -> bool:
    return table.split(".")[-1].lower() in CATALOG_NAMES or bool(price_columns(list(columns)))


def replay(writes: pd.DataFrame) -> Replay:
    """Apply the catalogue writes in order; pure, so every check shares one result."""
    out = Replay()
    for w in writes.sort_values("seq").itertuples():
        table, loc = (w.table if isinstance(w.table, str) else "?"), f"{w.path}:{int(w.line)}"
        conflict = w.conflict if isinstance(w.conflict, str) else None
        known = not pd.isna(w.where_known) and bool(w.where_known)
        rows = out.rows.setdefault(table, {})
        values = json.loads(w.values) if isinstance(w.values, str) else {}
        out.columns.setdefault(table, set()).update(values)
        if w.op == "unparsed":
            out.unknown.append({"table": None, "at": loc})
            continue
        if w.op == "create":
            out.created_in.setdefault(table, w.path)
            continue
        if w.op == "insert":
            cols = json.loads(w.conflict_cols) if isinstance(w.conflict_cols, str) else []
            key = _key(values, cols, int(w.seq))
            if key in rows and conflict == "nothing":
                continue
            if key in rows and conflict == "update":
                sets = json.loads(w.conflict_set) if isinstance(w.conflict_set, str) else {}
                resolved = {
                    c: values.get(v.removeprefix("excluded."))
                    if isinstance(v, str) and v.startswith("excluded.")
                    else v
                    for c, v in sets.items()
                }
                _set(out, table, rows[key], resolved, loc, key)
                continue
            if key in rows:
                _set(out, table, rows[key], values, loc, key)
            else:
                rows[key] = SeededRow(dict(values), {c: loc for c in values})
        elif w.op == "update":
            if not known:
                out.unknown.append({"table": table, "at": loc})
                continue
            where = json.loads(w.where) if isinstance(w.where, str) else None
            hit = [(k, r) for k, r in rows.items() if _matches(r, where)]
            if not hit and where is not None:
                out.unmatched_updates.append({"table": table, "where": where, "at": loc})
            for k, r in hit:
                _set(out, table, r, values, loc, k)
        elif w.op == "delete":
            if not known:
                out.unknown.append({"table": table, "at": loc})
                continue
            where = json.loads(w.where) if isinstance(w.where, str) else None
            for k in [k for k, r in rows.items() if _matches(r, where)]:
                del rows[k]
            if where is None:
                _destructive(out, table, "DELETE (every row)", w.path, loc)
        elif w.op in {"truncate", "drop"}:
            rows.clear()
            _destructive(out, table, w.op.upper(), w.path, loc)
            if w.op == "drop":
                out.created_in.pop(table, None)
    return out


def _destructive(out: Replay, table: str, op: str, path: str, loc: str) -> None:
    """Worth saying only for a table an earlier file made: `DROP TABLE IF EXISTS x;
    CREATE TABLE x` in one file is how a table is first made, not a loss of data."""
    made = out.created_in.get(table)
    if made is not None and made != path:
        out.destructive.append({"table": table, "op": op, "at": loc, "created_in": made})


def _replayed(inp: CheckInput) -> Replay:
    writes = require_columns(inp["code_catalog_writes"], "code_catalog_writes", COLUMNS)
    return inp.shared("catalog_seed_replay", lambda: replay(writes))


@check(
    id="STRIPE-SEED-PLACEHOLDER",
    area=1,
    severity=Severity.HIGH,
    title="The catalogue the migrations leave has no placeholder price ids",
    sources=["codebase"],
    tables=["code_catalog_writes"],
    rationale="A database built from the repo (a new environment, a reset, a restore) sells "
    "whatever the migrations and seed.sql leave in the catalogue: a placeholder such as "
    "price_minecraft_4gb makes checkout fail for that plan.",
    remediation="Seed the real live price ids (price_...) in a migration, or update the "
    "rows that keep placeholders.",
)
def seed_placeholders(inp: CheckInput) -> Iterator[Result]:
    """One finding per table: every placeholder row it keeps, each with its location."""
    words = {g.lower() for g in (inp.config.catalog.games if inp.config.catalog else {})}
    rep = _replayed(inp)
    seen = flagged = 0
    for table, rows in sorted(rep.rows.items()):
        bad = []
        for key, row in rows.items():
            for col in price_columns(list(row.values)):
                value = row.values[col]
                if value is None:
                    continue  # no price at all (a free plan, or priced elsewhere)
                seen += 1
                why = placeholder_reason(value, words)
                if why:
                    bad.append(
                        {
                            "row": _label(key, row),
                            "column": col,
                            "value": value,
                            "why": why,
                            "at": row.where.get(col),
                        }
                    )
        if bad:
            flagged += len(bad)
            shown = "; ".join(f"{b['row']}: {b['why']}" for b in bad[:5])
            more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
            # a later write the facts cannot follow may have fixed them: review, not fail
            unknown = [u["at"] for u in rep.unknown if u["table"] in (table, None)]
            verdict = warned if unknown else failed
            caveat = (
                f" ({len(unknown)} statement(s) on it could not be followed: "
                f"{', '.join(unknown[:3])})"
                if unknown
                else ""
            )
            yield verdict(
                f"seed:{table}",
                f"After the migrations and seed, {len(bad)} price id(s) in {table} are "
                f"placeholders: {shown}{more}{caveat}.",
                location=bad[0]["at"],
                # each placeholder by its value, so the live data's finding for the same
                # id (STRIPE-PRICE-PLACEHOLDER) folds into this one
                locations=[
                    Location(
                        f"price:{b['value']}",
                        f"{b['row']}: {b['why']}",
                        Status.FAIL if verdict is failed else Status.WARN,
                        b["at"],
                    )
                    for b in bad
                ],
                evidence={
                    "placeholders": bad,
                    "locations": [b["at"] for b in bad],
                    "not_followed": unknown,
                },
            )
    if not flagged and rep.unknown:
        where = ", ".join(u["at"] for u in rep.unknown[:5])
        yield unverified(
            "seed",
            f"{len(rep.unknown)} catalogue statement(s) could not be followed ({where}): "
            "what the migrations leave there is unknown.",
        )
    elif seen == 0:
        yield passed("seed", "The migrations and seed.sql leave no price ids in any table.")
    elif not flagged:
        yield passed(
            "seed", f"All {seen} price id(s) the migrations leave are shaped like Stripe price ids."
        )


@check(
    id="STRIPE-SEED-CATALOG",
    area=1,
    severity=Severity.MEDIUM,
    title="The migrations change the catalogue as their authors meant",
    sources=["codebase"],
    tables=["code_catalog_writes"],
    rationale="A price UPDATE whose filter matches no seeded row changes nothing on a fresh "
    "database; a plan priced twice, two plans on one price, or a TRUNCATE/DROP of a "
    "catalogue or order table are easy to miss in a long migration history.",
    remediation="Make each repricing migration target rows that exist, give every plan its "
    "own price, and keep destructive statements out of catalogue and order tables.",
)
def seed_catalog(inp: CheckInput) -> Iterator[Result]:
    rep = _replayed(inp)
    for u in rep.unmatched_updates:
        where = ", ".join(f"{c} in {v}" for c, v in u["where"].items())
        yield warned(
            f"seed-update:{u['at']}",
            f"UPDATE {u['table']} where {where} matches no row the migrations seed, so it "
            "changes nothing on a database built from the repo.",
            location=u["at"],
        )
    shared = 0
    for table, rows in sorted(rep.rows.items()):
        for price, keys in sorted(_prices(rows).items()):
            if len(keys) > 1:
                shared += 1
                owners = [_label(k, rows[k]) for k in keys]
                yield warned(
                    f"seed-shared:{table}:{price}",
                    f"{len(owners)} rows of {table} share the price id {price}: "
                    f"{'; '.join(owners)}.",
                    evidence={"rows": owners},
                    # the live plans on that price are STRIPE-PRICE-SHARED's problem
                    cause=("STRIPE-PRICE-SHARED", f"price:{price}"),
                )
    destructive = [
        d
        for d in rep.destructive
        if is_catalog_table(d["table"], rep.columns.get(d["table"], set()))
    ]
    for d in destructive:
        yield warned(
            f"seed-destructive:{d['at']}",
            f"{d['op']} on {d['table']}: a migration empties or drops a catalogue or order table.",
            location=d["at"],
        )
    if rep.repriced:
        yield informed(
            "seed-repriced",
            f"{len(rep.repriced)} price id(s) are changed by a later migration (the last "
            "one wins).",
            evidence={"changes": rep.repriced[:50]},
        )
    if not (rep.unmatched_updates or destructive or shared):
        yield passed("seed", f"{sum(len(r) for r in rep.rows.values())} seeded row(s) replayed.")


def _prices(rows: dict[Any, SeededRow]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key, row in rows.items():
        for col in price_columns(list(row.values)):
            if row.values[col]:
                out.setdefault(str(row.values[col]), []).append(key)
    return out
