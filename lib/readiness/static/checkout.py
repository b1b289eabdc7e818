"""A Supabase project checkout as the rules see it: its files, each parsed once.

Walks the checkout (skipping vendored and generated folders), classifies every file
(function, shared, frontend, migration, env, config, other; `reach.py` then narrows
"frontend" to what the browser runs, the rest becoming server, other or unused), parses
TypeScript/JavaScript with tree-sitter and `supabase/config.toml` with tomllib, and
resolves each function's file closure (its own folder plus the local files it imports).
`codebase.py` runs the rules over the result.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from readiness.userfiles import parse_problem

from .rules import common, signature
from .secret_scan.scan import MAX_SCAN_BYTES
from .textfiles import (
    BINARY,
    count_file_lines,
    count_lines,
    decode,
    iter_lines,
    lines_of,
    sniff_file,
)
from .ts.syntax import (
    CODE_EXTENSIONS,
    ParsedFile,
    first_syntax_error,
    language_name_for,
    parse_source,
)

SKIP_DIRS = frozenset(
    {
        "node_modules",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "dist",
        "build",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".cache",
        "coverage",
        "__pycache__",
        ".idea",
        ".vscode",
        ".temp",
        ".branches",
        ".output",
        "vendor",
        # bundler and platform caches: third-party code committed by accident
        ".vite",
        ".vite-cache",
        ".parcel-cache",
        ".angular",
        ".expo",
        ".docusaurus",
        ".vercel",
        ".netlify",
        ".wrangler",
    }
)
NON_FRONTEND_DIRS = frozenset({"scripts", "script", "tests", "test", "__tests__", "e2e", "tools"})
CONFIG_NAMES = frozenset(
    {
        "package.json",
        "deno.json",
        "deno.jsonc",
        "import_map.json",
        "tsconfig.json",
        "jsconfig.json",
        "vercel.json",
        "netlify.toml",
    }
)
ENTRY_NAMES = ("index.ts", "index.tsx", "index.js", "index.mjs", "index.jsx")
MAX_PARSE_BYTES = 2_000_000
TEST_FILE = re.compile(r"([._](test|spec)\.[cm]?[jt]sx?$)|(_test\.[jt]sx?$)")


def _walk(root: Path) -> Iterator[str]:
    """Relative POSIX paths of regular files, skipping vendored and generated folders."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.is_file() and not full.is_symlink():
                yield name if rel_dir == "." else f"{rel_dir}/{name}"


def _function_location(parts: tuple[str, ...]) -> tuple[int, str | None] | None:
    """(index of 'functions', slug or None for shared) for paths in supabase/functions/."""
    for i in range(1, len(parts) - 1):
        if parts[i] == "functions" and parts[i - 1] == "supabase":
            if len(parts) - i < 3:
                return i, None  # a file directly in supabase/functions/
            slug = parts[i + 1]
            return i, None if slug.startswith(("_", ".")) else slug
    return None


SUPABASE_PROJECT_DIRS = frozenset({"functions", "migrations", "seed", "tests", "snippets", ".temp"})


def _in_supabase_project(parts: tuple[str, ...]) -> bool:
    """Inside the Supabase CLI project folder (`supabase/…` at the root, or its functions and
    migrations anywhere) — not app code that merely lives in a `lib/supabase/` folder."""
    for i, part in enumerate(parts[:-1]):
        if part == "supabase" and (i == 0 or parts[i + 1] in SUPABASE_PROJECT_DIRS):
            return True
    return False


def classify(path: str) -> tuple[str, str | None]:
    """(kind, function_slug) of a file from its location and name."""
    p = PurePosixPath(path)
    name, parts = p.name, p.parts
    loc = _function_location(parts)
    slug = loc[1] if loc else None
    if name.startswith(".env") or name.endswith(".env"):
        return "env", slug
    if p.suffix == ".sql" and "migrations" in parts and "supabase" in parts:
        return "migration", None
    if TEST_FILE.search(name) or (loc is not None and NON_FRONTEND_DIRS.intersection(parts[:-1])):
        return "other", slug  # tests are not shipped code: kept out of function facts
    if (
        name in CONFIG_NAMES
        or p.suffix == ".toml"
        or name.startswith("tsconfig")
        or ".config." in name
    ):
        return "config", slug
    if loc is not None:
        return ("function", slug) if slug else ("shared", None)
    if (
        p.suffix in CODE_EXTENSIONS | {".vue", ".svelte", ".html"}
        and not _in_supabase_project(parts)
        and not NON_FRONTEND_DIRS.intersection(parts)
    ):
        return "frontend", None
    return "other", None


class Checkout:
    """Holds one run's parsed files so every rule reuses the same trees."""

    def __init__(self, root: Path, progress: Callable[[str], None]) -> None:
        self.root, self.progress = root, progress
        self.files: list[dict] = []
        self.parsed: dict[str, ParsedFile] = {}
        self.config: dict | None = None
        self.config_path: str | None = None
        self.config_error: str | None = None
        self.env_entries: list[dict] = []
        self.notes: list[str] = []
        self._imports: dict[str, list[dict]] = {}

    def imports(self, path: str) -> list[dict]:
        """Import rows of a parsed file, computed once (closures and the table share them)."""
        if path not in self._imports:
            known = {f["path"] for f in self.files}
            self._imports[path] = common.import_rows(self.parsed[path], known)
        return self._imports[path]

    def scan(self) -> None:
        paths = list(_walk(self.root))
        self.progress(f"codebase: {len(paths)} files under {self.root}")
        for rel in paths:
            self.files.append(self._read(rel))
        broken = sum(1 for f in self.files if f["parse_ok"] is False)
        self.progress(f"codebase: parsed {len(self.parsed)} source files, {broken} failed")
        if broken:
            self.notes.append(f"{broken} file(s) failed to parse and were skipped")

    def _read(self, rel: str) -> dict:
        kind, slug = classify(rel)
        rec = {
            "path": rel,
            "kind": kind,
            "function_slug": slug,
            "language": None,
            "lines": None,
            "size_bytes": None,
            "encoding": None,
            "parse_ok": None,
            "parse_error": None,
        }
        path = self.root / rel
        try:
            rec["size_bytes"] = path.stat().st_size
            codec = rec["encoding"] = sniff_file(path)
            if codec == BINARY:
                return rec  # nothing to count or parse (the secret scan reads its strings)
            if rec["size_bytes"] > MAX_PARSE_BYTES and not rel.endswith(".toml"):
                return self._large(rel, kind, codec, rec)
            data = path.read_bytes()
        except OSError as exc:
            rec.update(parse_ok=False, parse_error=f"unreadable: {exc.strerror or exc}")
            return rec
        text = decode(data, codec)
        rec["lines"] = count_lines(text)
        lang = language_name_for(rel)
        if kind == "env":
            self.env_entries += common.env_file_entries(rel, lines_of(text))
        elif rel.endswith(".toml"):
            rec["language"] = "toml"
            self._parse_toml(rel, data, rec)  # TOML is UTF-8 by specification: raw bytes
        elif lang is not None:
            rec["language"] = lang
            if rel.endswith(".min.js"):
                rec["parse_error"] = "not parsed: minified or larger than 2 MB"
                return rec
            # tree-sitter reads UTF-8: give it the decoded text (BOM dropped) when the file
            # is in another encoding
            source = data if codec == "utf-8" else text.encode("utf-8")
            # Facts are attributed to a function only for its shipped code (not its tests).
            pf = parse_source(rel, source, slug if kind == "function" else None)
            error = first_syntax_error(pf.root)
            rec.update(parse_ok=error is None, parse_error=error)
            if error is None:
                self.parsed[rel] = pf
        return rec

    def _large(self, rel: str, kind: str, codec: str, rec: dict) -> dict:
        """A text file too large to parse: lines counted (and env names read) by streaming,
        up to the secret scan's limit (beyond it the scan names the file as unscanned)."""
        rec["language"] = language_name_for(rel)
        if rec["language"] is not None:
            rec["parse_error"] = "not parsed: minified or larger than 2 MB"
        if rec["size_bytes"] <= MAX_SCAN_BYTES:
            rec["lines"] = count_file_lines(self.root / rel, codec)
            if kind == "env":
                self.env_entries += common.env_file_entries(rel, iter_lines(self.root / rel, codec))
        return rec

    def _parse_toml(self, rel: str, data: bytes, rec: dict) -> None:
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            _, where, problem = parse_problem(exc)
            detail = f"{where}: {problem}" if where else problem
            rec.update(parse_ok=False, parse_error=detail)
            if rel == "supabase/config.toml":
                self.config_error = f"{rel} does not parse ({detail})"
            return
        rec["parse_ok"] = True
        is_project_config = PurePosixPath(rel).name == "config.toml" and (
            PurePosixPath(rel).parent.name == "supabase"
        )
        shallower = self.config_path is None or rel.count("/") < self.config_path.count("/")
        if is_project_config and shallower:
            self.config, self.config_path = doc, rel

    # functions ---------------------------------------------------------------------------

    def functions(self) -> tuple[list[dict], dict[str, list[tuple[str, str]]]]:
        """Rows for code_functions and each function's file closure (own + imported)."""
        known = {f["path"] for f in self.files}
        config_fns = (self.config or {}).get("functions")
        config_fns = config_fns if isinstance(config_fns, dict) else {}
        slugs: dict[str, str | None] = {}
        for f in self.files:
            is_entry = PurePosixPath(f["path"]).name in ENTRY_NAMES
            if f["kind"] == "function" and f["function_slug"] and is_entry:
                current = slugs.get(f["function_slug"])
                rank = ENTRY_NAMES.index(PurePosixPath(f["path"]).name)
                if current is None or rank < ENTRY_NAMES.index(PurePosixPath(current).name):
                    slugs[f["function_slug"]] = f["path"]
        for slug, section in config_fns.items():
            entry = section.get("entrypoint") if isinstance(section, dict) else None
            if slug not in slugs and isinstance(entry, str) and self.config_path:
                base = PurePosixPath(self.config_path).parent
                candidate = common.resolve_import(f"{base}/config.toml", entry, known)
                slugs[slug] = candidate
            slugs.setdefault(slug, None)
        closures = {slug: self._closure(slug) for slug in slugs}
        rows = []
        for slug in sorted(slugs):
            section = config_fns.get(slug)
            section = section if isinstance(section, dict) else None
            verify = section.get("verify_jwt") if section else None
            verify = verify if isinstance(verify, bool) else None
            files = [self.parsed[p] for p, _ in closures[slug] if p in self.parsed]
            signals = set().union(*(signature.stripe_signals(pf) for pf in files))
            webhook = signature.is_stripe_webhook(slug, signals)
            rows.append(
                {
                    "slug": slug,
                    "path": slugs[slug],
                    # unknown (NA) when config.toml is broken, like verify_jwt
                    "in_config": None if self.config_error else section is not None,
                    "verify_jwt": verify,
                    # unknown when config.toml is broken: never assume the default then
                    "verify_jwt_effective": (
                        None if self.config_error else (True if verify is None else verify)
                    ),
                    "is_stripe_webhook": webhook,
                }
            )
        return rows, closures

    def _closure(self, slug: str) -> list[tuple[str, str]]:
        """Files of a function: its own folder, then local files it imports, transitively."""
        own = [
            f["path"] for f in self.files if f["kind"] == "function" and f["function_slug"] == slug
        ]
        seen = dict.fromkeys(own, "own")
        queue = [p for p in own if p in self.parsed]
        while queue:
            current = queue.pop()
            for row in self.imports(current):
                target = row["resolved_path"]
                if target and target not in seen:
                    seen[target] = "import"
                    if target in self.parsed:
                        queue.append(target)
        return list(seen.items())
