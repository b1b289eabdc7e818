"""The secret scan's engine: detect-secrets' line scanner over text this module decodes
and streams, so no file is skipped for its encoding, its size or its line lengths.

detect-secrets' own ``scan_file`` opens files in the locale's encoding (a UTF-16 file
reads as nothing), and callers skipped files over 2 MB; a minified bundle is one huge
line. Here a file is read as a stream of overlapping windows (`windows`): every match
*starts* in exactly one window's keep range, and that window runs `SCAN_OVERLAP`
characters past the range, so a key up to that long straddling a boundary is seen
whole, once, with its real line number. Memory stays at about two windows per file.

Views of a file: its decoded text; and, for binary files and UTF-16/32 ones, the
printable ASCII runs of its raw bytes (a key pasted as ASCII into a file padded with
NULs still works for a dotenv reader, so "binary" must not mean "unscanned").

Filters: detect-secrets' inline allowlist pragma (``# pragma: allowlist secret``) is the
audited party vouching for itself — accepted risk is a waiver here, with an owner and an
expiry — and its ``is_indirect_reference`` heuristic drops any line shaped like
``x = f(...)``, e.g. ``require('stripe')('sk_live_…')``; both are turned off. The other
filters only reject values no real key has (sequences, ``${templates}``, UUIDs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from re import Pattern
from typing import TextIO

from readiness.sources.base import check_cancelled

from ..textfiles import BINARY, WIDE_CODECS, is_text
from .context import no_secret_here

SCAN_STEP = 1_000_000  # characters per window's keep range
SCAN_OVERLAP = 16_384  # longest key seen whole across a boundary
SCAN_MARGIN = 1_024  # context before the keep range (look-behinds see the real neighbour)
READ_CHUNK = 262_144
MIN_RUN = 6  # shortest printable run worth scanning in a binary view ('://a:b@')
_RUN = re.compile(rf"[\t\x20-\x7e]{{{MIN_RUN},}}")
DISABLED_FILTERS = (
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.heuristic.is_indirect_reference",
)


@dataclass(frozen=True)
class Window:
    text: str
    first_line: int  # line number of text[0]
    keep: tuple[int, int]  # a match belongs here when it starts in [keep[0], keep[1])


def windows(
    reader: TextIO,
    step: int | None = None,
    overlap: int | None = None,
    margin: int | None = None,
) -> Iterator[Window]:
    """Overlapping slices of a text stream (see the module docstring); sizes default to
    the module's constants, read at call time."""
    step, overlap = step or SCAN_STEP, overlap or SCAN_OVERLAP
    margin = min(margin or SCAN_MARGIN, step)
    buf, eof, line, keep_from = "", False, 1, 0
    while True:
        want = keep_from + step + overlap
        while not eof and len(buf) < want:
            chunk = reader.read(max(want - len(buf), READ_CHUNK))
            eof = not chunk
            buf += chunk
        last = eof and len(buf) <= want
        text = buf[:want]
        yield Window(text, line, (keep_from, len(text) if last else keep_from + step))
        if last:
            return
        cut = keep_from + step - margin
        line += buf.count("\n", 0, cut)
        buf, keep_from = buf[cut:], margin


def units(window: Window, runs: bool) -> Iterator[tuple[int, int, str]]:
    """(line, offset in the window, text) of each line, or of each printable run."""
    text, line, pos = window.text, window.first_line, 0
    if runs:
        for m in _RUN.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            yield line, pos, m.group()
        return
    for part in text.split("\n"):
        yield line, pos, part
        pos += len(part) + 1
        line += 1


def _starts(patterns: list[Pattern], text: str, value: str) -> list[int]:
    """Where detect-secrets' patterns yield `value` in `text` (its findall semantics:
    the whole match, or each non-empty group)."""
    text = text.rstrip()  # what detect-secrets scanned
    starts = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            groups = range(1, pattern.groups + 1) if pattern.groups else (0,)
            starts += [m.start(g) for g in groups if m.group(g) == value]
    return starts


def prefilter(plugins: list, custom: frozenset[str]) -> list[Pattern] | None:
    """Every plugin's patterns, when every plugin is a plain regex detector (a line none
    of them matches cannot yield a secret, and detect-secrets' per-line cost is ~0.2 ms);
    None when some plugin is not, so every line goes through."""
    from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector

    patterns: list[Pattern] = []
    for plugin in plugins:
        cls = type(plugin)
        plain = cls.analyze_string is RegexBasedDetector.analyze_string or cls.__name__ in custom
        if not (isinstance(plugin, RegexBasedDetector) and plain):
            return None
        if cls.analyze_line is not BasePlugin.analyze_line:
            return None
        patterns += list(plugin.denylist)
    return patterns


class Scanner:
    """Scans files with the plugins in detect-secrets' current settings."""

    def __init__(self, plugins: list, custom: frozenset[str]) -> None:
        from detect_secrets.core import scan

        # The line scanner behind scan_file (private in 1.5; pinned <2 in pyproject).
        self._process = scan._process_line_based_plugins
        self.patterns = prefilter(plugins, custom)
        self.by_type = {p.secret_type: list(p.denylist) for p in plugins} if self.patterns else {}

    def _kept(self, kind: str, value: str, text: str, offset: int, keep: tuple[int, int]) -> bool:
        """Whether the match starts in the window's keep range (exactly, from the plugin's
        own patterns; without them, any occurrence of the value counts)."""
        patterns = self.by_type.get(kind)
        if patterns:
            starts = _starts(patterns, text, value)
        else:
            starts = [i for i in range(len(text)) if text.startswith(value, i)] or [keep[0]]
        return any(keep[0] <= offset + i < keep[1] for i in starts)

    def _may_match(self, text: str) -> bool:
        if self.patterns is None:
            return True
        text = text.rstrip()
        return any(p.search(text) for p in self.patterns)

    def _window(self, window: Window, runs: bool, rel: str) -> Iterator[tuple[int, str, str]]:
        found_in = [u for u in units(window, runs) if u[2] and self._may_match(u[2])]
        if not found_in:
            return
        numbered = [(i, u[2]) for i, u in enumerate(found_in, start=1)]
        for secret in self._process(numbered, filename=rel):
            line, offset, text = found_in[secret.line_number - 1]
            value = secret.secret_value or ""
            if not value or not self._kept(secret.type, value, text, offset, window.keep):
                continue
            if no_secret_here(secret.type, value, text) is None:
                yield line, value, secret.type

    def scan(self, path: Path, rel: str, codec: str) -> list[tuple[int, str, str]]:
        """(line, value, detector) of every secret in the file, each once."""
        views: list[tuple[str, bool]] = [(codec, False)] if is_text(codec) else []
        if codec == BINARY or codec in WIDE_CODECS:
            views.append(("latin-1", True))
        found: dict[tuple[int, str], str] = {}
        for encoding, runs in views:
            newline = "" if runs else None
            with open(path, encoding=encoding, errors="replace", newline=newline) as fh:
                for window in windows(fh):
                    check_cancelled("codebase")
                    for line, value, kind in self._window(window, runs, rel):
                        found.setdefault((line, value), kind)
        return [(line, value, kind) for (line, value), kind in found.items()]
