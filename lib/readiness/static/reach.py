"""Which code the browser runs: files reachable from the web app's entries.

`checkout.classify` guesses "frontend" from a path alone. Real checkouts also hold Node
scripts and servers at the root, Next.js route handlers and server actions, stale entry
points and dead pages, and none of those is shipped to the browser. This module refines
the guess per project (a folder with a package.json, or the checkout):

- entries: the scripts `index.html` loads (Vite), `src/index.*` (CRA), `App.*` /
  `index.*` / `app/` (Expo); for Next.js, `pages/` (not `pages/api`) and every
  `'use client'` module;
- server entries (Next.js): `app/**/route.*`, `pages/api/**`, `middleware.*`, server
  components, and any file with `'use server'` or `import 'server-only'`;
- imports are followed through relative paths and the project's aliases (tsconfig
  `paths`, a bundler `alias`, and the common `@/` → `src/`).

A "frontend" file then becomes `server` (server-side app code), `other` (tooling at a
project root) or `unused` (reachable from no entry). A project where no entry is found
keeps the path-based guess, except for files that are server code by their own marks.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from .rules.common import local_imports, resolve_import
from .ts.syntax import ParsedFile, string_value

SERVER_MARK = re.compile(
    r"""^\s*(?:(?://[^\n]*|/\*.*?\*/)\s*)*['"]use server['"]"""
    r"""|^\s*import\s+['"]server-only['"]""",
    re.S | re.M,
)
CLIENT_MARK = re.compile(r"""^\s*(?:(?://[^\n]*|/\*.*?\*/)\s*)*['"]use client['"]""", re.S)
SERVER_ROOT_DIRS = frozenset(
    {
        "server",
        "servers",
        "api",
        "backend",
        "worker",
        "workers",
        "functions",
        "netlify",
        "lambda",
        "lambdas",
        "cloud-run",
        "cloudrun",
    }  # fmt: skip
)
SERVER_NESTED_DIRS = frozenset({"server", "servers"})
NEXT_SERVER_NAMES = re.compile(r"^(route|middleware|instrumentation)\.[cm]?[jt]sx?$")
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*['\"]([^'\"]+)['\"]", re.I)
TS_PATH = re.compile(r'"([^"*]+)/?\*"\s*:\s*\[\s*"([^"*]*)/?\*"')
BUNDLER_ALIAS = re.compile(
    r"""['"]?(@[\w-]*|~)['"]?\s*:\s*(?:path\.)?(?:resolve|join)\([^)]*?['"]\.?/?([\w./-]*)['"]\s*\)"""
)
IMPORT_TEXT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]"""
    r"""|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]""",
    re.M,
)
ENTRY_STEMS = ("main", "index")
CODE_SUFFIXES = (".tsx", ".ts", ".jsx", ".js", ".mjs", ".cjs")


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class Project:
    """One package (a folder with package.json) and how its bundler finds files."""

    def __init__(self, root: Path, base: str, known: set[str]) -> None:
        self.base, self.known = base, known
        prefix = f"{base}/" if base else ""
        pkg: dict = {}
        try:
            loaded = json.loads(_read(root, f"{prefix}package.json") or "{}")
            pkg = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            pkg = {}
        deps = {**(pkg.get("dependencies") or {}), **(pkg.get("devDependencies") or {})}
        scripts = pkg.get("scripts") if isinstance(pkg.get("scripts"), dict) else {}
        run = " ".join(str(scripts.get(k, "")) for k in ("build", "dev", "start"))
        has = {p for p in known if p.startswith(prefix) and "/" not in p[len(prefix) :]}
        next_config = any(PurePosixPath(p).name.startswith("next.config.") for p in has)
        if re.search(r"\bnext\b", run) or (not re.search(r"\bvite\b", run) and next_config):
            self.kind = "next"
        elif "expo" in deps or "react-native" in deps:
            self.kind = "expo"
        elif "next" in deps and not re.search(r"\b(vite|react-scripts)\b", run):
            self.kind = "next"
        else:
            self.kind = "spa"
        self.html = [p for p in has if p.endswith(".html")]
        self.aliases = self._aliases(root, prefix, has)

    def _aliases(self, root: Path, prefix: str, has: set[str]) -> list[tuple[str, str]]:
        """(specifier prefix, folder) pairs: tsconfig paths, bundler aliases, `@/`."""
        found: list[tuple[str, str]] = []
        for name in sorted(has):
            leaf = PurePosixPath(name).name
            source = _read(root, name) if leaf.startswith(("tsconfig", "jsconfig")) else ""
            if ".config." in leaf and leaf.split(".")[0] in {"vite", "webpack", "vitest"}:
                source = _read(root, name)
                for key, target in BUNDLER_ALIAS.findall(source):
                    found.append((key.rstrip("/") + "/", target))
                continue
            base_url = re.search(r'"baseUrl"\s*:\s*"([^"]*)"', source)
            base = base_url.group(1) if base_url else "."
            for key, target in TS_PATH.findall(source):
                found.append((key.rstrip("/") + "/", posixpath.join(base, target)))
        src = f"{prefix}src"
        default = "src" if any(p.startswith(src + "/") for p in self.known) else "."
        found += [("@/", default), ("~/", default)]
        out = []
        for key, target in found:
            folder = posixpath.normpath(posixpath.join(self.base or ".", target))
            out.append((key, "" if folder == "." else folder))
        return out

    def resolve(self, importer: str, spec: str) -> str | None:
        if spec.startswith(("./", "../")):
            return resolve_import(importer, spec, self.known)
        if spec.startswith("/"):  # Vite: from the project root
            anchor = f"{self.base}/x" if self.base else "x"
            return resolve_import(anchor, "." + spec, self.known)
        for key, folder in self.aliases:
            if spec.startswith(key):
                anchor = f"{folder}/x" if folder else "x"
                return resolve_import(anchor, "./" + spec[len(key) :], self.known)
        return None

    def entries(self, files: Iterable[str], source: Callable[[str], str]) -> set[str]:
        """Client entry files of a non-Next project."""
        prefix = f"{self.base}/" if self.base else ""
        found: set[str] = set()
        for html in self.html:
            for src in SCRIPT_SRC.findall(source(html)):
                if "://" in src or src.startswith("//"):
                    continue
                spec = "." + src if src.startswith("/") else "./" + src.removeprefix("./")
                got = resolve_import(html, spec, self.known)
                if got:
                    found.add(got)
        if not found:
            stems = ("App", "index") if self.kind == "expo" else ENTRY_STEMS
            for folder in (f"{prefix}src/", prefix):
                for stem in stems:
                    for suffix in CODE_SUFFIXES:
                        if f"{folder}{stem}{suffix}" in self.known:
                            found.add(f"{folder}{stem}{suffix}")
                if found:
                    break
        if self.kind == "expo":
            found |= {f for f in files if f.startswith((f"{prefix}app/", f"{prefix}src/app/"))}
        return found


def _in_router_dir(path: str, base: str, folder: str) -> str | None:
    """The part of `path` under `<base>/[src/]<folder>/`, or None."""
    prefix = f"{base}/" if base else ""
    for head in (f"{prefix}{folder}/", f"{prefix}src/{folder}/"):
        if path.startswith(head):
            return path[len(head) :]
    return None


def server_marked(path: str, source: str, base: str = "", next_app: bool = True) -> bool:
    """Server code by its own marks: 'use server', server-only, Next route handlers and
    middleware (the last two only in a Next.js project)."""
    name = PurePosixPath(path).name
    if SERVER_MARK.search(source[:4000]):
        return True
    if not next_app:
        return False
    if _in_router_dir(path, base, "app") is not None and NEXT_SERVER_NAMES.match(name):
        return True
    rest = _in_router_dir(path, base, "pages")
    if rest is not None and rest.startswith("api/"):
        return True
    prefix = f"{base}/" if base else ""
    return path in {f"{prefix}middleware.ts", f"{prefix}middleware.js"} or path in {
        f"{prefix}src/middleware.ts",
        f"{prefix}src/middleware.js",
    }


def refine_kinds(root: Path, files: list[dict], parsed: dict[str, ParsedFile]) -> dict[str, str]:
    """New kind for each "frontend" file that is not browser code (path → kind)."""
    known = {f["path"] for f in files}
    candidates = [f["path"] for f in files if f["kind"] == "frontend"]
    if not candidates:
        return {}
    bases = sorted(
        {posixpath.dirname(f["path"]) for f in files if PurePosixPath(f["path"]).name
         == "package.json" and "node_modules" not in f["path"] and "supabase/" not in f["path"]}
        | {""},
        key=len,
        reverse=True,
    )  # fmt: skip
    texts: dict[str, str] = {}

    def source(path: str) -> str:
        if path not in texts:
            pf = parsed.get(path)
            texts[path] = (
                pf.source.decode("utf-8", "replace") if pf is not None else _read(root, path)
            )
        return texts[path]

    by_base: dict[str, list[str]] = {}
    for path in candidates:
        base = next(b for b in bases if not b or path.startswith(b + "/"))
        by_base.setdefault(base, []).append(path)
    out: dict[str, str] = {}
    for base, paths in by_base.items():
        out.update(_refine_project(root, base, paths, known, parsed, source))
    return out


def _refine_project(
    root: Path,
    base: str,
    paths: list[str],
    known: set[str],
    parsed: dict[str, ParsedFile],
    source: Callable[[str], str],
) -> dict[str, str]:
    project = Project(root, base, known)
    next_app = project.kind == "next"
    marked = {p for p in paths if p in parsed and server_marked(p, source(p), base, next_app)}
    client: set[str] = set()
    server_entries = set(marked)
    if project.kind == "next":
        for p in paths:
            if p in marked or p not in parsed:
                continue
            if CLIENT_MARK.search(source(p)[:4000]) or _in_router_dir(p, base, "pages") is not None:
                client.add(p)
            elif _in_router_dir(p, base, "app") is not None:
                server_entries.add(p)  # a server component unless it says 'use client'
    else:
        client = project.entries(paths, source)
    reached = _closure(client, parsed, project, marked, source)
    server = _closure(server_entries, parsed, project, reached, source) - reached
    prefix = f"{base}/" if base else ""
    out: dict[str, str] = {}
    found_entries = bool(client or server_entries - marked)
    for p in paths:
        rest = p[len(prefix) :]
        parts = PurePosixPath(rest).parts
        if p in marked or (p in server and p not in reached):
            out[p] = "server"
        elif p in reached:
            continue
        elif parts[0] in SERVER_ROOT_DIRS or SERVER_NESTED_DIRS.intersection(parts[:-1]):
            out[p] = "server"
        elif len(parts) == 1 and not p.endswith((".html", ".vue", ".svelte")):
            out[p] = "other"  # a script or tool at the project root
        elif found_entries and p in parsed:
            out[p] = "unused"
    return out


def _specifiers(pf: ParsedFile | None, source: str) -> list[str]:
    """Import specifiers of a file; by pattern when the parser could not read it."""
    if pf is not None:
        return [spec for _, spec in local_imports(pf)]
    return [next(g for g in m if g) for m in IMPORT_TEXT.findall(source)]


def _closure(
    start: set[str],
    parsed: dict[str, ParsedFile],
    project: Project,
    stop: set[str],
    source: Callable[[str], str],
) -> set[str]:
    seen = set(start)
    queue = list(start)
    while queue:
        current = queue.pop()
        pf = parsed.get(current)
        if pf is None and not current.endswith(CODE_SUFFIXES):
            continue
        for spec in _specifiers(pf, "" if pf is not None else source(current)):
            target = project.resolve(current, spec)
            if target and target not in seen and target not in stop:
                seen.add(target)
                queue.append(target)
        for node in pf.nodes("string") if pf is not None else []:  # import.meta.glob(...)
            value = string_value(node)
            if value and "*" in value and value.startswith(("./", "/", "@/")):
                pattern = value
                for p in _glob(current, pattern, project):
                    if p not in seen and p not in stop:
                        seen.add(p)
                        queue.append(p)
    return seen


def _glob(importer: str, pattern: str, project: Project) -> list[str]:
    if pattern.startswith("./"):
        full = posixpath.normpath(posixpath.join(posixpath.dirname(importer), pattern))
    elif pattern.startswith("@/"):
        folder = dict(project.aliases).get("@/", "")
        full = posixpath.join(folder, pattern[2:]) if folder else pattern[2:]
    else:
        full = posixpath.join(project.base, pattern.lstrip("/")) if project.base else pattern[1:]
    regex = re.compile(
        "^" + re.escape(full).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*") + "$"
    )
    return [p for p in project.known if regex.match(p)]
