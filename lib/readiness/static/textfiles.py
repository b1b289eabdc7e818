"""Reading checkout files as text in the encodings people's tools actually write.

One decision per file, made from its first bytes and used by every reader (the file walk,
the secret scan, env files, docs, migrations): a byte-order mark wins (UTF-8, UTF-16 and
UTF-32, as PowerShell's ``>`` writes UTF-16 LE with a BOM); NUL bytes that a UTF-16
reading explains mean BOM-less UTF-16; then strict UTF-8; then cp1252 (any 8-bit text,
Latin-1 included). A file is ``binary`` only when none of these reads like text. Text is
always decoded with ``errors="replace"`` and universal newlines, so ASCII — every key
format the scan looks for — survives a stray byte and line numbers agree between readers.
charset-normalizer is not used: on a three-line ``.env`` its guess is a coin toss between
code pages, while the BOM/NUL/UTF-8 evidence above is exact for the cases that matter.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

SAMPLE_BYTES = 65_536
BINARY = "binary"
# Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32"})
# C0 controls other than tab, newlines, form feed and ESC; DEL; the replacement character.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")
MAX_CONTROL_RATIO = 0.05


def _decoded(sample: bytes, codec: str) -> str | None:
    """The sample read strictly (an incomplete last character is fine), or None."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(sample, final=False)
    except (UnicodeDecodeError, ValueError):
        return None


def _texty(text: str | None) -> bool:
    return bool(text) and len(_CONTROL.findall(text)) <= MAX_CONTROL_RATIO * len(text)


def sniff(sample: bytes) -> str:
    """The codec to read a file whose first bytes are `sample`, or BINARY."""
    if not sample:
        return "utf-8"
    for bom, codec in _BOMS:
        if sample.startswith(bom) and _decoded(sample, codec) is not None:
            return codec
    if b"\0" in sample:
        # ASCII-heavy UTF-16: the high byte of most characters is 0, on one side only
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        high, low = max(even, odd), min(even, odd)
        codec = "utf-16-le" if odd > even else "utf-16-be"
        lopsided = high >= 0.05 * len(sample) and low <= high / 4
        if lopsided and _texty(_decoded(sample, codec)):
            return codec
    if _texty(_decoded(sample, "utf-8")):
        return "utf-8"
    if _texty(sample.decode("cp1252", errors="replace")):
        return "cp1252"
    return BINARY


def sniff_file(path: Path) -> str:
    """`sniff` over a file's head (OSError propagates: unreadable is not binary)."""
    with open(path, "rb") as fh:
        return sniff(fh.read(SAMPLE_BYTES))


def is_text(codec: str | None) -> bool:
    """True for a codec `sniff` returned for a text file (not binary, not unknown)."""
    return isinstance(codec, str) and codec != BINARY


def open_text(path: Path, codec: str | None = None) -> TextIO:
    """A streaming text reader (universal newlines, undecodable bytes replaced)."""
    codec = codec or sniff_file(path)
    if codec == BINARY:
        raise ValueError(f"{path.name} is binary")
    return open(path, encoding=codec, errors="replace", newline=None)  # noqa: SIM115


def read_text(path: Path, codec: str | None = None) -> str:
    """A whole file as text (for files small enough to parse; stream the others)."""
    with open_text(path, codec) as fh:
        return fh.read()


def decode(data: bytes, codec: str) -> str:
    """Bytes already read as text, with the same newline handling as `open_text`."""
    text = data.decode(codec, errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def lines_of(text: str) -> list[str]:
    """Lines split only at newlines (``str.splitlines`` also splits at \\f, \\x1c, U+2028 …,
    which would shift line numbers against the other readers)."""
    parts = text.split("\n")
    return parts[:-1] if parts and parts[-1] == "" else parts


def iter_lines(path: Path, codec: str | None = None) -> Iterator[str]:
    """Lines of a file, streamed, without their newline."""
    with open_text(path, codec) as fh:
        for raw in fh:
            yield raw[:-1] if raw.endswith("\n") else raw


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def count_file_lines(path: Path, codec: str, chunk: int = 1 << 20) -> int:
    """Lines of a file too large to hold, counted in chunks."""
    total, last = 0, ""
    with open_text(path, codec) as fh:
        while block := fh.read(chunk):
            total += block.count("\n")
            last = block[-1]
    return total + (1 if last and last != "\n" else 0)
