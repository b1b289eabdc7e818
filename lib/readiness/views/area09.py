"""Area 9 views: code-quality facts per file."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit


def quality_by_file(audit: Audit) -> pd.DataFrame:
    """Per shipped file: TODOs, placeholders, undefined names, missing imports, `any`s."""
    inp = audit.check_input(
        "code_placeholders",
        "code_undefined_identifiers",
        "code_imports",
        "code_any_types",
        "code_files",
    )
    if "code_files" not in inp.tables:
        return pd.DataFrame({"note": ["the codebase was not collected"]})
    files = inp["code_files"]
    shipped = files[files["kind"].isin(["function", "shared", "frontend", "migration"])]
    out = pd.DataFrame({"path": shipped["path"], "kind": shipped["kind"]}).set_index("path")

    def count(table: str, where: pd.Series | None = None) -> pd.Series:
        df = inp.tables.get(table)
        if df is None or df.empty:
            return pd.Series(dtype="Int64")
        df = df[where] if where is not None else df
        return df.groupby("path").size()

    ph = inp.tables.get("code_placeholders")
    if ph is not None:
        out["TODOs"] = count("code_placeholders", ph["kind"] == "todo")
        out["placeholders"] = count("code_placeholders", ph["kind"] == "placeholder")
    out["undefined names"] = count("code_undefined_identifiers")
    imports = inp.tables.get("code_imports")
    if imports is not None:
        missing = imports["is_relative"].fillna(False).astype(bool) & ~imports["resolved"].fillna(
            False
        ).astype(bool)
        out["missing imports"] = count("code_imports", missing)
    anys = inp.tables.get("code_any_types")
    if anys is not None:
        out["any"] = anys.set_index("path")["any_count"]
    counts = [c for c in out.columns if c != "kind"]
    out[counts] = out[counts].fillna(0).astype(int)
    return out.reset_index()
