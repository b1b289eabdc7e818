"""The TypeScript front end: valid JSX that tree-sitter-typescript 0.23 rejects (a bare
`&` in element text or an attribute string, tree-sitter-typescript#366 and #320) parses, without
touching any other `&` and without moving a single offset."""

from __future__ import annotations

import pytest

from readiness.static.ts.syntax import first_syntax_error, parse_source

CASES = {
    "ui-copy": b"export const A = () => <h2>Terms & Conditions</h2>;\n",
    "several-in-one-text": b"const B = <p>R&D & Sales & Support</p>;\n",
    "after-a-child": b"const C = <div><b>x</b> Crop & Upload</div>;\n",
    "multi-line-text": b"const D = (\n  <Button>\n    Submit & Generate Plan\n  </Button>\n);\n",
    "next-to-entity": b"const E = <p>Tom &amp; Jerry & friends</p>;\n",
    "attribute-url": b'const F = <a href="/search?q=a&page=2">next</a>;\n',
    "attribute-and-text": b"const G = <img alt='x' src='/i?w=1&h=2' />;\n<p>A & B</p>;\n",
}


@pytest.mark.parametrize("src", CASES.values(), ids=CASES.keys())
def test_bare_ampersand_in_jsx_text_parses(src: bytes) -> None:
    pf = parse_source("x.tsx", src)
    assert first_syntax_error(pf.root) is None
    assert len(pf.source) == len(src) and pf.source.count(b"\n") == src.count(b"\n")


def test_only_the_jsx_text_ampersands_change() -> None:
    src = (
        b"type Both = A & B;\n"
        b"const flags = mask & 0x0f;\n"
        b"const ok = a && b;\n"
        b'const el = <a href="/x?a=1&b=2" title="a & b">Privacy & Data &amp; more</a>;\n'
    )
    pf = parse_source("y.tsx", src)
    assert first_syntax_error(pf.root) is None
    changed = [i for i, (a, b) in enumerate(zip(src, pf.source, strict=True)) if a != b]
    assert [src[i : i + 1] for i in changed] == [b"&", b"&"]
    assert src[changed[0] + 1 : changed[0] + 4] == b"b=2"
    assert src[changed[1] - 8 : changed[1]] == b"Privacy "


def test_a_real_syntax_error_is_still_reported() -> None:
    assert first_syntax_error(parse_source("z.tsx", b"const x = <p>a & b</p>;\nconst = ;\n").root)
    # and a plain .ts file is never patched
    src = b"const x = a & ;\n"
    pf = parse_source("z.ts", src)
    assert pf.source == src and first_syntax_error(pf.root)
