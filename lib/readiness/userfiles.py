"""Reading the files people write (params, catalogue, waivers; findings.json for diffs)
and saying what is wrong with them without ever echoing their text.

Parser messages quote the offending source line (PyYAML prints a snippet with a caret),
and a secret pasted on a broken line would then reach stderr and CI logs. Every parse
error goes through `describe_parse_error`, which keeps only the file, line, column and
the parser's own problem description, with any quoted user text in it replaced by `…`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

REDACTED = "…"
# A quoted piece of a PyYAML problem that names a parser token or a single character
# ('<block end>', ',', '\t', 'q') says nothing secret; anything longer may be user text
# (anchor, alias and tag names, or a scalar).
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_HARMLESS = re.compile(r"^(?:<[a-z ]+>|.|\\[a-z]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4})$", re.S)
_TOML_AT = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|(?P<end>end of document))\)$",
    re.S,
)  # noqa: E501
_MERGE_TAG = "tag:yaml.org,2002:merge"


class FileError(ValueError):
    """A user file that cannot be read; the message is safe to show (no file content)."""


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with two guards: a key given twice in one mapping is an
    error (silently keeping the last one would audit against settings nobody meant), and
    a value no constructor can read (`!!int abc`, a 13th month) is a located YAML error
    instead of a bare ValueError that quotes the value."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise ConstructorError(
                None, None, f"this value cannot be read as {kind}", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in first:
                    raise ConstructorError(
                        "first given", first[key].start_mark, "duplicate key", key_node.start_mark
                    )
                first[key] = key_node
        return super().construct_mapping(node, deep)


def _redact_quoted(text: str | None) -> str:
    def keep_or_hide(m: re.Match[str]) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        return m.group(0) if _HARMLESS.match(inner) else f"'{REDACTED}'"

    return _QUOTED.sub(keep_or_hide, text or "")


def _line_col(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def parse_problem(exc: BaseException, text: str = "") -> tuple[str, str, str]:
    """(format, where, problem) of a YAML, TOML or JSON parse error: where is
    "line L, column C" (or ""), problem the parser's description without source text."""
    kind, line, col, problem = "YAML", 0, 0, ""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = _redact_quoted(exc.problem) or "cannot be parsed"
        if exc.context:
            context = _redact_quoted(exc.context)
            if exc.context_mark is not None and exc.context_mark is not mark:
                cm = exc.context_mark
                context += f" at line {cm.line + 1}, column {cm.column + 1}"
            problem += f" ({context})"
        if mark is not None:
            line, col = mark.line + 1, mark.column + 1
    elif isinstance(exc, yaml.reader.ReaderError):
        line, col = _line_col(text, exc.position) if text else (0, 0)
        problem = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
    elif isinstance(exc, tomllib.TOMLDecodeError):
        kind = "TOML"
        m = _TOML_AT.match(str(exc))
        problem = m["msg"] if m else str(exc)  # tomllib names keys and single characters only
        if m and m["line"]:
            line, col = int(m["line"]), int(m["col"])
        elif m:
            problem += " at the end of the file"
    elif isinstance(exc, json.JSONDecodeError):
        kind, problem = "JSON", exc.msg  # e.g. "Expecting value"; never the document
        line, col = exc.lineno, exc.colno
    elif isinstance(exc, UnicodeDecodeError):
        kind, problem = "text", "not UTF-8 text"
    elif isinstance(exc, RecursionError):
        problem = "nested too deeply"
    else:
        problem = f"cannot be parsed ({type(exc).__name__})"
    return kind, (f"line {line}, column {col}" if line else ""), problem


def describe_parse_error(path: Path | str, exc: BaseException, text: str = "") -> str:
    """`path:line:column: not valid FORMAT: problem`, never with the source text (the
    line may hold a pasted secret)."""
    kind, where, problem = parse_problem(exc, text)
    loc = ":" + where.removeprefix("line ").replace(", column ", ":") if where else ""
    return f"{path}{loc}: not valid {kind}: {problem}"


def read_text(path: Path, what: str) -> str:
    """A user file's text, or FileError saying why not (without its content)."""
    if not path.is_file():
        raise FileError(f"{what} not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(f"{path}: {what} cannot be read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileError(
            f"{path}:{line}:{column}: not valid UTF-8; save the {what} as UTF-8 text"
        ) from None


def load_yaml(path: Path, what: str, loader: type[StrictLoader] = StrictLoader) -> Any:
    """Parse a user's YAML file with `StrictLoader` (or a subclass); FileError names
    file:line:column."""
    text = read_text(path, what)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except Exception as exc:  # any parser failure is the file's fault, and said safely
        raise FileError(describe_parse_error(path, exc, text)) from None


def load_json(path: Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FileError(describe_parse_error(path, exc, text)) from None
