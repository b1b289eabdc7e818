"""Which migration files `supabase db reset` applies, in which order, and what its first
failure blocks.

The Supabase CLI reads the folder (not its subfolders) in name order and applies the
files whose name matches `^([0-9]+)_(.*)\\.sql$`; any other file is skipped with
"Skipping migration … file name must match pattern", so its tables never exist. A
pre-2021-12-09 `<timestamp>_init.sql` listed first is skipped too. Each file runs as one
implicit transaction and the first failing statement stops the reset: the later files
are never applied. The replay goes on best-effort so the schema checks still see the
later files, but what fails after the first failure is its evidence (`cascade`), never a
failure of its own.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from readiness.static.sql.platform import created_names, named
from readiness.static.sql.replay import MIGRATION_FILE

_INIT_BEFORE = 20211209000000  # the CLI's cut-off for the deprecated first `_init.sql`


def label(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name


def select_names(names: list[str]) -> tuple[list[str], list[str]]:
    """(the file names the CLI applies, in its order; the .sql names it skips), for the
    names of the files directly in a migrations folder."""
    applied: list[str] = []
    skipped: list[str] = []
    for i, name in enumerate(sorted(names)):  # Go's ReadDir: byte order
        match = MIGRATION_FILE.match(name)
        version = match.group(1) if match else ""
        first_init = i == 0 and name.endswith("_init.sql") and len(version) == 14
        if first_init and int(version) < _INIT_BEFORE:
            skipped.append(name)
        elif match:
            applied.append(name)
        elif name.lower().endswith(".sql"):
            skipped.append(name)
    return applied, skipped


def select_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(the files the CLI applies, in its order; the .sql files it skips)."""
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    applied, skipped = select_names(list(files))
    return [files[n] for n in applied], [files[n] for n in skipped]


def order_notes(files: list[Path]) -> dict[Path, str]:
    """Files whose version has another number of digits than most: they apply by name,
    which may not be where their author expected (`2025_10_03_x` after every `20251…`)."""
    versions = [MIGRATION_FILE.match(p.name).group(1) for p in files]  # type: ignore[union-attr]
    if len(files) < 2:
        return {}
    lengths = Counter(len(v) for v in versions)
    common, count = lengths.most_common(1)[0]
    if count == len(files):
        return {}
    notes = {}
    for i, (path, version) in enumerate(zip(files, versions, strict=True)):
        if len(version) == common:
            continue
        after = files[i - 1].name if i else "nothing (it applies first)"
        before = files[i + 1].name if i + 1 < len(files) else "nothing (it applies last)"
        notes[path] = (
            f"version {version} has {len(version)} digits where {count} of {len(files)} "
            f"files have {common}: by name it applies after {after} and before {before}"
        )
    return notes


def mark_cascades(rows: list[dict]) -> dict | None:
    """The first real failure (not `compat`); every failure after it becomes `cascade`,
    and `caused` when its error names what an earlier failed statement should have
    created (the rest are independent problems the evidence lists first)."""
    first = None
    missing: set[str] = set()
    for row in rows:
        if row["ok"]:
            continue
        if first is not None:
            row["cascade"] = True
            row["caused"] = bool(named(row["error"] or "") & missing)
        elif not row["compat"]:
            first = row
        if first is not None or row["compat"]:
            missing |= created_names(row.get("sql") or row["statement"])
    return first


def file_rows(
    applied: list[Path], skipped: list[Path], base: Path, first: dict | None
) -> list[dict]:
    """One row per file (see schema_migration_files)."""
    notes = order_notes(applied)
    seen: dict[str, str] = {}
    rows = []
    state = "applied"
    for path in applied:
        name = label(path, base)
        version = MIGRATION_FILE.match(path.name).group(1)  # type: ignore[union-attr]
        if first is not None and name == first["file"]:
            state = "failed"
        rows.append(
            {
                "file": name,
                "version": version,
                "status": state,
                "duplicate_of": seen.get(version),
                "note": notes.get(path),
            }
        )
        seen.setdefault(version, name)
        if state == "failed":
            state = "not_applied"
    for path in skipped:
        rows.append({"file": label(path, base), "version": None, "status": "skipped"})
    return rows
