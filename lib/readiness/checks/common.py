"""Small helpers shared by the area check modules (not itself an area module, so it
registers no checks).

They exist because several areas located code findings and looked up a function's entry
file the same way, each with its own private copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from readiness.checks.registry import CheckInput


def code_location(path: object, line: object) -> str | None:
    """`path:line` of a code finding (path alone when the line is unknown, None without a path)."""
    if path is None or pd.isna(path):
        return None
    return f"{path}:{int(line)}" if line is not None and not pd.isna(line) else str(path)


def first_location(rows: pd.DataFrame) -> str | None:
    """`path:line` of the first of some code-fact rows (they carry `path` and `line`)."""
    first = rows.iloc[0]
    return code_location(first["path"], first["line"])


def function_location(inp: CheckInput, schema: str, name: str) -> str | None:
    """`path:line` of the last migration statement defining SQL function `schema.name`
    (its definition as replayed), None when the migrations do not define it."""
    objs = inp.tables.get("code_sql_objects")
    if objs is None or objs.empty:
        return None
    hit = objs[(objs["kind"] == "function") & objs["name"].isin([name, f"{schema}.{name}"])]
    return None if hit.empty else code_location(hit.iloc[-1]["path"], hit.iloc[-1]["line"])


def function_path(inp: CheckInput, slug: str) -> str | None:
    """The entry file of an edge function (`code_functions.path`), or None when unknown."""
    funcs = inp["code_functions"]
    row = funcs[funcs["slug"] == slug]
    return None if row.empty or pd.isna(row.iloc[0]["path"]) else str(row.iloc[0]["path"])


def rows(df: pd.DataFrame, index: bool = True) -> Iterator[Any]:
    """`itertuples` over object columns. Walking nullable columns directly reads every
    value through the ExtensionArray one at a time, the largest cost of the analysis at
    200,000 orders; values come out as Python ints/bools/str, NA stays NA."""
    return df.astype(object).itertuples(index=index)
