"""What a rendered report HTML links to and names: shared by the unit tests of the
templates and the Chromium test of the demo report."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlparse

LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


class Links(HTMLParser):
    """Element ids, same-page hrefs and every external URL a tag loads or links to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.fragments: list[str] = []
        self.external: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            if name in ("href", "src") and value.startswith("#"):
                self.fragments.append(value[1:])
            elif name in ("href", "src", "data", "poster", "srcset"):
                url = urlparse(value.strip())
                if url.scheme in ("http", "https") and url.hostname not in LOOPBACK:
                    self.external.append((tag, name, value))


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser
